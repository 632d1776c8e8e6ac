//! The README is a front page and docs/ holds the rest (read with a CommonMark parser): every link between them leads to a file
//! and a heading that exist, the README links every page, and it stays short enough to read.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

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

fn parser(markdown: &str) -> Parser<'_> {
    Parser::new_ext(markdown, Options::all())
}

/// Every link target: inline and reference links, images, and every reference definition
/// (`[name]: target`), used or not. Code blocks, code spans and HTML hold none.
fn links(markdown: &str) -> Vec<String> {
    let mut parser = parser(markdown);
    let mut found: Vec<String> = parser
        .by_ref()
        .filter_map(|event| match event {
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                Some(dest_url.to_string())
            }
            _ => None,
        })
        .collect();
    found.extend(
        parser
            .reference_definitions()
            .iter()
            .map(|(_, definition)| definition.dest.to_string()),
    );
    found
}

/// GitHub's anchor for each heading: its text lower case, punctuation dropped, spaces become
/// hyphens; a repeated heading gets -1, -2, ...
fn anchors(markdown: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut title: Option<String> = None;
    for event in parser(markdown) {
        match event {
            Event::Start(Tag::Heading { .. }) => title = Some(String::new()),
            Event::Text(text) | Event::Code(text) => {
                if let Some(title) = title.as_mut() {
                    title.push_str(&text);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                let base: String = title
                    .take()
                    .unwrap_or_default()
                    .trim()
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
            _ => {}
        }
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

#[test]
fn links_are_read_as_commonmark_reads_them() {
    let text = "See [a](docs/a.md) and [b][b-ref], ![img](docs/img/x.svg).\n\n`[not](a-link.md)`\n\n```\n[nor](this.md)\n```\n\n[b-ref]: docs/b.md#part\n[unused]: docs/c.md\n";
    let mut found = links(text);
    found.sort();
    assert_eq!(
        found,
        [
            "docs/a.md",
            "docs/b.md#part",
            "docs/b.md#part",
            "docs/c.md",
            "docs/img/x.svg"
        ]
    );
}
