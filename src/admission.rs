//! What the policy handles (behaviour.md section 1) and how its answer becomes a Kubewarden
//! `ValidationResponse`.

use kubewarden_policy_sdk::request::KubernetesAdmissionRequest;
use kubewarden_policy_sdk::response::ValidationResponse;
use serde_json::Value;

use crate::cluster::Cluster;
use crate::inventory::{TRACKED_LABEL, TRACKED_VALUE};
use crate::settings::Settings;
use crate::{pod, virtual_machine};

/// The policy's answer to one admission request.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Accepted; `mutated` is the whole new object when the policy changed it.
    Accept {
        mutated: Option<Value>,
        warnings: Vec<String>,
    },
    Reject {
        message: String,
        code: u16,
    },
}

impl Verdict {
    pub fn accept() -> Verdict {
        Verdict::Accept {
            mutated: None,
            warnings: Vec::new(),
        }
    }

    /// Accepts `mutated` when it differs from `original`, else accepts unchanged.
    pub fn changed(original: &Value, mutated: Value, warnings: Vec<String>) -> Verdict {
        Verdict::Accept {
            mutated: (mutated != *original).then_some(mutated),
            warnings,
        }
    }

    pub fn into_response(self) -> ValidationResponse {
        match self {
            Verdict::Accept { mutated, warnings } => ValidationResponse {
                accepted: true,
                message: None,
                code: None,
                mutated_object: mutated,
                audit_annotations: None,
                warnings: (!warnings.is_empty()).then_some(warnings),
            },
            Verdict::Reject { message, code } => ValidationResponse {
                accepted: false,
                message: Some(message),
                code: Some(code),
                mutated_object: None,
                audit_annotations: None,
                warnings: None,
            },
        }
    }
}

/// The operations the policy acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
}

/// Routes a request: Pod CREATE and VirtualMachine CREATE/UPDATE are handled; every other
/// kind, operation or subresource, and a request without an object, pass unchanged.
pub fn admit(
    request: &KubernetesAdmissionRequest,
    settings: &Settings,
    cluster: &impl Cluster,
) -> Verdict {
    if !request.sub_resource.is_empty() || !request.object.is_object() {
        return Verdict::accept();
    }
    let kind = &request.kind;
    let operation = match request.operation.as_str() {
        "CREATE" => Operation::Create,
        "UPDATE" => Operation::Update,
        _ => return Verdict::accept(),
    };
    match (
        kind.group.as_str(),
        kind.version.as_str(),
        kind.kind.as_str(),
        operation,
    ) {
        ("", "v1", "Pod", Operation::Create) => pod::admit(request, settings, cluster),
        ("kubevirt.io", "v1", "VirtualMachine", operation) => {
            virtual_machine::admit(request, operation, settings, cluster)
        }
        _ => Verdict::accept(),
    }
}

/// The namespace of the admitted object: the request's, which the API server always fills,
/// or the object's own for requests that lack it.
pub fn namespace_of<'a>(
    request: &'a KubernetesAdmissionRequest,
    metadata_namespace: &'a str,
) -> &'a str {
    if request.namespace.is_empty() {
        metadata_namespace
    } else {
        &request.namespace
    }
}

/// The name the allocation hash uses: the object's name, or for an object created with
/// `generateName` only, that prefix followed by the request uid (unique per request, and the
/// same when the same request is evaluated again).
pub fn hash_name(request: &KubernetesAdmissionRequest, name: &str, generate_name: &str) -> String {
    if name.is_empty() {
        format!("{generate_name}{}", request.uid)
    } else {
        name.to_string()
    }
}

/// Puts the tracking label on an object that holds at least one MAC.
pub fn add_tracking_label(object: &mut Value) {
    let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let labels = metadata
        .entry("labels")
        .or_insert_with(|| Value::Object(Default::default()));
    if !labels.is_object() {
        *labels = Value::Object(Default::default());
    }
    if let Some(labels) = labels.as_object_mut() {
        labels.insert(
            TRACKED_LABEL.to_string(),
            Value::String(TRACKED_VALUE.to_string()),
        );
    }
}
