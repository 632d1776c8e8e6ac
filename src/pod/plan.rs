//! The plan of each element of a Pod's Multus annotation: on CREATE its requested MAC or an
//! allocation (behaviour.md section 4 step 7); on UPDATE the elements of the new value are
//! first matched to those of the old one, so that a re-applied manifest, a GitOps sync or a
//! network hotplug gets every MAC back (section 4.1 steps 3 and 4).

use std::collections::HashMap;

use crate::allocation::plan::Plan;
use crate::mac::Mac;
use crate::object::multus::{ElementKey, Selection};

/// CREATE: a given MAC is requested, a blank is allocated. `given` holds the parsed `mac` of
/// each element of the selection, `None` for a blank.
pub fn on_create(given: &[Option<Mac>]) -> Vec<Plan<'static>> {
    given
        .iter()
        .map(|mac| match mac {
            Some(mac) => Plan::Requested(*mac),
            None => Plan::Allocate,
        })
        .collect()
}

/// UPDATE: each element of `new` (its parsed MACs in `given`) against the element of `old` it
/// matches. `namespace` is the Pod's, which an element without a namespace names.
pub fn on_update<'o>(
    new: &Selection,
    given: &[Option<Mac>],
    old: &'o Selection,
    namespace: &str,
) -> Vec<Plan<'o>> {
    let matched = match_elements(new, old, namespace);
    given
        .iter()
        .zip(matched)
        .map(|(mac, old_index)| {
            let old_mac = old_index
                .and_then(|j| old.mac(j))
                .and_then(|text| Some((Mac::parse(text).ok()?, text)));
            match (mac, old_mac) {
                (Some(mac), Some((old, _))) if *mac == old => Plan::Keep(Some(*mac)),
                (Some(mac), _) => Plan::Requested(*mac),
                (None, Some((old, text))) => Plan::Restore(Some(old), text),
                (None, None) => Plan::Allocate,
            }
        })
        .collect()
}

/// For each element of `new`, the index of the element of `old` it matches: the k-th new
/// element with a key matches the k-th old element with the same key (section 4.1 step 3), so
/// two attachments of one network keep their own MACs, in order.
pub fn match_elements(new: &Selection, old: &Selection, namespace: &str) -> Vec<Option<usize>> {
    let mut old_by_key: HashMap<ElementKey<'_>, Vec<usize>> = HashMap::new();
    for j in 0..old.count() {
        old_by_key.entry(old.key(j, namespace)).or_default().push(j);
    }
    let mut seen: HashMap<ElementKey<'_>, usize> = HashMap::new();
    (0..new.count())
        .map(|i| {
            let key = new.key(i, namespace);
            let k = seen.entry(key).or_insert(0);
            let matched = old_by_key.get(&key).and_then(|olds| olds.get(*k)).copied();
            *k += 1;
            matched
        })
        .collect()
}
