//! The one seam between the policy and the Kubewarden host's Kubernetes capabilities. The
//! policy builds its requests with the SDK's types and hands raw responses to its own lean
//! parsers; tests, benches and fuzzers swap the host for `FakeCluster`.

use std::cell::RefCell;
use std::collections::VecDeque;

use kubewarden_policy_sdk::host_capabilities::kubernetes::{
    GetResourceRequest, ListAllResourcesRequest,
};

/// The host calls the policy makes.
pub trait Cluster {
    /// `kubernetes/list_resources_all`: the raw Kubernetes List, or the host's error text.
    fn list_resources_all(&self, request: &ListAllResourcesRequest) -> Result<Vec<u8>, String>;
    /// `kubernetes/get_resource`: the raw object, or the host's error text.
    fn get_resource(&self, request: &GetResourceRequest) -> Result<Vec<u8>, String>;
}

/// The Kubewarden host, through waPC.
pub struct KubewardenHost;

impl KubewardenHost {
    fn call(operation: &str, request: &impl serde::Serialize) -> Result<Vec<u8>, String> {
        let payload = serde_json::to_vec(request).map_err(|e| e.to_string())?;
        wapc_guest::host_call("kubewarden", "kubernetes", operation, &payload)
            .map_err(|e| e.to_string())
    }
}

impl Cluster for KubewardenHost {
    fn list_resources_all(&self, request: &ListAllResourcesRequest) -> Result<Vec<u8>, String> {
        Self::call("list_resources_all", request)
    }

    fn get_resource(&self, request: &GetResourceRequest) -> Result<Vec<u8>, String> {
        Self::call("get_resource", request)
    }
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
/// every call, so tests can assert both what the policy asked and how often.
#[derive(Debug, Default)]
pub struct FakeCluster {
    responses: RefCell<VecDeque<Result<Vec<u8>, String>>>,
    calls: RefCell<Vec<Call>>,
}

impl FakeCluster {
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues the answer to the next call.
    pub fn then(self, response: Result<Vec<u8>, String>) -> Self {
        self.responses.borrow_mut().push_back(response);
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

    fn answer(&self, call: Call) -> Result<Vec<u8>, String> {
        self.calls.borrow_mut().push(call.clone());
        self.responses
            .borrow_mut()
            .pop_front()
            .unwrap_or_else(|| Err(format!("FakeCluster: no answer queued for {call:?}")))
    }
}

impl Cluster for FakeCluster {
    fn list_resources_all(&self, request: &ListAllResourcesRequest) -> Result<Vec<u8>, String> {
        self.answer(Call::ListAll {
            api_version: request.api_version.clone(),
            kind: request.kind.clone(),
            label_selector: request.label_selector.clone(),
            field_masks: request.field_masks.iter().flatten().cloned().collect(),
        })
    }

    fn get_resource(&self, request: &GetResourceRequest) -> Result<Vec<u8>, String> {
        self.answer(Call::Get {
            api_version: request.api_version.clone(),
            kind: request.kind.clone(),
            namespace: request.namespace.clone(),
            name: request.name.clone(),
        })
    }
}
