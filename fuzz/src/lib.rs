//! The fuzz targets' bodies, one function per target, so that `cargo test` can replay the
//! seeds and every regression input without libFuzzer (tests/replay.rs); the binaries in
//! fuzz_targets/ only hand libFuzzer's input to them.

mod admission;
mod cluster;

pub use admission::{Target, admit, payload};
pub use cluster::{StaticCluster, sample_cluster};

use kubemacpool_policy::allocation::walk::{UsedSet, allocate, allocate_in_block};
use kubemacpool_policy::index::block::{Block, BlockRange, pool_blocks};
use kubemacpool_policy::inventory::pod;
use kubemacpool_policy::inventory::scan::Cursor;
use kubemacpool_policy::inventory::vm::{self, VmReader};
use kubemacpool_policy::inventory::{Inventory, Needs};
use kubemacpool_policy::mac::Mac;
use kubemacpool_policy::mac::pool::MacRange;
use kubemacpool_policy::object::multus::{Selection, held_macs, is_short_form};
use kubemacpool_policy::protocol::allocation_hash;
use kubemacpool_policy::settings::{
    Choice, InventoryMode, RawSettings, Settings, validate_settings_payload,
};

/// The MAC and range parsers: any text either parses to an address that round-trips through
/// its normal form, or is refused with a message that quotes it.
pub fn mac(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Mac::parse(text) {
        Ok(mac) => {
            let normal = mac.to_string();
            assert_eq!(normal.len(), 17);
            assert_eq!(normal, normal.to_lowercase());
            assert_eq!(Mac::parse(&normal), Ok(mac));
            assert_eq!(
                Mac::parse(&normal.replace(':', "-").to_uppercase()),
                Ok(mac)
            );
            assert!(mac.to_u64() < 1 << 48);
        }
        Err(e) => assert!(e.to_string().contains(text), "{e}"),
    }
    if let Ok(range) = MacRange::parse(text) {
        assert!(range.first <= range.last, "{text}");
    }
}

/// The Multus network-selection parser and writer: what parses can be given MACs and written
/// back, and what is written parses again to the same selection.
pub fn multus(data: &[u8]) {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    // The inventory's reader of other pods' annotations never fails, whatever the text.
    let held = held_macs(value).count();
    let short_form = is_short_form(value);
    match Selection::parse(value) {
        Ok(mut selection) => {
            if short_form {
                assert_eq!(held, 0, "a short form holds no MACs");
            }
            for index in 0..selection.count() {
                let _ = selection.hash_name(index);
                if selection.mac(index).is_none() {
                    selection.set_mac_text(
                        index,
                        &Mac::from_u64(0x0200_0000_0000 + index as u64).to_string(),
                    );
                }
            }
            let written = selection.to_annotation();
            let again = Selection::parse(&written).expect("the written annotation parses");
            assert_eq!(again, selection);
            assert!(!is_short_form(&written));
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// Settings: `validate_settings` answers every payload, agrees with the typed parser, and a
/// valid pool hands out only its own unicast addresses.
pub fn settings(data: &[u8]) {
    let response = validate_settings_payload(data);
    match RawSettings::from_json(data).and_then(|raw| raw.parse()) {
        Ok(settings) => {
            assert!(response.valid, "{:?}", response.message);
            let pool = &settings.pool;
            let span = settings.range_end.to_u64() - settings.range_start.to_u64() + 1;
            assert!(pool.size() <= span);
            let start = allocation_hash(&[&settings.seed, "Pod", "prod", "p", "net"]);
            match allocate(pool, &UsedSet::new(), start) {
                Some(mac) => {
                    assert!(pool.contains(mac) && !mac.is_multicast());
                    assert!(settings.range_start <= mac && mac <= settings.range_end);
                    assert!(
                        !settings
                            .excluded
                            .iter()
                            .any(|r| r.first <= mac && mac <= r.last)
                    );
                }
                None => assert!(pool.is_empty()),
            }
            index_blocks(&settings, start);
        }
        Err(e) => {
            assert!(!response.valid);
            assert_eq!(response.message, Some(e.to_string()));
        }
    }
}

/// `inventory: indexed`'s geometry: the blocks said to hold pool addresses are exactly those
/// whose walk finds one in an empty cluster, and the walk's address is in its block and pool.
fn index_blocks(settings: &Settings, start: u64) {
    let pool = &settings.pool;
    let holding = pool_blocks(pool);
    // Every block when the pool is large; a few from the start value keep a run short.
    for octet in (0..=255u8).filter(|o| u64::from(*o) % 37 == start % 37) {
        let block = Block::new(octet);
        let range = BlockRange::new(block, settings.range_start, settings.range_end);
        let found = allocate_in_block(pool, &UsedSet::new(), &range, start);
        assert_eq!(found.is_some(), holding.contains(&block), "block {block}");
        if let Some(mac) = found {
            assert_eq!(Block::of(mac), block);
            assert!(pool.contains(mac));
            // Taking it leaves the next search another address, or none when it was the last.
            let used: UsedSet = [mac].into_iter().collect();
            if let Some(next) = allocate_in_block(pool, &used, &range, start) {
                assert_ne!(next, mac);
                assert_eq!(Block::of(next), block);
            }
        }
    }
}

/// The inventory readers: any bytes as the host's VM and Pod lists are read or refused with
/// an error, never a panic; and the one-pass VM and Pod readers find the MACs serde's views
/// hold.
pub fn inventory(data: &[u8]) {
    let cluster = StaticCluster {
        vms: data.to_vec(),
        pods: data.to_vec(),
    };
    for &mode in InventoryMode::ALL {
        let needs = Needs {
            blocks: vec![Block::new(0)],
            allocates: true,
        };
        if let Err(e) = Inventory::load_for(&cluster, mode, &needs) {
            assert!(!e.to_string().is_empty());
        }
    }
    if serde_json::from_slice::<serde_json::Value>(data).is_ok() {
        let expected = vm::by_serde(data);
        let mut reader = VmReader::default();
        if reader.read(&mut Cursor::new(data)).is_ok() {
            assert_eq!(Some(reader.macs().collect::<Vec<_>>()), expected);
        }
        let mut listed = Vec::new();
        let read = reader.read_listed(&mut Cursor::new(data), |mac| listed.push(mac));
        assert!(read.is_ok());
        assert_eq!(listed, expected.unwrap_or_default());

        let expected = pod::by_serde(data);
        let mut buffer = Vec::new();
        if let Ok(token) = pod::read(&mut Cursor::new(data)) {
            let read: Vec<Mac> = token
                .and_then(|token| pod::annotation(token, &mut buffer))
                .map(|n| held_macs(&n).collect())
                .unwrap_or_default();
            assert_eq!(Some(read), expected);
        }
        let mut listed = Vec::new();
        let read = pod::read_listed(&mut Cursor::new(data), &mut buffer, &mut |mac| {
            listed.push(mac)
        });
        assert!(read.is_ok());
        assert_eq!(listed, expected.unwrap_or_default());
    }
}
