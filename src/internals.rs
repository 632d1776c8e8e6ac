//! The policy's modules behind its public face, declared once. Private to the crate in
//! `policy.wasm` (so the compiler reports what nothing uses); the `testing` feature opens them to
//! the fuzz crate, the benches and the tests, which drive the parsers and the walk directly.
//! lib.rs names each at the crate root (`crate::inventory`, `kubemacpool_policy::inventory`).
//! Each `#[path]` is relative to `src/`, where the module's file lives.

#[path = "admission.rs"]
pub mod admission;
#[path = "allocation/mod.rs"]
pub mod allocation;
#[path = "audit.rs"]
pub mod audit;
#[path = "index/mod.rs"]
pub mod index;
#[path = "inventory/mod.rs"]
pub mod inventory;
#[path = "keys.rs"]
pub mod keys;
#[path = "mac/mod.rs"]
pub mod mac;
#[path = "object/mod.rs"]
pub mod object;
#[path = "pod/mod.rs"]
pub mod pod;
#[path = "verdict.rs"]
pub mod verdict;
#[path = "vm/mod.rs"]
pub mod vm;
