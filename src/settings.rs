//! Policy settings (behaviour.md section 2): the keys users write, their defaults, and the
//! validation that turns them into the typed `Settings` the handlers use.

use std::fmt;

use kubewarden_policy_sdk::settings::{SettingsValidationResponse, Validatable};
use serde::{Deserialize, Serialize};

use crate::mac::pool::{MacRange, ParseRangeError, Pool};
use crate::mac::{Mac, ParseMacError};

pub const DEFAULT_RANGE_START: &str = "02:00:00:00:00:00";
pub const DEFAULT_RANGE_END: &str = "02:FF:FF:FF:FF:FF";

/// The settings exactly as written in the ClusterAdmissionPolicy. Values stay strings here so
/// that a bad one is reported with its key and value, which serde's enum errors do not do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct RawSettings {
    pub range_start: String,
    pub range_end: String,
    pub excluded_macs: Vec<String>,
    pub duplicate_macs: String,
    pub inventory: String,
    pub audit_duplicates: String,
    pub pod_short_form: String,
    pub seed: String,
}

impl Default for RawSettings {
    fn default() -> Self {
        RawSettings {
            range_start: DEFAULT_RANGE_START.to_string(),
            range_end: DEFAULT_RANGE_END.to_string(),
            excluded_macs: Vec::new(),
            duplicate_macs: DuplicateMacs::Warn.to_string(),
            inventory: InventoryMode::Indexed.to_string(),
            audit_duplicates: AuditDuplicates::Report.to_string(),
            pod_short_form: PodShortForm::Convert.to_string(),
            seed: String::new(),
        }
    }
}

/// What happens when a user asks for a MAC that another object already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplicateMacs {
    Warn,
    Reject,
    Allow,
}

/// Which cluster objects are listed to build the used set (behaviour.md section 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InventoryMode {
    /// Only the objects labelled with the blocks (fifth octets) a request needs, plus those not
    /// indexed yet (behaviour.md 7.1): the cost of an admission does not grow with the cluster.
    Indexed,
    /// Every VirtualMachine, and only the Pods carrying the tracking label: virt-launcher pods
    /// hold their VM's MACs, which the VM list already has, so the pods that hold MACs of their
    /// own are those the policy admitted (and labelled) plus those the adoption step labels.
    PodsTracked,
    /// Every VirtualMachine and Pod: for clusters whose MAC-holding pods are not labelled yet.
    All,
    /// Only objects carrying the tracking label.
    Tracked,
}

/// What an audit re-evaluation of a stored object does when another owner holds one of its
/// MACs (behaviour.md section 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditDuplicates {
    /// Reject, naming the other owners: the PolicyReport shows the collision as `fail`.
    Report,
    /// Answer audits like admissions.
    Ignore,
}

/// What to do with the comma-separated form of the Multus annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodShortForm {
    Convert,
    Ignore,
}

/// A setting whose value is one of a fixed set of words.
pub trait Choice: Copy + 'static {
    /// The settings key, for messages.
    const KEY: &'static str;
    const ALL: &'static [Self];
    fn as_str(self) -> &'static str;

    fn parse_choice(value: &str) -> Result<Self, SettingsError> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.as_str() == value)
            .ok_or_else(|| SettingsError::UnknownValue {
                key: Self::KEY,
                value: value.to_string(),
                expected: Self::ALL.iter().map(|v| v.as_str()).collect(),
            })
    }
}

/// Spells each enum both ways (parse and display) from one table, so they cannot drift.
macro_rules! choice {
    ($ty:ident, $key:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl Choice for $ty {
            const KEY: &'static str = $key;
            const ALL: &'static [$ty] = &[$($ty::$variant),+];

            fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

choice!(DuplicateMacs, "duplicateMacs" { Warn => "warn", Reject => "reject", Allow => "allow" });
choice!(InventoryMode, "inventory" { Indexed => "indexed", PodsTracked => "pods-tracked", All => "all", Tracked => "tracked" });
choice!(AuditDuplicates, "auditDuplicates" { Report => "report", Ignore => "ignore" });
choice!(PodShortForm, "podShortForm" { Convert => "convert", Ignore => "ignore" });

/// Validated settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub range_start: Mac,
    pub range_end: Mac,
    pub excluded: Vec<MacRange>,
    pub pool: Pool,
    pub duplicate_macs: DuplicateMacs,
    pub inventory: InventoryMode,
    pub audit_duplicates: AuditDuplicates,
    pub pod_short_form: PodShortForm,
    pub seed: String,
}

impl Default for Settings {
    fn default() -> Self {
        RawSettings::default()
            .parse()
            .unwrap_or_else(|e| unreachable!("the default settings are valid: {e}"))
    }
}

/// Which end of the range a `RangeEndError` is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeEnd {
    Start,
    End,
}

/// Why settings are invalid. `Display` is the message users see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// Not a JSON object of the known keys, or a value of the wrong JSON type.
    #[error("invalid settings: {0}")]
    Malformed(String),
    /// `rangeStart` or `rangeEnd` is not a MAC.
    #[error("{0}: {1}")]
    RangeEndNotMac(RangeEnd, ParseMacError),
    /// `rangeStart` or `rangeEnd` has the multicast bit set.
    #[error(
        "{0}: invalid mac address. Multicast addressing is not supported. Unicast addressing must be used. The first octet is 0X{first:X}",
        first = .1.first_octet()
    )]
    RangeEndMulticast(RangeEnd, Mac),
    /// `rangeStart` is not below `rangeEnd`.
    #[error("invalid range. rangeStart: {start} rangeEnd: {end}")]
    RangeOrder { start: Mac, end: Mac },
    #[error("invalid excludedMacs entry \"{entry}\": {error}")]
    ExcludedMac {
        entry: String,
        error: ParseRangeError,
    },
    #[error("invalid {key} value \"{value}\": expected one of {}", expected.join(", "))]
    UnknownValue {
        key: &'static str,
        value: String,
        expected: Vec<&'static str>,
    },
}

impl fmt::Display for RangeEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RangeEnd::Start => "invalid range start",
            RangeEnd::End => "invalid range end",
        })
    }
}

fn range_end(which: RangeEnd, text: &str) -> Result<Mac, SettingsError> {
    let mac = Mac::parse(text).map_err(|e| SettingsError::RangeEndNotMac(which, e))?;
    if mac.is_multicast() {
        return Err(SettingsError::RangeEndMulticast(which, mac));
    }
    Ok(mac)
}

impl RawSettings {
    /// Checks every key and builds the typed settings, pool included.
    pub fn parse(&self) -> Result<Settings, SettingsError> {
        let range_start = range_end(RangeEnd::Start, &self.range_start)?;
        let range_end = range_end(RangeEnd::End, &self.range_end)?;
        if range_start >= range_end {
            return Err(SettingsError::RangeOrder {
                start: range_start,
                end: range_end,
            });
        }
        let excluded = self
            .excluded_macs
            .iter()
            .map(|entry| {
                MacRange::parse(entry).map_err(|error| SettingsError::ExcludedMac {
                    entry: entry.clone(),
                    error,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Settings {
            pool: Pool::new(range_start, range_end, &excluded),
            range_start,
            range_end,
            excluded,
            duplicate_macs: Choice::parse_choice(&self.duplicate_macs)?,
            inventory: Choice::parse_choice(&self.inventory)?,
            audit_duplicates: Choice::parse_choice(&self.audit_duplicates)?,
            pod_short_form: Choice::parse_choice(&self.pod_short_form)?,
            seed: self.seed.clone(),
        })
    }

    /// Reads settings JSON, naming the offending key on a type error. `null` means "all
    /// defaults", as an empty `settings:` in a policy manifest sends it.
    pub fn from_json(payload: &[u8]) -> Result<RawSettings, SettingsError> {
        match payload.trim_ascii().first() {
            Some(b'{') => {}
            // serde would also read a struct from a JSON list of its values; settings are a map.
            _ if payload.trim_ascii() == b"null" => return Ok(RawSettings::default()),
            _ => {
                return Err(SettingsError::Malformed(
                    "settings must be a JSON object".to_string(),
                ));
            }
        }
        let deserializer = &mut serde_json::Deserializer::from_slice(payload);
        serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let unknown_key = inner.to_string().starts_with("unknown field");
            SettingsError::Malformed(if path == "." || unknown_key {
                inner.to_string()
            } else {
                format!("{path}: {inner}")
            })
        })
    }
}

impl Validatable for RawSettings {
    fn validate(&self) -> Result<(), String> {
        self.parse().map(drop).map_err(|e| e.to_string())
    }
}

/// The `validate_settings` waPC function. Unlike the SDK's generic one, a payload that does not
/// deserialize (an unknown key, a number where a MAC belongs) is answered `valid: false` with a
/// message naming the key, instead of a guest error that kwctl prints as a stack of wrappers.
pub fn validate_settings_payload(payload: &[u8]) -> SettingsValidationResponse {
    match RawSettings::from_json(payload).and_then(|raw| raw.parse()) {
        Ok(_) => SettingsValidationResponse {
            valid: true,
            message: None,
        },
        Err(e) => SettingsValidationResponse {
            valid: false,
            message: Some(e.to_string()),
        },
    }
}
