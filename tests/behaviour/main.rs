//! The policy as users meet it: admission payloads in, Kubewarden responses out, one module
//! per part of behaviour.md, against the host doubles of the `testing` feature; and what ships
//! with it (metadata, manifests, docs, the layering of `src/`). The tests of one module's
//! internals sit inline in `src/`.

mod common;

mod allocation;
mod audit;
mod bad_input;
mod docs;
mod indexed;
mod invariants;
mod layering;
mod messages;
mod pod;
mod pod_update;
mod pod_update_properties;
mod protocol;
mod readme;
mod settings;
mod shipping;
mod virtual_machine;
