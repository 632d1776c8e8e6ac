"""Every figure the README's comparison, performance and quick-start sections state is in the raw
results committed in docs/results/ (docs/performance.md names each run's command, date and
machine): a number of the README is found when some number of those files, in the README's unit or
in ms, KiB or a thousandth of it, rounds to it at the README's precision. Dates, versions and link
targets are not figures."""

import glob
import json
import os
import re
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECTIONS = ("Compared with Kubemacpool", "Performance", "Quick start")

NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:\s*min\s+(\d{2})\s*s)?")
NOT_FIGURES = [
    re.compile(r"\]\([^)]*\)"),  # link targets
    re.compile(r"\[[a-z0-9-]+\]"),  # reference labels
    re.compile(r"`[^`]*`"),  # code: commands, labels, file names
    re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),  # dates
    re.compile(r"\bv?\d+\.\d+\.\d+\b"),  # versions
    re.compile(r"\b(?:Kubewarden|Kubemacpool|kwctl|policy-server) \d+\.\d+\b"),
    re.compile(r"\b\d+-core\b|x86_64"),
]


def readme_sections(text):
    out = []
    for name in SECTIONS:
        start = text.index("## " + name)
        end = text.find("\n## ", start + 3)
        out.append(text[start:end if end != -1 else len(text)])
    return "\n".join(out)


def figures(text):
    """(shown, value, decimals) of every figure of the text: `5 min 03 s` is 303 s."""
    for pattern in NOT_FIGURES:
        text = pattern.sub(" ", text)
    for m in NUMBER.finditer(text):
        whole, decimals, seconds = m.group(1).replace(",", ""), m.group(2) or "", m.group(3)
        if seconds is not None:
            yield m.group(0), int(whole) * 60 + int(seconds), 0
        else:
            yield m.group(0), float(whole + decimals), max(len(decimals) - 1, 0)


def result_numbers(paths):
    numbers = set()

    def walk(value):
        if isinstance(value, bool):
            return
        if isinstance(value, (int, float)):
            numbers.add(float(value))
        elif isinstance(value, str):
            numbers.update(float(n) for n in re.findall(r"\d+(?:\.\d+)?", value))
        elif isinstance(value, dict):
            for key, item in value.items():
                numbers.update(float(n) for n in re.findall(r"\d+", key))
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for path in paths:
        with open(path) as f:
            walk(json.load(f))
    return numbers


def found(value, decimals, numbers):
    # Half a unit of the last digit either way: the README rounds half up, binary floats may not.
    tolerance = 0.5 * 10 ** -decimals + 1e-9
    return any(abs(n * scale - value) <= tolerance for n in numbers for scale in (1, 1 / 1000, 1 / 1024))


class ReadmeFigures(unittest.TestCase):
    def setUp(self):
        with open(os.path.join(REPO, "README.md")) as f:
            self.readme = f.read()
        self.results = sorted(glob.glob(os.path.join(REPO, "docs", "results", "*.json")))
        self.assertTrue(self.results, "no raw results in docs/results/")

    def test_every_readme_figure_is_in_the_raw_results(self):
        numbers = result_numbers(self.results)
        shown = list(figures(readme_sections(self.readme)))
        self.assertGreater(len(shown), 30, "the sections hold fewer figures than the README has")
        missing = [text for text, value, decimals in shown if not found(value, decimals, numbers)]
        self.assertEqual(missing, [], "README figures not found in docs/results/*.json")

    def test_a_figure_that_is_in_no_result_is_reported(self):
        numbers = result_numbers(self.results)
        self.assertTrue(found(7.3, 1, numbers))  # policy indexed, warm: VM CREATE p50 7.31 ms
        self.assertFalse(found(7.35, 2, numbers))
        self.assertFalse(found(51.5, 1, {51.4, 51.6}))
        self.assertTrue(found(20.3, 1, {20.25}))

    def test_minutes_and_seconds_are_one_figure(self):
        self.assertEqual(list(figures("took 8 min 11 s, then 12.3 s")),
                         [("8 min 11 s", 491, 0), ("12.3", 12.3, 1)])

    def test_dates_versions_and_links_are_not_figures(self):
        self.assertEqual(list(figures("on 2026-12-07, Kubemacpool v0.51.1, Kubewarden 1.35, [x](a/1.md) [perf-100k]")), [])


if __name__ == "__main__":
    unittest.main()
