//! kwctl's recorded host-capability sessions (`--replay-host-capabilities-interactions`):
//! a YAML list of exchanges replayed strictly in order, each request compared field by field.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use serde_json::Value;

/// The tag kwctl writes for each Kubernetes host operation.
pub fn tag_of(namespace: &str, operation: &str) -> Option<&'static str> {
    match (namespace, operation) {
        ("kubernetes", "list_resources_all") => Some("KubernetesListResourceAll"),
        ("kubernetes", "list_resources_by_namespace") => Some("KubernetesListResourceNamespace"),
        ("kubernetes", "get_resource") => Some("KubernetesGetResource"),
        ("kubernetes", "can_i") => Some("KubernetesCanI"),
        _ => None,
    }
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
enum RawEntry {
    Exchange {
        request: String,
        response: RawResponse,
    },
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
enum RawResponse {
    Success { payload: String },
    Error { message: String },
}

/// One recorded exchange.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    pub tag: String,
    pub fields: BTreeMap<String, Value>,
    pub response: Result<Vec<u8>, String>,
}

/// Parses a recorded request: a tagged YAML mapping such as `!KubernetesListResourceAll\nkind: Pod`.
fn parse_request(text: &str) -> Result<(String, BTreeMap<String, Value>)> {
    let value: serde_yaml::Value = serde_yaml::from_str(text).context("request is not YAML")?;
    let serde_yaml::Value::Tagged(tagged) = value else {
        bail!("request has no tag such as !KubernetesListResourceAll");
    };
    let tag = tagged.tag.to_string().trim_start_matches('!').to_string();
    let fields: BTreeMap<String, Value> = match serde_json::to_value(&tagged.value)? {
        Value::Object(map) => map.into_iter().collect(),
        Value::Null => BTreeMap::new(),
        other => bail!("request fields must be a mapping, got {other}"),
    };
    Ok((tag, fields))
}

/// Parses a whole session file.
pub fn parse_session(text: &str) -> Result<Vec<Exchange>> {
    let entries: Vec<RawEntry> =
        serde_yaml::from_str(text).context("session is not a list of exchanges")?;
    entries
        .into_iter()
        .enumerate()
        .map(|(index, RawEntry::Exchange { request, response })| {
            let (tag, fields) =
                parse_request(&request).with_context(|| format!("exchange {index}"))?;
            Ok(Exchange {
                tag,
                fields,
                response: match response {
                    RawResponse::Success { payload } => Ok(payload.into_bytes()),
                    RawResponse::Error { message } => Err(message),
                },
            })
        })
        .collect()
}

/// Field masks are a set in kwctl: their order does not matter, their content does.
fn normalise(key: &str, value: &Value) -> Value {
    match (key, value) {
        ("field_masks", Value::Array(items)) => {
            let set: BTreeSet<String> = items.iter().map(|v| v.to_string()).collect();
            Value::Array(set.into_iter().map(Value::String).collect())
        }
        _ => value.clone(),
    }
}

/// Compares a guest request with a recorded one, field by field; a missing field equals null.
pub fn compare(recorded: &BTreeMap<String, Value>, actual: &BTreeMap<String, Value>) -> Result<()> {
    let keys: BTreeSet<&String> = recorded.keys().chain(actual.keys()).collect();
    for key in keys {
        let want = recorded.get(key).map_or(Value::Null, |v| normalise(key, v));
        let got = actual.get(key).map_or(Value::Null, |v| normalise(key, v));
        if want != got {
            bail!("field `{key}` differs: recorded {want}, policy sent {got}");
        }
    }
    Ok(())
}

/// Answers host calls from a session, in order, and remembers what went wrong.
#[derive(Debug, Default)]
pub struct Replay {
    state: Mutex<ReplayState>,
}

#[derive(Debug, Default)]
struct ReplayState {
    exchanges: Vec<Exchange>,
    next: usize,
    failures: Vec<String>,
}

impl Replay {
    pub fn new(exchanges: Vec<Exchange>) -> Self {
        Replay {
            state: Mutex::new(ReplayState {
                exchanges,
                next: 0,
                failures: Vec::new(),
            }),
        }
    }

    /// The answer to the guest's call `namespace/operation` with JSON `payload`.
    pub fn answer(
        &self,
        namespace: &str,
        operation: &str,
        payload: &[u8],
    ) -> Result<Vec<u8>, String> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let outcome = state.replay(namespace, operation, payload);
        match outcome {
            Ok(response) => response,
            Err(failure) => {
                let message = format!("replay: {failure:#}");
                state.failures.push(message.clone());
                Err(message)
            }
        }
    }

    /// Mismatches and exhaustion seen so far.
    pub fn failures(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .failures
            .clone()
    }

    /// Exchanges never asked for.
    pub fn unused(&self) -> usize {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.exchanges.len() - state.next
    }
}

impl ReplayState {
    fn replay(
        &mut self,
        namespace: &str,
        operation: &str,
        payload: &[u8],
    ) -> Result<Result<Vec<u8>, String>> {
        let tag = tag_of(namespace, operation)
            .ok_or_else(|| anyhow!("no replay support for host call {namespace}/{operation}"))?;
        let index = self.next;
        let exchange = self.exchanges.get(index).ok_or_else(|| {
            anyhow!(
                "the session is exhausted: the policy made call {} ({tag}), the session records {}",
                index + 1,
                self.exchanges.len()
            )
        })?;
        if exchange.tag != tag {
            bail!(
                "call {}: recorded !{}, policy made !{tag}",
                index + 1,
                exchange.tag
            );
        }
        let actual: BTreeMap<String, Value> = match serde_json::from_slice(payload)
            .context("the policy's request is not a JSON object")?
        {
            Value::Object(map) => map.into_iter().collect(),
            other => bail!("the policy's request is not a JSON object: {other}"),
        };
        compare(&exchange.fields, &actual)
            .with_context(|| format!("call {} (!{tag})", index + 1))?;
        self.next += 1;
        Ok(exchange.response.clone())
    }
}
