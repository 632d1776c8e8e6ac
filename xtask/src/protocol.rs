//! The questions `xtask hash` answers, from the policy's core.

use std::io::{BufRead, Write};

use anyhow::{Context, Result, bail};
use kubemacpool_policy::protocol::{self, Kind};
use kubemacpool_policy::settings::{RawSettings, Settings};
use serde_json::{Value, json};

/// `xtask protocol`: the list calls, label keys and selectors.
pub fn describe() -> Value {
    protocol::describe()
}

fn kind(name: &str) -> Result<Kind> {
    match name {
        "VirtualMachine" => Ok(Kind::VirtualMachine),
        "Pod" => Ok(Kind::Pod),
        other => bail!("no kind {other:?}: VirtualMachine or Pod"),
    }
}

/// One question, a JSON array of strings, answered on the default range with the given seed:
/// - `["hash", part...]`: `allocation_hash(parts)` as a decimal string;
/// - `["object-block", kind, namespace, name, seed]`: the object's block under `indexed`
///   (two hex digits); a sixth element, settings as JSON text, gives another range;
/// - `["search-start", kind, namespace, name, place, seed]`: where its search for `place`
///   starts;
/// - `["span-label", kind, block]`: the index label of a `kind` holding a MAC of `block` (two
///   hex digits), also its list's selector.
pub fn answer(question: &[String]) -> Result<Value> {
    let settings = |seed: &str| Settings {
        seed: seed.to_string(),
        ..Settings::default()
    };
    match question {
        [op, parts @ ..] if op == "hash" => {
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            Ok(json!(protocol::allocation_hash(&parts).to_string()))
        }
        [op, k, namespace, name, seed] if op == "object-block" => {
            let block = protocol::object_block(&settings(seed), kind(k)?, namespace, name)
                .context("the default range has blocks")?;
            Ok(json!(format!("{block:02x}")))
        }
        [op, k, namespace, name, seed, given] if op == "object-block" => {
            let mut settings = RawSettings::from_json(given.as_bytes())?.parse()?;
            settings.seed = seed.clone();
            Ok(
                match protocol::object_block(&settings, kind(k)?, namespace, name) {
                    Some(block) => json!(format!("{block:02x}")),
                    None => Value::Null,
                },
            )
        }
        [op, k, namespace, name, place, seed] if op == "search-start" => {
            let start = protocol::search_start(&settings(seed), kind(k)?, namespace, name, place)
                .context("the default range has blocks")?;
            Ok(json!(start.to_string()))
        }
        [op, k, block] if op == "span-label" => {
            let block = u8::from_str_radix(block, 16)
                .with_context(|| format!("{block:?} is not a block: two hex digits"))?;
            Ok(json!(protocol::span_label(kind(k)?, block)))
        }
        _ => bail!("unknown question {question:?}"),
    }
}

/// `xtask hash`: answers each line of `input` (a question as `answer` takes it) with one
/// line of JSON, flushing after each, so that a script can keep one process open.
pub fn serve(input: impl BufRead, mut output: impl Write) -> Result<()> {
    for line in input.lines() {
        let line = line?;
        let question: Vec<String> =
            serde_json::from_str(&line).with_context(|| format!("not a JSON list: {line}"))?;
        writeln!(output, "{}", answer(&question)?)?;
        output.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(question: &[&str]) -> Value {
        let question: Vec<String> = question.iter().map(|s| s.to_string()).collect();
        answer(&question).unwrap()
    }

    #[test]
    fn the_hash_is_the_policys() {
        assert_eq!(
            ask(&["hash"]),
            json!(protocol::allocation_hash(&[]).to_string())
        );
        assert_eq!(
            ask(&["hash", "", "VirtualMachine", "default", "vm1", "default"]),
            json!(
                protocol::allocation_hash(&["", "VirtualMachine", "default", "vm1", "default"])
                    .to_string()
            )
        );
    }

    #[test]
    fn the_search_starts_in_the_objects_block() {
        let block = ask(&["object-block", "Pod", "ns", "p", ""]);
        let start = ask(&["search-start", "Pod", "ns", "p", "net", ""]);
        assert_eq!(
            start.as_str().unwrap().split(':').nth(4),
            block.as_str(),
            "{start} {block}"
        );
    }

    #[test]
    fn the_object_block_follows_the_range_given() {
        let settings = r#"{"rangeStart":"02:00:00:00:10:00","rangeEnd":"02:00:00:00:11:01"}"#;
        let block = ask(&["object-block", "VirtualMachine", "ns", "vm", "", settings]);
        assert!(block == json!("10") || block == json!("11"), "{block}");
    }

    #[test]
    fn a_question_it_does_not_know_is_an_error() {
        let question = vec!["nonsense".to_string()];
        assert!(answer(&question).is_err());
        assert!(serve("not json\n".as_bytes(), Vec::new()).is_err());
    }

    #[test]
    fn serve_answers_line_by_line() {
        let mut out = Vec::new();
        serve(
            "[\"object-block\",\"VirtualMachine\",\"a\",\"b\",\"\"]\n[\"hash\"]\n".as_bytes(),
            &mut out,
        )
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap().lines().count(), 2);
    }
}
