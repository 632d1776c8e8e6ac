//! Every annotation and label key the policy reads or writes, and the label selectors of its
//! list calls: one home, so that the object views, the inventory and the handlers agree on the
//! spelling (behaviour.md sections 4, 7 and 7.1).

/// Multus network-selection annotation, read and rewritten on Pod CREATE.
pub const NETWORKS_ANNOTATION: &str = "k8s.v1.cni.cncf.io/networks";
/// Multus sets this once a pod is wired; the policy leaves such pods alone on CREATE.
pub const NETWORK_STATUS_ANNOTATION: &str = "k8s.v1.cni.cncf.io/network-status";

/// Added to every Pod and VM the policy admits that holds a MAC; `inventory: pods-tracked`
/// lists only the Pods that carry it, `inventory: tracked` only the Pods and VMs.
pub const TRACKED_LABEL: &str = "kubemacpool.io/tracked";
pub const TRACKED_VALUE: &str = "true";

/// On every VM the policy handles and every Pod that holds a MAC: its `mac-blocks` span labels
/// are complete, so `inventory: indexed` finds it through them and not in the legacy lists.
pub const INDEXED_LABEL: &str = "kubemacpool.io/indexed";
/// The index format. A later format gets a new value, and objects of the old one show up in
/// the legacy lists again until they are re-indexed.
pub const INDEXED_VALUE: &str = "v2";

/// `mac-blocks.kubemacpool.io/<first>-<last>: ""`, one per span (of the object's kind) that
/// holds a MAC the object holds.
pub const SPAN_LABEL_PREFIX: &str = "mac-blocks.kubemacpool.io/";
/// The index `v1` labelled blocks one by one (`mac-block.kubemacpool.io/<bb>`); `v2` removes them.
pub const V1_BLOCK_LABEL_PREFIX: &str = "mac-block.kubemacpool.io/";

/// Not read by the policy: setting it to a new value is an UPDATE that changes nothing else, which
/// sends an object through the policy again (adoption, upgrades, index-hole repairs).
pub const REINDEX_ANNOTATION: &str = "kubemacpool.io/reindex";

/// The label selector of the tracked lists. A constant: policy-server keeps one watch per
/// distinct query, so a per-request value here would leak watches.
pub const TRACKED_SELECTOR: &str = "kubemacpool.io/tracked=true";
/// `inventory: indexed`, step 2: VMs whose `v2` labels the policy has not written yet.
pub const LEGACY_VM_SELECTOR: &str = "kubemacpool.io/indexed!=v2";
/// `inventory: indexed`, step 3: tracked Pods whose span labels are not known complete.
pub const LEGACY_POD_SELECTOR: &str = "kubemacpool.io/tracked=true,kubemacpool.io/indexed!=v2";
