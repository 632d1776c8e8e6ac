//! The WASI preview1 functions a Kubewarden Rust policy links (read from `policy.wasm`'s import
//! section: `random_get`, `environ_get`, `environ_sizes_get`, `fd_write`, `proc_exit`), set up as
//! wasmtime-provider sets up WASI for kwctl and policy-server: no environment, no arguments, no
//! preopened directories, the process's stdout and stderr. Any other import links as a trap, so a
//! module that calls more of WASI fails loudly instead of silently getting a wrong answer.
//!
//! Written out rather than taken from `wasi-common`: that crate (with cap-std, tokio and their
//! kin) was most of the test host's build time, for five functions.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;

use wasmtime::{Caller, Linker, Memory};

/// What the WASI functions need from a store's data.
pub trait WasiView {
    /// Where the guest's stdout goes.
    fn stdout(&mut self) -> &mut dyn Write;
}

const MODULE: &str = "wasi_snapshot_preview1";
const ERRNO_SUCCESS: i32 = 0;
const ERRNO_BADF: i32 = 8;
const ERRNO_FAULT: i32 = 21;
const ERRNO_IO: i32 = 29;

fn memory<T>(caller: &mut Caller<'_, T>) -> Option<Memory> {
    caller.get_export("memory").and_then(|e| e.into_memory())
}

fn write_u32<T>(caller: &mut Caller<'_, T>, ptr: i32, value: u32) -> bool {
    memory(caller).is_some_and(|m| {
        m.write(caller, ptr as u32 as usize, &value.to_le_bytes())
            .is_ok()
    })
}

/// Bytes for `random_get`: the guest uses them for hash-map seeds, so they must differ from
/// run to run as the real engine's do (the policy's answers must not depend on them).
fn random_bytes(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    let mut hasher = RandomState::new().build_hasher();
    let mut counter = 0u64;
    while out.len() < len {
        hasher.write_u64(counter);
        out.extend_from_slice(&hasher.finish().to_le_bytes());
        counter += 1;
    }
    out.truncate(len);
    out
}

/// The guest's iovecs at `iovs`, gathered into one buffer.
fn gather(data: &[u8], iovs: usize, count: usize) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    for index in 0..count {
        let at = iovs.checked_add(index.checked_mul(8)?)?;
        let entry = data.get(at..at + 8)?;
        let ptr = u32::from_le_bytes(entry[..4].try_into().ok()?) as usize;
        let len = u32::from_le_bytes(entry[4..].try_into().ok()?) as usize;
        bytes.extend_from_slice(data.get(ptr..ptr.checked_add(len)?)?);
    }
    Some(bytes)
}

pub fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.func_wrap(
        MODULE,
        "random_get",
        |mut c: Caller<'_, T>, ptr: i32, len: i32| -> i32 {
            let bytes = random_bytes(len as u32 as usize);
            match memory(&mut c) {
                Some(m) if m.write(&mut c, ptr as u32 as usize, &bytes).is_ok() => ERRNO_SUCCESS,
                _ => ERRNO_FAULT,
            }
        },
    )?;
    linker.func_wrap(
        MODULE,
        "environ_sizes_get",
        |mut c: Caller<'_, T>, count: i32, size: i32| -> i32 {
            if write_u32(&mut c, count, 0) && write_u32(&mut c, size, 0) {
                ERRNO_SUCCESS
            } else {
                ERRNO_FAULT
            }
        },
    )?;
    linker.func_wrap(
        MODULE,
        "environ_get",
        |_: Caller<'_, T>, _environ: i32, _buf: i32| -> i32 { ERRNO_SUCCESS },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_write",
        |mut c: Caller<'_, T>, fd: i32, iovs: i32, count: i32, written: i32| -> i32 {
            let Some(memory) = memory(&mut c) else {
                return ERRNO_FAULT;
            };
            let Some(bytes) = gather(memory.data(&c), iovs as u32 as usize, count as u32 as usize)
            else {
                return ERRNO_FAULT;
            };
            let outcome = match fd {
                1 => c.data_mut().stdout().write_all(&bytes),
                2 => std::io::stderr().write_all(&bytes),
                _ => return ERRNO_BADF,
            };
            if outcome.is_err() {
                return ERRNO_IO;
            }
            if write_u32(&mut c, written, bytes.len() as u32) {
                ERRNO_SUCCESS
            } else {
                ERRNO_FAULT
            }
        },
    )?;
    linker.func_wrap(
        MODULE,
        "proc_exit",
        |_: Caller<'_, T>, code: i32| -> wasmtime::Result<()> {
            Err(wasmtime::format_err!("the guest exited with code {code}"))
        },
    )?;
    Ok(())
}
