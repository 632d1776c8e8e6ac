//! A lean view of a VirtualMachine's interfaces and networks, shared by the admitted object
//! and the inventory, and the eligibility rule (behaviour.md section 5.3).

use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::mac::Mac;
use crate::metadata::{Metadata, Text};
use crate::scan::{Cursor, ScanError};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct VirtualMachineView<'a> {
    #[serde(borrow)]
    pub metadata: Metadata<'a>,
    #[serde(borrow)]
    pub spec: Option<Spec<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Spec<'a> {
    #[serde(borrow)]
    pub template: Option<Template<'a>>,
}

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

/// Reading a listed VM in one pass with `scan::Cursor` instead of serde: the inventory reads
/// one VM per VirtualMachine in the cluster, and only a few members deep inside each matter.
/// Any string with escapes, or a value of an unexpected type, ends the pass with an error and
/// the caller reads the item with serde, which decides.
mod listed {
    use std::borrow::Cow;

    use serde::de::IgnoredAny;

    use super::{
        Devices, Domain, Interface, Network, Spec, Template, TemplateSpec, VirtualMachineView,
    };
    use crate::metadata::{Metadata, Text};
    use crate::scan::{Cursor, ScanError};

    type Read<T> = Result<T, ScanError>;

    fn text<'a>(c: &mut Cursor<'a>) -> Read<Text<'a>> {
        c.plain_str().map(|s| Text(Cow::Borrowed(s)))
    }

    fn marker(c: &mut Cursor<'_>) -> Read<Option<IgnoredAny>> {
        Ok(c.present()?.then_some(IgnoredAny))
    }

    /// An `Option<T>` member: `None` for `null`.
    fn optional<'a, T>(
        c: &mut Cursor<'a>,
        read: fn(&mut Cursor<'a>) -> Read<T>,
    ) -> Read<Option<T>> {
        if c.null()? {
            Ok(None)
        } else {
            read(c).map(Some)
        }
    }

    fn list<'a, T>(c: &mut Cursor<'a>, read: fn(&mut Cursor<'a>) -> Read<T>) -> Read<Vec<T>> {
        let mut out = Vec::new();
        c.array(|c| {
            out.push(read(c)?);
            Ok(())
        })?;
        Ok(out)
    }

    fn interface<'a>(c: &mut Cursor<'a>) -> Read<Interface<'a>> {
        let mut interface = Interface::default();
        c.object(|key, c| {
            match key {
                b"name" => interface.name = text(c)?,
                b"macAddress" => interface.mac_address = text(c)?,
                b"masquerade" => interface.masquerade = marker(c)?,
                _ => c.skip()?,
            }
            Ok(())
        })?;
        Ok(interface)
    }

    fn network<'a>(c: &mut Cursor<'a>) -> Read<Network<'a>> {
        let mut network = Network::default();
        c.object(|key, c| {
            match key {
                b"name" => network.name = text(c)?,
                b"multus" => network.multus = marker(c)?,
                _ => c.skip()?,
            }
            Ok(())
        })?;
        Ok(network)
    }

    fn interfaces<'a>(c: &mut Cursor<'a>) -> Read<Vec<Interface<'a>>> {
        list(c, interface)
    }

    fn networks<'a>(c: &mut Cursor<'a>) -> Read<Vec<Network<'a>>> {
        list(c, network)
    }

    fn devices<'a>(c: &mut Cursor<'a>) -> Read<Devices<'a>> {
        let mut devices = Devices::default();
        c.object(|key, c| {
            match key {
                b"interfaces" => devices.interfaces = optional(c, interfaces)?,
                _ => c.skip()?,
            }
            Ok(())
        })?;
        Ok(devices)
    }

    fn domain<'a>(c: &mut Cursor<'a>) -> Read<Domain<'a>> {
        let mut domain = Domain::default();
        c.object(|key, c| {
            match key {
                b"devices" => domain.devices = optional(c, devices)?,
                _ => c.skip()?,
            }
            Ok(())
        })?;
        Ok(domain)
    }

    fn template_spec<'a>(c: &mut Cursor<'a>) -> Read<TemplateSpec<'a>> {
        let mut spec = TemplateSpec::default();
        c.object(|key, c| {
            match key {
                b"domain" => spec.domain = optional(c, domain)?,
                b"networks" => spec.networks = optional(c, networks)?,
                _ => c.skip()?,
            }
            Ok(())
        })?;
        Ok(spec)
    }

    fn template<'a>(c: &mut Cursor<'a>) -> Read<Template<'a>> {
        let mut template = Template::default();
        c.object(|key, c| {
            match key {
                b"spec" => template.spec = optional(c, template_spec)?,
                _ => c.skip()?,
            }
            Ok(())
        })?;
        Ok(template)
    }

    fn spec<'a>(c: &mut Cursor<'a>) -> Read<Spec<'a>> {
        let mut spec = Spec::default();
        c.object(|key, c| {
            match key {
                b"template" => spec.template = optional(c, template)?,
                _ => c.skip()?,
            }
            Ok(())
        })?;
        Ok(spec)
    }

    fn metadata<'a>(c: &mut Cursor<'a>) -> Read<Metadata<'a>> {
        let mut metadata = Metadata::default();
        c.object(|key, c| {
            match key {
                b"name" => metadata.name = text(c)?,
                b"generateName" => metadata.generate_name = text(c)?,
                b"namespace" => metadata.namespace = text(c)?,
                b"deletionTimestamp" => metadata.deletion_timestamp = marker(c)?,
                _ => c.skip()?,
            }
            Ok(())
        })?;
        Ok(metadata)
    }

    pub fn vm<'a>(c: &mut Cursor<'a>) -> Read<VirtualMachineView<'a>> {
        let mut vm = VirtualMachineView::default();
        c.object(|key, c| {
            match key {
                b"metadata" => vm.metadata = metadata(c)?,
                b"spec" => vm.spec = optional(c, spec)?,
                _ => c.skip()?,
            }
            Ok(())
        })?;
        Ok(vm)
    }
}

impl<'a> VirtualMachineView<'a> {
    /// Reads the listed VM at the cursor and moves past it: in the same pass when its strings
    /// are plain (the usual case), else with serde. `Ok(None)` when serde cannot read it
    /// either; `Err` only when the list itself is broken.
    pub fn read_listed(c: &mut Cursor<'a>) -> Result<Option<VirtualMachineView<'a>>, ScanError> {
        let start = c.position();
        if let Ok(vm) = listed::vm(c) {
            return Ok(Some(vm));
        }
        c.seek(start);
        c.skip()?;
        Ok(serde_json::from_slice(c.since(start)).ok())
    }

    /// Reads one listed VM given alone (see `read_listed`).
    pub fn from_listed(item: &'a [u8]) -> Option<VirtualMachineView<'a>> {
        Self::read_listed(&mut Cursor::new(item)).ok().flatten()
    }
}
