//! The policy's protocol for tooling in other languages (the fixture generator, the fake API
//! server's cluster generator, the engine benchmark; `tests/kmp/protocol.py`), from the
//! policy's core, so that no script spells a selector, a field mask or the hash again:
//!
//! - `xtask protocol`: the list calls, annotation and label keys, and selectors, as JSON;
//! - `xtask hash`: answers allocation-hash and block questions, one JSON list per line on
//!   stdin (see `protocol::answer`), one JSON value per line on stdout;
//! - `xtask record`: the replay session of the calls the policy makes for one request on an
//!   in-memory cluster (a JSON job on stdin, see `record::Job`), on stdout.

mod protocol;
mod record;

use std::io::Read;
use std::process::ExitCode;

fn main() -> ExitCode {
    let outcome = match std::env::args().nth(1).as_deref() {
        Some("protocol") => {
            println!("{:#}", protocol::describe());
            Ok(())
        }
        Some("hash") => protocol::serve(std::io::stdin().lock(), std::io::stdout()),
        Some("record") => {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .map_err(anyhow::Error::from)
                .and_then(|_| record::from_json(&input))
                .map(|session| print!("{session}"))
        }
        _ => {
            eprintln!("usage: xtask protocol | xtask hash | xtask record");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}
