//! `xtask record`: a kwctl replay session made by the policy itself. The core evaluates one
//! admission request against an in-memory cluster that answers as the host does (objects
//! selected by label, each as the host lists it under the call's field masks), and every call
//! it makes is written down with its answer, in the order made. So the fixture generator never
//! spells the calls of `inventory: indexed` (which depend on the request): they are the
//! policy's, and a policy that changes them changes the fixtures, which `python3 -m kmp.fixtures
//! --check` (make unit-tests) then reports.

use std::cell::RefCell;
use std::fmt::Write as _;

use anyhow::{Context, Result};
use kubemacpool_policy::host::{Cluster, HostError};
use kubemacpool_policy::testing::{CLUSTER_UID, MemoryCluster};
use kubewarden_policy_sdk::host_capabilities::kubernetes::{
    GetResourceRequest, ListAllResourcesRequest,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// What `xtask record` reads on stdin.
#[derive(Deserialize)]
pub struct Job {
    /// The AdmissionRequest, as `kwctl run --request-path` takes it.
    pub request: Value,
    #[serde(default)]
    pub settings: Value,
    #[serde(default)]
    pub vms: Vec<Value>,
    #[serde(default)]
    pub pods: Vec<Value>,
    /// The uid of the cluster's `kube-system` Namespace, the seed under `seed: ""`; `null`:
    /// the cluster has none. Absent: the test doubles' `CLUSTER_UID`.
    #[serde(default = "default_uid", rename = "kubeSystemUid")]
    pub kube_system_uid: Option<String>,
}

fn default_uid() -> Option<String> {
    Some(CLUSTER_UID.to_string())
}

/// The answers a list carries in its envelope, as the fixtures always wrote them.
const RESOURCE_VERSION: &str = "4300";

/// The in-memory cluster, recording each call and its answer as session YAML.
struct Recorder {
    cluster: MemoryCluster,
    session: RefCell<String>,
}

impl Recorder {
    fn exchange(&self, request: &str, answer: &Result<Vec<u8>, HostError>) {
        let mut session = self.session.borrow_mut();
        session.push_str("- type: Exchange\n  request: |\n");
        for line in request.lines() {
            let _ = writeln!(session, "    {line}");
        }
        session.push_str("  response:\n");
        match answer {
            Ok(payload) => {
                let payload = String::from_utf8_lossy(payload);
                let _ = writeln!(
                    session,
                    "    type: Success\n    payload: {}",
                    quote(&payload)
                );
            }
            Err(error) => {
                let _ = writeln!(
                    session,
                    "    type: Error\n    message: {}",
                    quote(&error.to_string())
                );
            }
        }
    }
}

/// A YAML single-quoted scalar.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn or_null(value: Option<&str>) -> &str {
    value.unwrap_or("null")
}

/// An object as the host lists it: its type, its `metadata` and what the field masks keep.
fn listed(object: &Value, masks: &[String]) -> Value {
    let mut view = Map::new();
    for key in ["apiVersion", "kind"] {
        if let Some(value) = object.get(key) {
            view.insert(key.to_string(), value.clone());
        }
    }
    for mask in masks {
        let path: Vec<&str> = mask.split('.').collect();
        let Some(value) = path.iter().try_fold(object, |at, key| at.get(*key)) else {
            continue;
        };
        let mut at = &mut view;
        for key in &path[..path.len() - 1] {
            at = at
                .entry(key.to_string())
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("a mask's parent is an object");
        }
        at.insert(path[path.len() - 1].to_string(), value.clone());
    }
    Value::Object(view)
}

impl Cluster for Recorder {
    fn list_resources_all(&self, request: &ListAllResourcesRequest) -> Result<Vec<u8>, HostError> {
        let masks: Vec<String> = request.field_masks.iter().flatten().cloned().collect();
        let mut text = format!(
            "!KubernetesListResourceAll\napi_version: {}\nkind: {}\nlabel_selector: {}\nfield_selector: {}\nfield_masks:\n",
            request.api_version,
            request.kind,
            or_null(request.label_selector.as_deref()),
            or_null(request.field_selector.as_deref()),
        );
        for mask in &masks {
            let _ = writeln!(text, "- {mask}");
        }
        let answer = self.cluster.list_resources_all(request).map(|all| {
            let all: Value = serde_json::from_slice(&all).expect("MemoryCluster lists JSON");
            let items: Vec<Value> = all["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|item| listed(item, &masks))
                .collect();
            json!({
                "apiVersion": request.api_version,
                "kind": format!("{}List", request.kind),
                "metadata": { "resourceVersion": RESOURCE_VERSION },
                "items": items,
            })
            .to_string()
            .into_bytes()
        });
        self.exchange(&text, &answer);
        answer
    }

    fn get_resource(&self, request: &GetResourceRequest) -> Result<Vec<u8>, HostError> {
        let text = format!(
            "!KubernetesGetResource\napi_version: {}\nkind: {}\nname: {}\nnamespace: {}\ndisable_cache: {}\nfield_masks: null\n",
            request.api_version,
            request.kind,
            request.name,
            or_null(request.namespace.as_deref()),
            request.disable_cache,
        );
        let answer = self.cluster.get_resource(request);
        self.exchange(&text, &answer);
        answer
    }
}

/// The session the policy's calls for `job` make: every exchange in order, `[]` for none.
pub fn record(job: Job) -> Result<String> {
    let settings = match job.settings {
        Value::Null => json!({}),
        settings => settings,
    };
    let payload = serde_json::to_vec(&json!({ "settings": settings, "request": job.request }))?;
    let recorder = Recorder {
        cluster: MemoryCluster::new(job.vms, job.pods)
            .with_kube_system_uid(job.kube_system_uid.as_deref()),
        session: RefCell::new(String::new()),
    };
    let response = kubemacpool_policy::evaluate(&payload, &recorder);
    // A request the settings or the payload refuse makes no call: a session of it records
    // nothing worth keeping.
    if !response.accepted && recorder.session.borrow().is_empty() {
        anyhow::bail!(
            "the policy refused the request before any host call: {}",
            response.message.unwrap_or_default()
        );
    }
    let session = recorder.session.into_inner();
    Ok(if session.is_empty() {
        "[]\n".to_string()
    } else {
        session
    })
}

/// Reads a `Job` from `input` and returns its session.
pub fn from_json(input: &str) -> Result<String> {
    let job: Job = serde_json::from_str(input).context("xtask record reads one JSON job")?;
    record(job)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(name: &str, labels: Value) -> Value {
        json!({
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": { "name": name, "namespace": "default", "labels": labels },
            "spec": { "runStrategy": "Always", "template": { "spec": {
                "domain": { "devices": { "interfaces": [{ "name": "blue", "bridge": {}, "macAddress": "02:00:00:00:00:10" }] },
                            "resources": {} },
                "networks": [{ "name": "blue", "multus": { "networkName": "blue-net" } }]
            } } }
        })
    }

    fn create(object: Value) -> Value {
        json!({
            "uid": "1", "operation": "CREATE", "namespace": "default", "name": "new",
            "kind": { "group": "kubevirt.io", "version": "v1", "kind": "VirtualMachine" },
            "resource": { "group": "kubevirt.io", "version": "v1", "resource": "virtualmachines" },
            "userInfo": {}, "object": object
        })
    }

    #[test]
    fn the_session_is_the_calls_the_policy_makes_with_the_hosts_answers() {
        let mut new = vm("new", json!({}));
        new["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][0]
            .as_object_mut()
            .unwrap()
            .remove("macAddress");
        let legacy = vm("legacy", json!({}));
        let session = record(Job {
            request: create(new),
            settings: json!({}),
            vms: vec![legacy],
            pods: vec![],
            kube_system_uid: default_uid(),
        })
        .unwrap();
        let calls: Vec<&str> = session
            .lines()
            .filter_map(|l| l.strip_prefix("    label_selector: "))
            .collect();
        assert_eq!(calls.len(), 4, "{session}");
        assert!(calls[0].starts_with("mac-blocks.kubemacpool.io/"));
        assert_eq!(calls[2], "kubemacpool.io/indexed!=v2");
        // First the seed, the cluster's kube-system uid.
        let seed = session.split("- type: Exchange").nth(1).unwrap();
        assert!(seed.contains("!KubernetesGetResource"), "{seed}");
        assert!(
            seed.contains(&format!("\"uid\":\"{CLUSTER_UID}\"")),
            "{seed}"
        );
        // The legacy VM is listed by the legacy list only, under the field masks: no runStrategy.
        let legacy_list = session.split("- type: Exchange").nth(4).unwrap();
        assert!(legacy_list.contains("\"name\":\"legacy\""), "{legacy_list}");
        assert!(!legacy_list.contains("runStrategy"), "{legacy_list}");
        assert!(legacy_list.contains("\"kind\":\"VirtualMachineList\""));
    }

    #[test]
    fn a_request_without_host_calls_records_an_empty_session() {
        let session = record(Job {
            request: create(vm("plain", json!({}))),
            settings: json!({ "duplicateMacs": "allow" }),
            vms: vec![],
            pods: vec![],
            kube_system_uid: default_uid(),
        })
        .unwrap();
        assert_eq!(session, "[]\n");
    }

    #[test]
    fn a_request_the_policy_refuses_outright_is_an_error() {
        let job = Job {
            request: create(vm("x", json!({}))),
            settings: json!({ "unknownSetting": 1 }),
            vms: vec![],
            pods: vec![],
            kube_system_uid: default_uid(),
        };
        assert!(record(job).is_err());
    }

    #[test]
    fn masks_keep_the_masked_paths_and_the_type() {
        let object = vm("a", json!({}));
        let view = listed(
            &object,
            &[
                "metadata".to_string(),
                "spec.template.spec.networks".to_string(),
            ],
        );
        assert_eq!(
            view,
            json!({ "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
                    "metadata": object["metadata"],
                    "spec": { "template": { "spec": { "networks": object["spec"]["template"]["spec"]["networks"] } } } })
        );
    }
}
