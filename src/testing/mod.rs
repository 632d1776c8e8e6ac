//! Test doubles of the host, for the tests, benches and fuzzers (the `testing` feature): a
//! scripted host that answers calls in order, and an in-memory cluster that answers list calls
//! by label selector as the API server does.

pub mod objects;

use std::cell::RefCell;
use std::collections::VecDeque;

use kubewarden_policy_sdk::host_capabilities::kubernetes::{
    GetResourceRequest, ListAllResourcesRequest,
};

use crate::allocation::seed::{SEED_API_VERSION, SEED_KIND, SEED_NAME};
use crate::host::{Cluster, HostError};

/// The `metadata.uid` of the doubles' `kube-system` Namespace: the seed of every allocation
/// under the default `seed: ""` (behaviour.md section 6).
pub const CLUSTER_UID: &str = "5f0c2a8e-61d4-4b7a-9e3c-8d2f1b6a7c90";

/// The `kube-system` Namespace with `uid`, as the API server returns it.
pub fn kube_system(uid: &str) -> Vec<u8> {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": { "name": SEED_NAME, "uid": uid },
    })
    .to_string()
    .into_bytes()
}

/// Whether `request` asks for the seed's Namespace.
fn is_seed(request: &GetResourceRequest) -> bool {
    request.api_version == SEED_API_VERSION
        && request.kind == SEED_KIND
        && request.name == SEED_NAME
        && request.namespace.is_none()
}

/// A recorded host call, for expectations in tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    ListAll {
        api_version: String,
        kind: String,
        label_selector: Option<String>,
        field_masks: Vec<String>,
    },
    Get {
        api_version: String,
        kind: String,
        namespace: Option<String>,
        name: String,
    },
}

/// An in-memory host: answers calls in order from a queue of canned responses and records
/// every call, so tests can assert both what the policy asked and how often. The seed's
/// `kube-system` Namespace is not queued: it answers with `CLUSTER_UID` unless told otherwise
/// (`with_kube_system`).
#[derive(Debug)]
pub struct FakeCluster {
    responses: RefCell<VecDeque<Result<Vec<u8>, HostError>>>,
    kube_system: Result<Vec<u8>, HostError>,
    calls: RefCell<Vec<Call>>,
}

impl Default for FakeCluster {
    fn default() -> Self {
        FakeCluster {
            responses: RefCell::default(),
            kube_system: Ok(kube_system(CLUSTER_UID)),
            calls: RefCell::default(),
        }
    }
}

impl FakeCluster {
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers the seed's Namespace with `response`; an error is the host's text.
    pub fn with_kube_system(mut self, response: Result<Vec<u8>, String>) -> Self {
        self.kube_system = response.map_err(HostError::from_host);
        self
    }

    /// Queues the answer to the next call.
    /// Queues the answer to the next call; an error is the host's text, read as the host
    /// seam reads it (`Cannot find ...` is not-found).
    pub fn then(self, response: Result<Vec<u8>, String>) -> Self {
        self.responses
            .borrow_mut()
            .push_back(response.map_err(HostError::from_host));
        self
    }

    /// Queues a successful answer.
    pub fn then_ok(self, body: impl Into<Vec<u8>>) -> Self {
        self.then(Ok(body.into()))
    }

    /// Queues a host error.
    pub fn then_err(self, message: &str) -> Self {
        self.then(Err(message.to_string()))
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.borrow().clone()
    }

    /// Answers left unused.
    pub fn pending(&self) -> usize {
        self.responses.borrow().len()
    }

    fn answer(&self, call: Call) -> Result<Vec<u8>, HostError> {
        self.calls.borrow_mut().push(call.clone());
        self.responses.borrow_mut().pop_front().unwrap_or_else(|| {
            Err(HostError::Failed(format!(
                "FakeCluster: no answer queued for {call:?}"
            )))
        })
    }
}

impl Cluster for FakeCluster {
    fn list_resources_all(&self, request: &ListAllResourcesRequest) -> Result<Vec<u8>, HostError> {
        self.answer(Call::ListAll {
            api_version: request.api_version.clone(),
            kind: request.kind.clone(),
            label_selector: request.label_selector.clone(),
            field_masks: request.field_masks.iter().flatten().cloned().collect(),
        })
    }

    fn get_resource(&self, request: &GetResourceRequest) -> Result<Vec<u8>, HostError> {
        let call = Call::Get {
            api_version: request.api_version.clone(),
            kind: request.kind.clone(),
            namespace: request.namespace.clone(),
            name: request.name.clone(),
        };
        if is_seed(request) {
            self.calls.borrow_mut().push(call);
            return self.kube_system.clone();
        }
        self.answer(call)
    }
}

/// A cluster kept in memory that answers list calls as the API server does: by kind and label
/// selector (`key`, `!key`, `key=value`, `key==value`, `key!=value`, comma-joined as AND), in
/// any call order, each list in the order given (reversed with `reversed`, to check that no
/// answer depends on it). For tests, benches and fuzzers of `inventory: indexed`, whose calls
/// depend on the request.
#[derive(Debug)]
pub struct MemoryCluster {
    pub vms: Vec<serde_json::Value>,
    pub pods: Vec<serde_json::Value>,
    pub reversed: bool,
    /// The uid of its `kube-system` Namespace; `None`: it has none (not found).
    pub kube_system_uid: Option<String>,
    calls: RefCell<Vec<Call>>,
}

impl Default for MemoryCluster {
    fn default() -> Self {
        MemoryCluster {
            vms: Vec::new(),
            pods: Vec::new(),
            reversed: false,
            kube_system_uid: Some(CLUSTER_UID.to_string()),
            calls: RefCell::default(),
        }
    }
}

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement<'a> {
    Exists(&'a str),
    Absent(&'a str),
    Equals(&'a str, &'a str),
    Differs(&'a str, &'a str),
}

fn parse_selector(selector: &str) -> Result<Vec<Requirement<'_>>, String> {
    selector
        .split(',')
        .map(str::trim)
        .map(|part| {
            let requirement = if let Some((k, v)) = part.split_once("!=") {
                Requirement::Differs(k.trim(), v.trim())
            } else if let Some((k, v)) = part.split_once("==") {
                Requirement::Equals(k.trim(), v.trim())
            } else if let Some((k, v)) = part.split_once('=') {
                Requirement::Equals(k.trim(), v.trim())
            } else if let Some(k) = part.strip_prefix('!') {
                Requirement::Absent(k.trim())
            } else {
                Requirement::Exists(part)
            };
            match requirement {
                Requirement::Exists("") | Requirement::Absent("") => {
                    Err(format!("unable to parse requirement: {part:?}"))
                }
                r => Ok(r),
            }
        })
        .collect()
}

fn matches(object: &serde_json::Value, requirements: &[Requirement<'_>]) -> bool {
    let label = |key: &str| {
        object
            .pointer("/metadata/labels")
            .and_then(|labels| labels.get(key))
            .and_then(serde_json::Value::as_str)
    };
    requirements.iter().all(|r| match *r {
        Requirement::Exists(k) => label(k).is_some(),
        Requirement::Absent(k) => label(k).is_none(),
        Requirement::Equals(k, v) => label(k) == Some(v),
        Requirement::Differs(k, v) => label(k) != Some(v),
    })
}

impl MemoryCluster {
    pub fn new(vms: Vec<serde_json::Value>, pods: Vec<serde_json::Value>) -> Self {
        MemoryCluster {
            vms,
            pods,
            ..Default::default()
        }
    }

    /// The same cluster with `uid` as its `kube-system` Namespace's (`None`: no such Namespace).
    pub fn with_kube_system_uid(mut self, uid: Option<&str>) -> Self {
        self.kube_system_uid = uid.map(str::to_string);
        self
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.borrow().clone()
    }

    /// The label selectors of the list calls made so far, `-` for none, each prefixed with
    /// its kind: `VirtualMachine mac-blocks.kubemacpool.io/3c-3f`.
    pub fn list_calls(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter_map(|call| match call {
                Call::ListAll {
                    kind,
                    label_selector,
                    ..
                } => Some(format!(
                    "{kind} {}",
                    label_selector.as_deref().unwrap_or("-")
                )),
                Call::Get { .. } => None,
            })
            .collect()
    }
}

impl Cluster for MemoryCluster {
    fn list_resources_all(&self, request: &ListAllResourcesRequest) -> Result<Vec<u8>, HostError> {
        self.calls.borrow_mut().push(Call::ListAll {
            api_version: request.api_version.clone(),
            kind: request.kind.clone(),
            label_selector: request.label_selector.clone(),
            field_masks: request.field_masks.iter().flatten().cloned().collect(),
        });
        let objects = match request.kind.as_str() {
            "VirtualMachine" => &self.vms,
            "Pod" => &self.pods,
            other => {
                return Err(HostError::Failed(format!(
                    "MemoryCluster: no list of {other}"
                )));
            }
        };
        let requirements = match &request.label_selector {
            Some(selector) => parse_selector(selector).map_err(HostError::Failed)?,
            None => Vec::new(),
        };
        let mut items: Vec<&serde_json::Value> = objects
            .iter()
            .filter(|o| matches(o, &requirements))
            .collect();
        if self.reversed {
            items.reverse();
        }
        let list = serde_json::json!({
            "apiVersion": "v1", "kind": "List", "metadata": {}, "items": items
        });
        Ok(list.to_string().into_bytes())
    }

    fn get_resource(&self, request: &GetResourceRequest) -> Result<Vec<u8>, HostError> {
        self.calls.borrow_mut().push(Call::Get {
            api_version: request.api_version.clone(),
            kind: request.kind.clone(),
            namespace: request.namespace.clone(),
            name: request.name.clone(),
        });
        if is_seed(request) {
            return match &self.kube_system_uid {
                Some(uid) => Ok(kube_system(uid)),
                None => Err(HostError::NotFound(format!(
                    "Cannot find v1/Namespace named '{SEED_NAME}' inside of namespace 'None'"
                ))),
            };
        }
        let namespace = request.namespace.as_deref().unwrap_or("");
        self.vms
            .iter()
            .find(|vm| {
                vm.pointer("/metadata/name").and_then(serde_json::Value::as_str)
                    == Some(request.name.as_str())
                    && vm.pointer("/metadata/namespace").and_then(serde_json::Value::as_str)
                        == Some(namespace)
            })
            .map(|vm| vm.to_string().into_bytes())
            .ok_or_else(|| {
                HostError::NotFound(format!(
                    "Cannot find kubevirt.io/v1/VirtualMachine named '{}' inside of namespace 'Some(\"{namespace}\")'",
                    request.name
                ))
            })
    }
}
