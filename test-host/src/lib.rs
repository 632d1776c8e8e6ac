//! A kwctl-compatible host for the policy's tests: it runs the real `policy.wasm` on waPC and
//! wasmtime, the crates kwctl builds on, with kwctl's `run` flags, replay-session format and
//! one-line AdmissionResponse.

pub mod bench;
pub mod response;
pub mod runner;
pub mod session;
