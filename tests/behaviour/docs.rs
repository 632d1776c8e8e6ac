//! The README is a front page and docs/ holds the rest: every link between them leads to a file
//! and a heading that exist, the README links every page, and it stays short enough to read.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

/// README.md and every page of docs/.
fn pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = fs::read_dir("docs")
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    pages.insert(0, PathBuf::from("README.md"));
    pages
}

/// The text a reader sees as prose: fenced code blocks, inline code and HTML comments removed,
/// since a link-like text there is not a link.
fn prose(markdown: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.push_str(line);
            out.push('\n');
        }
    }
    let out = strip_between(&out, "<!--", "-->");
    strip_code_spans(&out)
}

fn strip_between(text: &str, open: &str, close: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(open) {
        out.push_str(&rest[..start]);
        rest = rest[start..]
            .find(close)
            .map_or("", |end| &rest[start + end + close.len()..]);
    }
    out + rest
}

/// Removes `code` and ``code``: a run of n backticks closes a span opened by n backticks.
fn strip_code_spans(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let ticks = rest[start..].chars().take_while(|&c| c == '`').count();
        let fence = "`".repeat(ticks);
        let after = &rest[start + ticks..];
        rest = after.find(&fence).map_or("", |end| &after[end + ticks..]);
    }
    out + rest
}

/// Every link target: inline `[text](target)` and reference definitions `[name]: target`.
fn links(markdown: &str) -> Vec<String> {
    let text = prose(markdown);
    let mut found = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let end = after.find(')').unwrap_or(after.len());
        found.push(after[..end].trim().to_string());
        rest = &after[end..];
    }
    for line in text.lines() {
        let line = line.trim_start();
        // `[label]: target`, the label without brackets of its own.
        if let Some((_, target)) = line
            .strip_prefix('[')
            .and_then(|l| l.split_once(']'))
            .and_then(|(label, rest)| Some((label, rest.strip_prefix(": ")?)))
        {
            found.push(target.trim().to_string());
        }
    }
    found
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces become hyphens;
/// a repeated heading gets -1, -2, ...
fn anchors(markdown: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        let Some(title) = line.strip_prefix('#').filter(|_| !fenced) else {
            continue;
        };
        let title = title.trim_start_matches('#').trim();
        let base: String = title
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let mut anchor = base.clone();
        let mut n = 0;
        while seen.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        seen.insert(anchor);
    }
    seen
}

/// The repository's address as the Artifact Hub package names it: the README links into the
/// repository by it, because Artifact Hub does not render relative links.
fn repository_url() -> String {
    let package = fs::read_to_string("artifacthub-pkg.yml").unwrap();
    let package: serde_yaml::Value = serde_yaml::from_str(&package).unwrap();
    package["homeURL"]
        .as_str()
        .unwrap()
        .trim_end_matches('/')
        .to_string()
}

/// The local path a link names, relative to the repository root, or None for a link that
/// leaves the repository.
fn local_target(page: &Path, target: &str, repository: &str) -> Option<String> {
    for prefix in ["/blob/main/", "/tree/main/", "/raw/main/"] {
        if let Some(path) = target.strip_prefix(&format!("{repository}{prefix}")) {
            return Some(path.to_string());
        }
    }
    if target.contains("://") || target.starts_with("mailto:") {
        return None;
    }
    let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
    if path.is_empty() {
        return Some(format!("{}#{anchor}", page.display()));
    }
    let joined = page.parent().unwrap().join(path);
    // Normalise `docs/../README.md` to `README.md` without touching the file system.
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.to_str().unwrap().split('/') {
        match part {
            "" | "." => {}
            ".." => drop(parts.pop()),
            part => parts.push(part),
        }
    }
    let path = parts.join("/");
    Some(if anchor.is_empty() {
        path
    } else {
        format!("{path}#{anchor}")
    })
}

/// Why a link that stays in the repository is broken, if it is.
fn broken(target: &str) -> Option<String> {
    let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
    if !Path::new(path).exists() {
        return Some(format!("no file {path}"));
    }
    if anchor.is_empty() {
        return None;
    }
    let text = fs::read_to_string(path).ok()?;
    (!anchors(&text).contains(anchor)).then(|| format!("no heading #{anchor} in {path}"))
}

#[test]
fn every_link_in_the_readme_and_docs_leads_to_a_file_and_heading_that_exist() {
    let repository = repository_url();
    let mut problems = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = fs::read_to_string(&page).unwrap();
        for link in links(&text) {
            let Some(target) = local_target(&page, &link, &repository) else {
                continue;
            };
            checked += 1;
            if let Some(why) = broken(&target) {
                problems.push(format!("{}: {link}: {why}", page.display()));
            }
        }
    }
    assert!(
        checked > 20,
        "only {checked} links found: is the parser broken?"
    );
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_code_fence_is_closed() {
    // An unclosed fence swallows the rest of the page, links and headings included.
    for page in pages() {
        let text = fs::read_to_string(&page).unwrap();
        let fences = text
            .lines()
            .filter(|l| l.trim_start().starts_with("```"))
            .count();
        assert!(
            fences % 2 == 0,
            "{}: an unclosed code fence",
            page.display()
        );
    }
}

#[test]
fn the_readme_links_into_the_repository_only_by_its_address_as_artifact_hub_shows_it() {
    let relative: Vec<String> = links(&fs::read_to_string("README.md").unwrap())
        .into_iter()
        .filter(|l| !l.contains("://") && !l.starts_with('#') && !l.starts_with("mailto:"))
        .collect();
    assert!(
        relative.is_empty(),
        "Artifact Hub does not render relative links: {relative:?}"
    );
}

#[test]
fn the_readme_links_every_docs_page() {
    let repository = repository_url();
    let readme = fs::read_to_string("README.md").unwrap();
    let linked: HashSet<String> = links(&readme)
        .iter()
        .filter_map(|l| local_target(Path::new("README.md"), l, &repository))
        .map(|t| t.split('#').next().unwrap().to_string())
        .collect();
    for page in pages().iter().skip(1) {
        let page = page.display().to_string();
        assert!(linked.contains(&page), "README.md does not link {page}");
    }
}

#[test]
fn every_docs_page_starts_with_who_it_is_for() {
    for page in pages().iter().skip(1) {
        let text = fs::read_to_string(page).unwrap();
        let first_paragraph = text.split("\n\n").nth(1).unwrap_or("");
        assert!(
            first_paragraph.starts_with("For "),
            "{}: the first paragraph should say who the page is for",
            page.display()
        );
    }
}

#[test]
fn the_readme_stays_a_front_page() {
    let lines = fs::read_to_string("README.md").unwrap().lines().count();
    assert!(
        lines <= 300,
        "README.md has {lines} lines; move depth to docs/"
    );
}

#[test]
fn anchors_follow_github() {
    let text = "# Quick start\n## `inventory: indexed`\n### 10,000 VMs + 100,000 Pods, adopted (41 rounds)\n## Quick start\n```\n# not a heading\n```\n";
    let found = anchors(text);
    for anchor in [
        "quick-start",
        "inventory-indexed",
        "10000-vms--100000-pods-adopted-41-rounds",
        "quick-start-1",
    ] {
        assert!(found.contains(anchor), "{anchor} in {found:?}");
    }
    assert!(!found.contains("not-a-heading"));
}
