//! The policy's answer to one request, and how it becomes a Kubewarden `ValidationResponse`.

use kubewarden_policy_sdk::response::ValidationResponse;
use serde_json::Value;

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
