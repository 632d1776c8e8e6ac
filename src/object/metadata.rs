//! Lean, borrowing views of the object metadata the policy reads. Inventory lists can hold
//! 100,000 pods: nothing here copies a string that is only compared, and annotations other
//! than the Multus keys are skipped without being materialised.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::keys::{NETWORK_STATUS_ANNOTATION, NETWORKS_ANNOTATION};

/// A string borrowed from the payload when it has no escapes, copied otherwise. Also accepts
/// `impl Deserialize for $ty<'a>` through a visitor that `deserialize_any` drives: a JSON
/// `null` reads as the type's default (as Go clients read a missing or null field), and the
/// `visit_*` methods given read everything else.
macro_rules! deserialize_any_or_null {
    ($ty:ident, $expecting:literal, { $($visit:tt)* }) => {
        impl<'de: 'a, 'a> Deserialize<'de> for $ty<'a> {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct ValueVisitor;

                impl<'de> Visitor<'de> for ValueVisitor {
                    type Value = $ty<'de>;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }

                    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                        Ok(Self::Value::default())
                    }

                    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                        Ok(Self::Value::default())
                    }

                    $($visit)*
                }

                deserializer.deserialize_any(ValueVisitor)
            }
        }
    };
}

/// `null` as the empty string, as Go clients read it.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Text<'a>(pub Cow<'a, str>);

impl Deref for Text<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

deserialize_any_or_null!(Text, "a string", {
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v.to_string())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v)))
    }
});

/// `metadata`, as far as the policy reads it of any object: who it is and whether it is
/// being deleted.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Metadata<'a> {
    #[serde(borrow)]
    pub name: Text<'a>,
    #[serde(borrow)]
    pub generate_name: Text<'a>,
    #[serde(borrow)]
    pub namespace: Text<'a>,
    pub deletion_timestamp: Option<IgnoredAny>,
}

/// An admitted Pod's `metadata`: what any object's says (its `Metadata`, which it derefs to),
/// its owners and its Multus annotations.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PodMetadata<'a> {
    #[serde(flatten, borrow)]
    pub object: Metadata<'a>,
    #[serde(borrow)]
    pub owner_references: Option<Vec<OwnerReference<'a>>>,
    #[serde(borrow)]
    pub annotations: NetworkAnnotations<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OwnerReference<'a> {
    #[serde(borrow)]
    pub kind: Text<'a>,
    #[serde(borrow)]
    pub name: Text<'a>,
}

/// The kind of the owner reference that marks a virt-launcher pod.
pub const VMI_KIND: &str = "VirtualMachineInstance";

/// For a virt-launcher pod, the name of the VirtualMachineInstance among its owners.
pub fn launcher_of<'r>(owner_references: &'r [OwnerReference<'_>]) -> Option<&'r str> {
    owner_references
        .iter()
        .find(|r| &*r.kind == VMI_KIND)
        .map(|r| &*r.name)
}

impl<'a> Deref for PodMetadata<'a> {
    type Target = Metadata<'a>;

    fn deref(&self) -> &Metadata<'a> {
        &self.object
    }
}

impl PodMetadata<'_> {
    /// For a virt-launcher pod, the name of the VirtualMachineInstance that owns it.
    pub fn launcher_of(&self) -> Option<&str> {
        launcher_of(self.owner_references.as_deref().unwrap_or_default())
    }
}

/// A listed Pod's metadata, read for the inventory: 100,000 of these per admission in a large
/// cluster, and only the few with a Multus annotation matter. Their owner references are kept
/// unread (a borrowed slice of the payload) until the pod turns out to hold a MAC.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ListedPodMetadata<'a> {
    #[serde(borrow)]
    pub name: Text<'a>,
    #[serde(borrow)]
    pub namespace: Text<'a>,
    #[serde(borrow)]
    pub owner_references: Option<&'a serde_json::value::RawValue>,
    #[serde(borrow)]
    pub annotations: NetworkAnnotations<'a>,
}

impl ListedPodMetadata<'_> {
    /// The owning VirtualMachineInstance's name, read now; unreadable references count as none.
    pub fn launcher_of(&self) -> Option<String> {
        let raw = self.owner_references?;
        let references: Vec<OwnerReference<'_>> = serde_json::from_str(raw.get()).ok()?;
        launcher_of(&references).map(str::to_string)
    }
}

/// The two Multus annotations the policy reads, picked out of the annotation map while it is
/// being read; every other annotation is skipped.
#[derive(Debug, Default)]
pub struct NetworkAnnotations<'a> {
    /// `k8s.v1.cni.cncf.io/networks`.
    pub networks: Option<Text<'a>>,
    /// `k8s.v1.cni.cncf.io/network-status` is present.
    pub has_network_status: bool,
}

deserialize_any_or_null!(NetworkAnnotations, "a map of annotations", {
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = NetworkAnnotations::default();
        while let Some(key) = map.next_key::<Text<'_>>()? {
            match &*key {
                NETWORKS_ANNOTATION => found.networks = Some(map.next_value()?),
                NETWORK_STATUS_ANNOTATION => {
                    map.next_value::<IgnoredAny>()?;
                    found.has_network_status = true;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }
});
