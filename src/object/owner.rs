//! Who holds a MAC: the object kinds of the inventory and the identity rule that makes a
//! VirtualMachine and the launcher pods of its VirtualMachineInstance one owner.

use std::fmt;

/// The kinds that hold MACs. The order (by name) is the order owners are listed in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Pod,
    VirtualMachine,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Pod => "Pod",
            Kind::VirtualMachine => "VirtualMachine",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An object that holds MACs, as named in warnings and rejections.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Owner {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
    /// For a virt-launcher pod: the name of the VirtualMachineInstance that owns it, which is
    /// also the name of its VirtualMachine, if it has one.
    pub launcher_of: Option<String>,
}

/// What "the same owner" means: a VM, and every launcher pod of a VMI of the VM's name in the
/// same namespace, are one; any other pod is itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity<'a> {
    pub family: Kind,
    pub namespace: &'a str,
    pub name: &'a str,
}

impl<'a> Identity<'a> {
    /// The identity of an object of `kind`; `launcher_of` names the VirtualMachineInstance
    /// that owns a virt-launcher pod, which makes the pod one owner with the VM of that name.
    pub fn of(kind: Kind, namespace: &'a str, name: &'a str, launcher_of: Option<&'a str>) -> Self {
        match (kind, launcher_of) {
            (Kind::Pod, Some(vmi)) => Identity {
                family: Kind::VirtualMachine,
                namespace,
                name: vmi,
            },
            (kind, _) => Identity {
                family: kind,
                namespace,
                name,
            },
        }
    }
}

impl Owner {
    pub fn identity(&self) -> Identity<'_> {
        Identity::of(
            self.kind,
            &self.namespace,
            &self.name,
            self.launcher_of.as_deref(),
        )
    }
}

/// `Pod ns/name`, as Kubemacpool names owners.
impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// Owners as messages list them: `VirtualMachine ns/a, Pod ns/b`.
pub fn join(owners: &[Owner]) -> String {
    owners
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
