//! What the policy handles (behaviour.md section 1): the routing of a request to the Pod or
//! VirtualMachine handler; everything else passes unchanged.

use kubewarden_policy_sdk::request::KubernetesAdmissionRequest;

use crate::host::Cluster;
use crate::object::Operation;
use crate::settings::Settings;
use crate::verdict::Verdict;
use crate::{audit, pod, vm};

/// Routes a request: Pod and VirtualMachine CREATE and UPDATE are handled, an audit
/// re-evaluation of either by its audit path; every other kind, operation or subresource, and
/// a request without an object, pass unchanged.
pub fn admit(
    request: &KubernetesAdmissionRequest,
    settings: &Settings,
    cluster: &impl Cluster,
) -> Verdict {
    if !request.sub_resource.is_empty() || !request.object.is_object() {
        return Verdict::accept();
    }
    let kind = &request.kind;
    let audit = audit::reports(request, settings);
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
        ("", "v1", "Pod", Operation::Create) if audit => pod::audit(request, settings, cluster),
        ("", "v1", "Pod", Operation::Create) => pod::admit(request, settings, cluster),
        ("", "v1", "Pod", Operation::Update) => pod::update(request, settings, cluster),
        ("kubevirt.io", "v1", "VirtualMachine", Operation::Create) if audit => {
            vm::audit(request, settings, cluster)
        }
        ("kubevirt.io", "v1", "VirtualMachine", operation) => {
            vm::admit(request, operation, settings, cluster)
        }
        _ => Verdict::accept(),
    }
}
