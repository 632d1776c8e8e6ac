//! Audit re-evaluations (behaviour.md section 10): Kubewarden's audit scanner sends every stored
//! object through the policy again; with `auditDuplicates: report` a MAC that another owner
//! holds makes the answer a rejection, which the PolicyReport records as `fail`.

use std::fmt;

use kubewarden_policy_sdk::request::KubernetesAdmissionRequest;

use crate::cluster::Cluster;
use crate::inventory::{Inventory, InventoryError};
use crate::mac::Mac;
use crate::owner::{self, Identity, Owner};
use crate::settings::{AuditDuplicates, Settings};
use crate::verdict::Verdict;

/// Whether `request` is the audit scanner re-evaluating a stored object rather than an
/// admission: a CREATE whose object already has a uid, and that uid is the request's.
///
/// Why this tells them apart: the audit scanner (Kubewarden 1.35, `internal/audit-scanner`)
/// sends the stored object with `operation: CREATE` and uses the object's own `metadata.uid`
/// as the request uid. A real admission carries a fresh request uid, and an object being
/// created has no uid yet (the API server assigns it after admission).
pub fn is_reevaluation(request: &KubernetesAdmissionRequest) -> bool {
    let object_uid = request
        .object
        .pointer("/metadata/uid")
        .and_then(|uid| uid.as_str())
        .unwrap_or("");
    request.operation == "CREATE" && !object_uid.is_empty() && object_uid == request.uid
}

/// Whether `request` gets the audit answer: a re-evaluation, with `auditDuplicates: report`.
/// With `ignore`, audits are answered as admissions are.
pub fn reports(request: &KubernetesAdmissionRequest, settings: &Settings) -> bool {
    settings.audit_duplicates == AuditDuplicates::Report && is_reevaluation(request)
}

/// One MAC of the audited object that other owners hold too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    pub mac: Mac,
    /// Where the object holds it: `interface net1`, `network blue-net`.
    pub place: String,
    /// Every other owner, sorted by kind, namespace and name.
    pub owners: Vec<Owner>,
}

impl fmt::Display for Collision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MAC collision: {} on {} is also held by {}",
            self.mac,
            self.place,
            owner::join(&self.owners)
        )
    }
}

/// The audit's answer for an object that holds `held` (each MAC with its place): a rejection
/// (409) naming every collision, or an acceptance without a patch. The inventory is read only
/// when the object holds a MAC; a failed read fails closed, as an admission does.
pub fn report(
    cluster: &impl Cluster,
    settings: &Settings,
    identity: &Identity<'_>,
    held: &[(Mac, String)],
) -> Result<Verdict, InventoryError> {
    if held.is_empty() {
        return Ok(Verdict::accept());
    }
    let inventory = Inventory::load(cluster, settings.inventory)?;
    let collisions: Vec<String> = held
        .iter()
        .filter_map(|(mac, place)| {
            let owners = inventory.other_holders(*mac, identity);
            (!owners.is_empty()).then(|| {
                Collision {
                    mac: *mac,
                    place: place.clone(),
                    owners,
                }
                .to_string()
            })
        })
        .collect();
    Ok(if collisions.is_empty() {
        Verdict::accept()
    } else {
        Verdict::Reject {
            message: collisions.join("; "),
            code: 409,
        }
    })
}
