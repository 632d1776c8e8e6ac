//! What the policy handles (behaviour.md section 1), read once from the raw admission request:
//! which kind, which operation, whether it is an audit re-evaluation (section 10), and the few
//! request fields the handlers use. Everything else passes unchanged.

use kubewarden_policy_sdk::request::KubernetesAdmissionRequest;
use serde_json::Value;

use crate::settings::{AuditDuplicates, Settings};

/// The operations the policy acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
}

/// The kinds the policy acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Pod,
    VirtualMachine,
}

/// A request the policy handles, typed.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub target: Target,
    pub operation: Operation,
    /// The audit scanner re-evaluating a stored object, with `auditDuplicates: report`: it
    /// gets the audit answer instead of an admission's.
    pub audit: bool,
    pub object: &'a Value,
    /// The stored object of an UPDATE; `Value::Null` on CREATE.
    pub old_object: &'a Value,
    uid: &'a str,
    namespace: &'a str,
}

impl<'a> Request<'a> {
    /// The handled request in `request`; `None` for every kind, operation or subresource the
    /// policy does not handle, and for a request without an object.
    pub fn read(request: &'a KubernetesAdmissionRequest, settings: &Settings) -> Option<Self> {
        if !request.sub_resource.is_empty() || !request.object.is_object() {
            return None;
        }
        let operation = match request.operation.as_str() {
            "CREATE" => Operation::Create,
            "UPDATE" => Operation::Update,
            _ => return None,
        };
        let kind = &request.kind;
        let target = match (
            kind.group.as_str(),
            kind.version.as_str(),
            kind.kind.as_str(),
        ) {
            ("", "v1", "Pod") => Target::Pod,
            ("kubevirt.io", "v1", "VirtualMachine") => Target::VirtualMachine,
            _ => return None,
        };
        let audit = settings.audit_duplicates == AuditDuplicates::Report
            && is_reevaluation(operation, &request.object, &request.uid);
        Some(Request {
            target,
            operation,
            audit,
            object: &request.object,
            old_object: &request.old_object,
            uid: &request.uid,
            namespace: &request.namespace,
        })
    }

    /// The namespace of the admitted object: the request's, which the API server always fills,
    /// or the object's own for requests that lack it.
    pub fn namespace(&self, metadata_namespace: &'a str) -> &'a str {
        if self.namespace.is_empty() {
            metadata_namespace
        } else {
            self.namespace
        }
    }

    /// The name the allocation hash uses: the object's name, or for an object created with
    /// `generateName` only, that prefix followed by the request uid (unique per request, and
    /// the same when the same request is evaluated again).
    pub fn hash_name(&self, name: &str, generate_name: &str) -> String {
        if name.is_empty() {
            format!("{generate_name}{}", self.uid)
        } else {
            name.to_string()
        }
    }
}

/// Whether a request is the audit scanner re-evaluating a stored object rather than an
/// admission: a CREATE whose object already has a uid, and that uid is the request's.
///
/// Why this tells them apart: the audit scanner (Kubewarden 1.35, `internal/audit-scanner`)
/// sends the stored object with `operation: CREATE` and uses the object's own `metadata.uid`
/// as the request uid. A real admission carries a fresh request uid, and an object being
/// created has no uid yet (the API server assigns it after admission).
fn is_reevaluation(operation: Operation, object: &Value, request_uid: &str) -> bool {
    let object_uid = object
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("");
    operation == Operation::Create && !object_uid.is_empty() && object_uid == request_uid
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::*;
    use crate::settings::RawSettings;

    const UID: &str = "8c7f3a52-1b7e-4f5c-9d3e-2a6b0c4d5e6f";

    fn request(
        operation: &str,
        request_uid: &str,
        object_uid: Option<&str>,
        dry_run: bool,
    ) -> Value {
        let mut object = json!({
            "apiVersion": "kubevirt.io/v1",
            "kind": "VirtualMachine",
            "metadata": { "name": "a", "namespace": "ns" }
        });
        if let Some(uid) = object_uid {
            object["metadata"]["uid"] = json!(uid);
        }
        json!({
            "uid": request_uid,
            "kind": { "group": "kubevirt.io", "version": "v1", "kind": "VirtualMachine" },
            "resource": { "group": "kubevirt.io", "version": "v1", "resource": "virtualmachines" },
            "operation": operation,
            "userInfo": {},
            "object": object,
            "dryRun": dry_run
        })
    }

    fn audits(request: &Value, audit_duplicates: &str) -> bool {
        let request: KubernetesAdmissionRequest = serde_json::from_value(request.clone()).unwrap();
        let settings = RawSettings::from_json(
            json!({ "auditDuplicates": audit_duplicates })
                .to_string()
                .as_bytes(),
        )
        .unwrap()
        .parse()
        .unwrap();
        Request::read(&request, &settings).is_some_and(|r| r.audit)
    }

    #[rstest]
    #[case::audit_scanner_create_of_the_stored_object("CREATE", UID, Some(UID), false, true)]
    #[case::real_create_object_has_no_uid_yet("CREATE", UID, None, false, false)]
    #[case::real_create_object_with_an_empty_uid("CREATE", UID, Some(""), false, false)]
    #[case::dry_run_create("CREATE", UID, None, true, false)]
    #[case::create_whose_object_uid_is_another(
        "CREATE",
        UID,
        Some("11111111-2222-3333-4444-555555555555"),
        false,
        false
    )]
    #[case::update_of_the_stored_object("UPDATE", UID, Some(UID), false, false)]
    #[case::delete("DELETE", UID, Some(UID), false, false)]
    #[case::both_uids_empty("CREATE", "", Some(""), false, false)]
    fn an_audit_re_evaluation_is_a_create_whose_object_uid_is_the_request_uid(
        #[case] operation: &str,
        #[case] request_uid: &str,
        #[case] object_uid: Option<&str>,
        #[case] dry_run: bool,
        #[case] expected: bool,
    ) {
        let request = request(operation, request_uid, object_uid, dry_run);
        assert_eq!(audits(&request, "report"), expected);
    }

    #[test]
    fn audit_duplicates_ignore_answers_audits_as_admissions() {
        assert!(!audits(&request("CREATE", UID, Some(UID), false), "ignore"));
    }

    #[rstest]
    #[case::a_subresource(json!({ "subResource": "status" }))]
    #[case::a_null_object(json!({ "object": null }))]
    #[case::another_kind(json!({ "kind": { "group": "kubevirt.io", "version": "v1", "kind": "VirtualMachineInstance" } }))]
    #[case::connect(json!({ "operation": "CONNECT" }))]
    fn what_the_policy_does_not_handle_is_not_read(#[case] change: Value) {
        let mut request = request("CREATE", UID, None, false);
        for (key, value) in change.as_object().unwrap() {
            request[key] = value.clone();
        }
        let request: KubernetesAdmissionRequest = serde_json::from_value(request).unwrap();
        assert!(Request::read(&request, &Settings::default()).is_none());
    }
}
