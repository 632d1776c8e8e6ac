//! A lean view of a VirtualMachine's interfaces and networks, shared by the admitted object
//! and the inventory, and the eligibility rule (behaviour.md section 5.3).

use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::mac::Mac;
use crate::object::metadata::{Metadata, Text};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct VirtualMachineView<'a> {
    #[serde(borrow)]
    pub metadata: Metadata<'a>,
    #[serde(borrow)]
    pub spec: Option<Spec<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Spec<'a> {
    #[serde(borrow)]
    pub template: Option<Template<'a>>,
    #[serde(borrow)]
    pub run_strategy: Text<'a>,
}

/// `spec.runStrategy` of the receiving end of a decentralized live migration, created with its
/// source's MACs on purpose (behaviour.md section 6).
pub const WAIT_AS_RECEIVER: &str = "WaitAsReceiver";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Template<'a> {
    #[serde(borrow)]
    pub spec: Option<TemplateSpec<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TemplateSpec<'a> {
    #[serde(borrow)]
    pub domain: Option<Domain<'a>>,
    #[serde(borrow)]
    pub networks: Option<Vec<Network<'a>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Domain<'a> {
    #[serde(borrow)]
    pub devices: Option<Devices<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Devices<'a> {
    #[serde(borrow)]
    pub interfaces: Option<Vec<Interface<'a>>>,
}

/// `spec.template.spec.domain.devices.interfaces[]`. Of the binding methods only masquerade
/// matters: every other one is eligible exactly when its network is a Multus one.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Interface<'a> {
    #[serde(borrow)]
    pub name: Text<'a>,
    #[serde(borrow)]
    pub mac_address: Text<'a>,
    pub masquerade: Option<IgnoredAny>,
}

/// `spec.template.spec.networks[]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Network<'a> {
    #[serde(borrow)]
    pub name: Text<'a>,
    pub multus: Option<IgnoredAny>,
}

/// One interface, joined with its network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nic<'a> {
    pub name: &'a str,
    /// `macAddress` as written; `None` when absent or empty.
    pub mac: Option<&'a str>,
    /// Whether the policy allocates a MAC for it (and counts its MAC as held).
    pub eligible: bool,
}

impl Nic<'_> {
    /// Where the VM holds the interface's MAC, as warnings and audit reports name it.
    pub fn place(&self) -> String {
        format!("interface {}", self.name)
    }
}

/// Kubemacpool allocates for masquerade (on any network) and for every binding on a Multus
/// network; bridge, passt, slirp or a binding plugin on the pod network get their MAC from
/// KubeVirt inside the pod's own network namespace, where it cannot collide.
pub fn is_eligible(masquerade: bool, multus_network: bool) -> bool {
    masquerade || multus_network
}

impl<'a> VirtualMachineView<'a> {
    fn template_spec(&self) -> Option<&TemplateSpec<'a>> {
        self.spec.as_ref()?.template.as_ref()?.spec.as_ref()
    }

    /// `spec.runStrategy: WaitAsReceiver`: the receiving end of a live migration.
    pub fn receives_migration(&self) -> bool {
        self.spec
            .as_ref()
            .is_some_and(|s| &*s.run_strategy == WAIT_AS_RECEIVER)
    }

    /// `spec.template` is present.
    pub fn has_template(&self) -> bool {
        self.spec.as_ref().is_some_and(|s| s.template.is_some())
    }

    /// The interfaces in order, each joined with its network by name.
    pub fn nics(&self) -> Vec<Nic<'_>> {
        let Some(spec) = self.template_spec() else {
            return Vec::new();
        };
        let networks = spec.networks.as_deref().unwrap_or_default();
        let interfaces = spec
            .domain
            .as_ref()
            .and_then(|d| d.devices.as_ref())
            .and_then(|d| d.interfaces.as_deref())
            .unwrap_or_default();
        interfaces
            .iter()
            .map(|interface| {
                let multus = networks
                    .iter()
                    .any(|n| *n.name == *interface.name && n.multus.is_some());
                Nic {
                    name: &interface.name,
                    mac: Some(&*interface.mac_address).filter(|m| !m.is_empty()),
                    eligible: is_eligible(interface.masquerade.is_some(), multus),
                }
            })
            .collect()
    }

    /// The MACs this VM holds in the inventory: those of its eligible interfaces that parse.
    pub fn held_macs(&self) -> impl Iterator<Item = Mac> + '_ {
        self.nics()
            .into_iter()
            .filter(|nic| nic.eligible)
            .filter_map(|nic| Mac::parse(nic.mac?).ok())
    }
}
