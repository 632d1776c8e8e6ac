//! Lean, borrowing views of what the handlers and the inventory read of Pods and
//! VirtualMachines: metadata, the Multus annotation, VM interfaces and networks, and who
//! holds a MAC.

pub mod metadata;
pub mod multus;
pub mod owner;
pub mod vm;

#[cfg(test)]
mod tests;
