//! The policy's answer to one request, and how it becomes a Kubewarden `ValidationResponse`.

use std::collections::HashMap;

use kubewarden_policy_sdk::response::ValidationResponse;
use serde_json::Value;

/// The audit annotation that repeats the admission warnings about requested MACs that other
/// owners hold (behaviour.md section 6): warnings reach only the client, and for objects that
/// controllers create (restores, pools, migration tools) that is a log nobody reads, while the
/// API server's audit log keeps the annotation.
pub const DUPLICATE_MAC_AUDIT_ANNOTATION: &str = "duplicate-mac";

/// The policy's answer to one admission request.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Accepted; `mutated` is the whole new object when the policy changed it. `warnings`
    /// name requested MACs that other owners hold: each is also in the audit annotation.
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
                audit_annotations: (!warnings.is_empty()).then(|| {
                    HashMap::from([(
                        DUPLICATE_MAC_AUDIT_ANNOTATION.to_string(),
                        warnings.join("; "),
                    )])
                }),
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
