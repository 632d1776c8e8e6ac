//! A kwctl-compatible host for the policy's tests: it runs the real `policy.wasm` on wasmtime,
//! the engine kwctl builds on, speaking waPC as kwctl does, with kwctl's `run` flags,
//! replay-session format and one-line AdmissionResponse.

pub mod bench;
pub mod engine;
pub mod response;
pub mod runner;
pub mod session;
pub mod wasi;
