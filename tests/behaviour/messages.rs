//! docs/operations.md's "Every message" and "Invalid settings" tables hold every message the
//! policy can answer with: each text of an error type (`#[error("...")]`), of a `Display` impl
//! and of a `format!` that becomes a message is found there, fragment by fragment (the parts
//! between its placeholders, which the tables write as `<mac>`, `<place>`, ...).

use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file of `src/` except the test doubles and inline tests.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if !path.ends_with("testing") {
                sources(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            out.push(path);
        }
    }
}

/// The string literal that starts at `text[start..]` (just after its opening quote), unescaped.
fn literal(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => break,
            },
            c => out.push(c),
        }
    }
    out
}

/// The first string literal after each `marker` in `source`, up to the code before `#[cfg(test)]`.
fn literals_after(source: &str, marker: &str) -> Vec<String> {
    let code = source.split("#[cfg(test)]").next().unwrap();
    code.match_indices(marker)
        .filter_map(|(at, _)| {
            let mut rest = code[at + marker.len()..].trim_start();
            // `write!(f, "...")`, however rustfmt wrapped it: the literal is the second argument.
            if marker == "write!(" {
                rest = rest.strip_prefix('f')?.trim_start().strip_prefix(',')?;
            }
            let open = rest.find('"')?;
            // The literal must be the macro's first argument, not a later one.
            rest[..open]
                .trim()
                .is_empty()
                .then(|| literal(&rest[open + 1..]))
        })
        .collect()
}

/// Every string literal turned into a `String` with `.to_string()` (how a message is handed to
/// an error variant such as `SettingsError::Malformed`), up to the code before `#[cfg(test)]`.
fn literals_to_string(source: &str) -> Vec<String> {
    let code = source.split("#[cfg(test)]").next().unwrap();
    code.match_indices("\".to_string()")
        .filter_map(|(end, _)| {
            let bytes = code.as_bytes();
            let mut at = end;
            // Back to the opening quote: the first `"` not escaped by a backslash.
            loop {
                at = code[..at].rfind('"')?;
                let backslashes = bytes[..at]
                    .iter()
                    .rev()
                    .take_while(|&&b| b == b'\\')
                    .count();
                if backslashes % 2 == 0 {
                    break;
                }
            }
            Some(literal(&code[at + 1..=end]))
        })
        .collect()
}

/// The parts of a message between its `{...}` placeholders.
fn fragments(message: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut depth = 0;
    for c in message.chars() {
        match c {
            '{' => {
                depth += 1;
                out.push(std::mem::take(&mut current));
            }
            '}' => depth -= 1,
            c if depth == 0 => current.push(c),
            _ => {}
        }
    }
    out.push(current);
    out
}

/// The messages the policy answers with: error texts, `Display` texts and message `format!`s
/// (those that read as a sentence: a letter first and a space inside).
fn messages() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    sources(Path::new("src"), &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let source = fs::read_to_string(&file).unwrap();
        // `SeedError("...".to_string())` and the like: a literal handed to an error type.
        let literals = ["#[error(", "write!(", "f.write_str(", "format!(", "Error("]
            .into_iter()
            .flat_map(|marker| literals_after(&source, marker))
            .chain(literals_to_string(&source));
        {
            for message in literals {
                let sentence = message.starts_with(|c: char| c.is_ascii_alphabetic() || c == '{')
                    && fragments(&message).iter().any(|f| f.trim().contains(' '));
                if sentence {
                    out.push((file.clone(), message));
                }
            }
        }
    }
    out
}

/// The text of docs/operations.md from "## Every message" to the end ("## Invalid settings" is
/// the last section), with Markdown's escaped backticks as they are.
fn documented() -> String {
    let page = fs::read_to_string("docs/operations.md").unwrap();
    let start = page
        .find("## Every message")
        .expect("docs/operations.md has no \"Every message\" section");
    page[start..].to_string()
}

/// Texts the scan finds that never reach a user: the `expecting` text of the reader
/// `held_macs` uses, whose errors it drops (a MAC it cannot read is no MAC).
const NEVER_ANSWERED: &[&str] = &["a list of network selection elements"];

#[test]
fn every_message_of_the_policy_is_in_the_operations_tables() {
    let docs = documented();
    let missing: Vec<String> = messages()
        .into_iter()
        .filter(|(_, message)| !NEVER_ANSWERED.contains(&message.as_str()))
        .filter_map(|(file, message)| {
            let absent: Vec<String> = fragments(&message)
                .into_iter()
                .map(|f| f.trim().to_string())
                .filter(|f| f.len() >= 6 && !docs.contains(f.as_str()))
                .collect();
            (!absent.is_empty())
                .then(|| format!("{}: {message:?} (not found: {absent:?})", file.display()))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "messages missing from docs/operations.md, Every message:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_scan_finds_the_messages_it_must() {
    // Guards the scan itself: if it stopped reading error attributes or Display impls, the test
    // above would pass on nothing.
    let found: Vec<String> = messages().into_iter().map(|(_, m)| m).collect();
    for expected in [
        "the range is full",
        "cannot derive the allocation seed: host call get_resource {SEED_API_VERSION} {SEED_KIND} {SEED_NAME} failed: {0}",
        "MAC collision: {} on {} is also held by {}",
        "cannot read the admission request: {e}",
        "the Namespace has an empty metadata.uid",
        "settings must be a JSON object",
    ] {
        assert!(
            found.iter().any(|m| m == expected),
            "{expected:?} not found among {found:#?}"
        );
    }
    assert_eq!(
        fragments("a {x} b {} c"),
        vec!["a ".to_string(), " b ".to_string(), " c".to_string()]
    );
}
