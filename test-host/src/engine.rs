//! A minimal waPC host on wasmtime, for `run` and `bench` alike: the waPC protocol as
//! wasmtime-provider speaks it (kwctl and policy-server run policies through it), with the
//! guest's linear memory in reach (its size after a call is its peak: wasm memory never shrinks)
//! and an optional count of executed instructions.

use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use wasmtime::{Caller, Engine, InstancePre, Linker, Memory, Module, Store, TypedFunc};

use crate::wasi::{self, WasiView};

/// Answers the guest's host calls: `(binding, namespace, operation, payload)`.
/// Responses are shared, not copied: the copy that counts is the one into guest memory.
pub type HostFn = Box<dyn FnMut(&str, &str, &str, &[u8]) -> Result<Arc<Vec<u8>>, String> + Send>;

struct State {
    stdout: Box<dyn std::io::Write + Send>,
    request: (Vec<u8>, Vec<u8>),
    response: Option<Vec<u8>>,
    error: Option<String>,
    host_response: Option<Arc<Vec<u8>>>,
    host_error: Option<String>,
    host: HostFn,
    bytes_received: usize,
}

impl WasiView for State {
    fn stdout(&mut self) -> &mut dyn std::io::Write {
        &mut self.stdout
    }
}

/// A module compiled once, instantiated afresh for every evaluation.
pub struct Guest {
    engine: Engine,
    pre: InstancePre<State>,
    count: bool,
}

/// What one evaluation cost.
pub struct Outcome {
    pub response: Vec<u8>,
    /// Bytes the host handed the guest through host calls.
    pub bytes_received: usize,
    /// The guest's linear memory at the end of the call.
    pub memory_bytes: usize,
    /// WebAssembly instructions executed (wasmtime fuel), when the guest was compiled to count
    /// them: a measure of work that, unlike time, does not depend on what else the machine does.
    pub instructions: Option<u64>,
}

fn memory(caller: &mut Caller<'_, State>) -> wasmtime::Result<Memory> {
    caller
        .get_export("memory")
        .and_then(|e| e.into_memory())
        .ok_or_else(|| wasmtime::format_err!("the guest exports no memory"))
}

fn read(caller: &mut Caller<'_, State>, ptr: i32, len: i32) -> wasmtime::Result<Vec<u8>> {
    let memory = memory(caller)?;
    let (ptr, len) = (ptr as usize, len as usize);
    memory
        .data(&caller)
        .get(ptr..ptr + len)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| wasmtime::format_err!("guest pointer out of bounds"))
}

fn write(caller: &mut Caller<'_, State>, ptr: i32, bytes: &[u8]) -> wasmtime::Result<()> {
    let memory = memory(caller)?;
    memory
        .write(caller, ptr as usize, bytes)
        .map_err(|e| wasmtime::format_err!("{e}"))
}

fn text(bytes: Vec<u8>) -> wasmtime::Result<String> {
    String::from_utf8(bytes).map_err(|e| wasmtime::format_err!("{e}"))
}

fn link(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    const NS: &str = "wapc";
    linker.func_wrap(
        NS,
        "__guest_request",
        |mut c: Caller<'_, State>, op_ptr: i32, ptr: i32| {
            let (op, msg) = c.data().request.clone();
            write(&mut c, ptr, &msg)?;
            write(&mut c, op_ptr, &op)
        },
    )?;
    linker.func_wrap(
        NS,
        "__guest_response",
        |mut c: Caller<'_, State>, ptr: i32, len: i32| {
            let bytes = read(&mut c, ptr, len)?;
            c.data_mut().response = Some(bytes);
            Ok(())
        },
    )?;
    linker.func_wrap(
        NS,
        "__guest_error",
        |mut c: Caller<'_, State>, ptr: i32, len: i32| {
            let bytes = read(&mut c, ptr, len)?;
            c.data_mut().error = Some(String::from_utf8_lossy(&bytes).into_owned());
            Ok(())
        },
    )?;
    linker.func_wrap(
        NS,
        "__host_call",
        |mut c: Caller<'_, State>,
         bd_ptr: i32,
         bd_len: i32,
         ns_ptr: i32,
         ns_len: i32,
         op_ptr: i32,
         op_len: i32,
         ptr: i32,
         len: i32| {
            let binding = text(read(&mut c, bd_ptr, bd_len)?)?;
            let namespace = text(read(&mut c, ns_ptr, ns_len)?)?;
            let operation = text(read(&mut c, op_ptr, op_len)?)?;
            let payload = read(&mut c, ptr, len)?;
            let state = c.data_mut();
            state.host_response = None;
            state.host_error = None;
            match (state.host)(&binding, &namespace, &operation, &payload) {
                Ok(response) => {
                    state.bytes_received += response.len();
                    state.host_response = Some(response);
                    Ok(1)
                }
                Err(error) => {
                    state.host_error = Some(error);
                    Ok(0)
                }
            }
        },
    )?;
    linker.func_wrap(NS, "__host_response_len", |c: Caller<'_, State>| {
        c.data()
            .host_response
            .as_ref()
            .map_or(0, |r| r.len() as i32)
    })?;
    linker.func_wrap(
        NS,
        "__host_response",
        |mut c: Caller<'_, State>, ptr: i32| {
            // Taken, not cloned: the guest reads a response once.
            match c.data_mut().host_response.take() {
                Some(response) => write(&mut c, ptr, &response),
                None => Ok(()),
            }
        },
    )?;
    linker.func_wrap(NS, "__host_error_len", |c: Caller<'_, State>| {
        c.data().host_error.as_ref().map_or(0, |e| e.len() as i32)
    })?;
    linker.func_wrap(
        NS,
        "__host_error",
        |mut c: Caller<'_, State>, ptr: i32| match c.data().host_error.clone() {
            Some(error) => write(&mut c, ptr, error.as_bytes()),
            None => Ok(()),
        },
    )?;
    linker.func_wrap(
        NS,
        "__console_log",
        |_: Caller<'_, State>, _: i32, _: i32| {},
    )?;
    wasi::add_to_linker(linker)?;
    Ok(())
}

/// The guest compiled for `engine`, from a cache in the temporary folder when this test host
/// compiled the same module with the same engine settings before: e2e.bats starts the test
/// host about 130 times on one policy.wasm, and compiling it is most of each run (0.4 s of 2
/// cores). kwctl compiles on every run; what a run answers does not change.
fn compiled(engine: &Engine, wasm: &[u8]) -> Result<Module> {
    use std::hash::{DefaultHasher, Hash, Hasher};

    let mut key = DefaultHasher::new();
    wasm.hash(&mut key);
    engine.precompile_compatibility_hash().hash(&mut key);
    env!("CARGO_PKG_VERSION").hash(&mut key);
    let folder = std::env::temp_dir().join("kubemacpool-test-host");
    let path = folder.join(format!("{:016x}.cwasm", key.finish()));
    if let Ok(bytes) = std::fs::read(&path) {
        // SAFETY: the file is what `Module::serialize` wrote below for this key (the module's
        // bytes and this engine's settings and version), in a folder only this tool writes;
        // wasmtime checks the header and the engine settings again and refuses a mismatch,
        // which then compiles afresh.
        if let Ok(module) = unsafe { Module::deserialize(engine, &bytes) } {
            return Ok(module);
        }
    }
    let module = Module::new(engine, wasm).map_err(|e| anyhow!("compiling the guest: {e}"))?;
    // A cache that cannot be written only costs the next run a compile.
    if let Ok(bytes) = module.serialize()
        && std::fs::create_dir_all(&folder).is_ok()
    {
        let partial = folder.join(format!("{}.{}.part", key.finish(), std::process::id()));
        if std::fs::write(&partial, bytes).is_ok() {
            let _ = std::fs::rename(&partial, &path);
        }
    }
    Ok(module)
}

impl Guest {
    /// Compiles `wasm` once (what policy-server does at start-up). With `count`, every
    /// evaluation also counts the instructions it executes, which slows it down: timings come
    /// from a guest compiled without.
    pub fn compile(wasm: &[u8], count: bool) -> Result<Guest> {
        let mut config = wasmtime::Config::new();
        config.consume_fuel(count);
        // policy-server 1.35 enables epoch interruption whenever an evaluation has a timeout,
        // as it does by default (2 s): every guest function entry and loop header then checks
        // the deadline, a cost `bench` must include to measure what policy-server runs.
        config.epoch_interruption(true);
        let engine = Engine::new(&config).map_err(|e| anyhow!("configuring wasmtime: {e}"))?;
        let module = compiled(&engine, wasm)?;
        let mut linker = Linker::new(&engine);
        link(&mut linker).map_err(|e| anyhow!("linking the guest: {e}"))?;
        linker
            .define_unknown_imports_as_traps(&module)
            .map_err(|e| anyhow!("linking the guest: {e}"))?;
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| anyhow!("pre-instantiating the guest: {e}"))?;
        Ok(Guest { engine, pre, count })
    }

    /// One evaluation on a fresh instance: instantiate, `wapc_init`, call `operation`.
    pub fn call(&self, operation: &str, payload: &[u8], host: HostFn) -> Result<Outcome> {
        let state = State {
            stdout: Box::new(std::io::stdout()),
            request: (operation.as_bytes().to_vec(), payload.to_vec()),
            response: None,
            error: None,
            host_response: None,
            host_error: None,
            host,
            bytes_received: 0,
        };
        let mut store = Store::new(&self.engine, state);
        // The epoch never advances here: the deadline is only checked, never reached.
        store.set_epoch_deadline(1);
        if self.count {
            store
                .set_fuel(u64::MAX)
                .map_err(|e| anyhow!("setting fuel: {e}"))?;
        }
        let instance = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| anyhow!("instantiating: {e}"))?;
        for start in ["_start", "wapc_init"] {
            if let Ok(init) = instance.get_typed_func::<(), ()>(&mut store, start) {
                init.call(&mut store, ())
                    .map_err(|e| anyhow!("{start}: {e}"))?;
            }
        }
        let guest_call: TypedFunc<(i32, i32), i32> = instance
            .get_typed_func(&mut store, "__guest_call")
            .map_err(|e| anyhow!("no __guest_call: {e}"))?;
        let ok = guest_call
            .call(&mut store, (operation.len() as i32, payload.len() as i32))
            .map_err(|e| anyhow!("{operation} trapped: {e}"))?;
        let memory_bytes = instance
            .get_memory(&mut store, "memory")
            .map(|m| m.data_size(&store))
            .context("no memory export")?;
        let instructions = match self.count {
            true => Some(u64::MAX - store.get_fuel().map_err(|e| anyhow!("reading fuel: {e}"))?),
            false => None,
        };
        let state = store.into_data();
        if ok != 1 {
            bail!("{operation} failed: {}", state.error.unwrap_or_default());
        }
        Ok(Outcome {
            response: state.response.unwrap_or_default(),
            bytes_received: state.bytes_received,
            memory_bytes,
            instructions,
        })
    }
}
