"""The repository's Python tooling, one package: the policy's protocol from its core through xtask
(`protocol`), the fixtures of test_data/ (`fixtures`, `bad_input`, `fuzz_seeds`), the fake API
server and its synthetic clusters (`fake_apiserver`, `synthetic`), the engine benchmark
(`bench_engine`), the real-cluster suites' helpers (`kmp.cluster`) and benchmarks (`kmp.bench`),
and their unit tests (`test_*.py`, one discovery root).

Every module runs as `PYTHONPATH=<repo>/tests python3 -m kmp.<module> ...` (the Makefile and
tests/cluster/lib.bash do so); the unit tests as
`python3 -m unittest discover -s tests/kmp -t tests` (`make unit-tests`).
"""

import os
import sys

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(TESTS)


def command(module, *args):
    """The command line that runs kmp.`module` in a process of its own (with `environ()`)."""
    return [sys.executable, "-m", f"kmp.{module}", *args]


def environ(**extra):
    """os.environ with this package importable (PYTHONPATH) and `extra`, for `command()`."""
    path = os.environ.get("PYTHONPATH")
    return dict(os.environ, PYTHONPATH=TESTS + (os.pathsep + path if path else ""), **extra)
