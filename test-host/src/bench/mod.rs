//! `test-host bench`: the cost of one admission at cluster scale, in wasmtime with a fresh
//! instance per evaluation from a precompiled module (as policy-server runs policies), beside
//! three baselines on the same payloads (see `bench-guests`).

pub mod cluster;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::{Value, json};

use crate::engine::{Guest, HostFn, Outcome};
use cluster::Cluster;

/// The evaluations of one guest function on one cluster, in round order.
pub struct Series {
    pub times: Vec<Duration>,
    pub bytes: usize,
    pub memory: usize,
}

impl Series {
    fn quantile(&self, q: f64) -> Duration {
        let mut times = self.times.clone();
        times.sort();
        times[((times.len() - 1) as f64 * q).round() as usize]
    }

    pub fn median(&self) -> Duration {
        self.quantile(0.5)
    }

    pub fn p95(&self) -> Duration {
        self.quantile(0.95)
    }

    /// The median, over rounds, of this series' time over `other`'s in the same round: a
    /// ratio that a drift of the machine's speed between rounds does not move.
    pub fn ratio_to(&self, other: &Series) -> f64 {
        let mut ratios: Vec<f64> = self
            .times
            .iter()
            .zip(&other.times)
            .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
            .collect();
        ratios.sort_by(f64::total_cmp);
        ratios[ratios.len() / 2]
    }
}

type Case<'a> = Box<dyn FnMut() -> Result<Outcome> + 'a>;

/// Runs every case once per round for `runs` rounds, after one unmeasured round that warms
/// caches and the allocator as a running policy-server is. Interleaving the cases makes a
/// change in the machine's speed (this shared machine has them) hit all of them alike.
fn rounds(runs: usize, cases: &mut [Case<'_>]) -> Result<Vec<Series>> {
    let mut series = Vec::with_capacity(cases.len());
    for case in cases.iter_mut() {
        let first = case()?;
        series.push(Series {
            times: Vec::with_capacity(runs),
            bytes: first.bytes_received,
            memory: first.memory_bytes,
        });
    }
    for _ in 0..runs {
        for (case, series) in cases.iter_mut().zip(&mut series) {
            let start = Instant::now();
            let outcome = case()?;
            series.times.push(start.elapsed());
            series.memory = series.memory.max(outcome.memory_bytes);
        }
    }
    Ok(series)
}

/// The host: answers the two inventory lists from `cluster`, as `tracked` or `all` mode sees it,
/// and the default seed's read of the `kube-system` Namespace (behaviour.md section 6).
fn host(cluster: &Cluster, tracked: bool) -> HostFn {
    let (vms, pods) = if tracked {
        (
            cluster.tracked_vm_list.clone(),
            cluster.tracked_pod_list.clone(),
        )
    } else {
        (cluster.vm_list.clone(), cluster.pod_list.clone())
    };
    let namespace = Arc::new(
        br#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"kube-system","uid":"5d3c1b6e-8a4f-4e0b-9c2d-000000000000"}}"#
            .to_vec(),
    );
    Box::new(move |_, _, operation, payload| {
        let request: Value = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
        match (operation, request["kind"].as_str()) {
            ("list_resources_all", Some("VirtualMachine")) => Ok(vms.clone()),
            ("list_resources_all", Some("Pod")) => Ok(pods.clone()),
            ("get_resource", Some("Namespace")) if request["name"] == "kube-system" => {
                Ok(namespace.clone())
            }
            _ => Err(format!("bench host: unexpected call {operation} {request}")),
        }
    })
}

fn admission(kind: &str, object: Value, settings: Value) -> Vec<u8> {
    let group = if kind == "Pod" { "" } else { "kubevirt.io" };
    serde_json::to_vec(&json!({
        "settings": settings,
        "request": {
            "uid": "bench-0000", "operation": "CREATE", "namespace": "tenant-007",
            "name": object["metadata"]["name"],
            "kind": { "group": group, "version": "v1", "kind": kind },
            "resource": { "group": group, "version": "v1", "resource": "x" },
            "userInfo": { "username": "bench" },
            "object": object, "oldObject": null, "dryRun": false
        }
    }))
    .unwrap_or_default()
}

fn vm_create(settings: Value) -> Vec<u8> {
    admission(
        "VirtualMachine",
        json!({
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
            "metadata": { "name": "new-vm", "namespace": "tenant-007" },
            "spec": { "template": { "spec": {
                "domain": { "devices": { "interfaces": [
                    { "name": "default", "masquerade": {} }, { "name": "blue", "bridge": {} }
                ] } },
                "networks": [ { "name": "default", "pod": {} }, { "name": "blue", "multus": { "networkName": "blue-net" } } ]
            } } }
        }),
        settings,
    )
}

fn pod_create(settings: Value) -> Vec<u8> {
    admission(
        "Pod",
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": { "name": "new-pod", "namespace": "tenant-007",
                "annotations": { "k8s.v1.cni.cncf.io/networks": "[{\"name\":\"blue-net\"},{\"name\":\"red-net\"}]" } },
            "spec": { "containers": [ { "name": "c", "image": "busybox" } ] }
        }),
        settings,
    )
}

/// The policy must have allocated: a benchmark of a rejection would measure the wrong thing.
fn check_mutated(outcome: &Outcome) -> Result<()> {
    let response: Value = serde_json::from_slice(&outcome.response)?;
    if response["accepted"] != true || response["mutated_object"].is_null() {
        bail!("the policy did not allocate: {response}");
    }
    Ok(())
}

pub struct Options {
    pub policy: Vec<u8>,
    pub baselines: Vec<u8>,
    pub sizes: Vec<(usize, usize)>,
    pub mac_share: f64,
    pub runs: usize,
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn mib(bytes: usize) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

/// Wasm instructions of one evaluation by a counting guest.
fn instructions(outcome: Result<Outcome>) -> Result<u64> {
    outcome?
        .instructions
        .ok_or_else(|| anyhow::anyhow!("the guest was not compiled to count instructions"))
}

/// Runs every size in both modes and prints the tables.
pub fn run(options: &Options) -> Result<()> {
    let policy = Guest::compile(&options.policy, false)?;
    let baselines = Guest::compile(&options.baselines, false)?;
    let counting_policy = Guest::compile(&options.policy, true)?;
    let counting_baselines = Guest::compile(&options.baselines, true)?;
    println!(
        "| VMs | Pods (tracked) | mode | inventory MiB | VM CREATE median / p95 ms | Pod CREATE median / p95 ms | policy ms per MiB | peak guest MiB | transfer floor ms | parse floor ms | naive ms | policy / parse | policy / parse, instructions | policy / transfer | naive / policy |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for &(vms, pods) in &options.sizes {
        let cluster = Cluster::generate(vms, pods, options.mac_share);
        for tracked in [false, true] {
            let mode = if tracked { "tracked" } else { "all" };
            let settings = json!({ "inventory": mode });
            let vm_request = vm_create(settings.clone());
            let pod_request = pod_create(settings);
            let policy_call = |guest: &Guest, request: &[u8]| {
                let outcome = guest.call("validate", request, host(&cluster, tracked))?;
                check_mutated(&outcome)?;
                Ok(outcome)
            };
            let (cluster, baselines) = (&cluster, &baselines);
            let baseline = |name: &'static str| -> Case<'_> {
                Box::new(move || baselines.call(name, b"", host(cluster, tracked)))
            };
            let [vm, pod, transfer, parse, naive]: [Series; 5] = rounds(
                options.runs,
                &mut [
                    Box::new(|| policy_call(&policy, &vm_request)),
                    Box::new(|| policy_call(&policy, &pod_request)),
                    baseline("transfer"),
                    baseline("parse"),
                    baseline("naive"),
                ],
            )?
            .try_into()
            .map_err(|_| anyhow::anyhow!("five cases give five series"))?;
            let vm_instructions = instructions(policy_call(&counting_policy, &vm_request))?;
            let parse_instructions =
                instructions(counting_baselines.call("parse", b"", host(cluster, tracked)))?;
            println!(
                "| {vms} | {pods} ({}) | {mode} | {} | {} / {} | {} / {} | {:.1} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} |",
                if tracked { cluster.tracked_pods } else { pods },
                mib(vm.bytes),
                ms(vm.median()),
                ms(vm.p95()),
                ms(pod.median()),
                ms(pod.p95()),
                vm.median().as_secs_f64() * 1000.0 / (vm.bytes as f64 / (1024.0 * 1024.0)),
                mib(vm.memory.max(pod.memory)),
                ms(transfer.median()),
                ms(parse.median()),
                ms(naive.median()),
                vm.ratio_to(&parse),
                vm_instructions as f64 / parse_instructions as f64,
                vm.ratio_to(&transfer),
                naive.ratio_to(&vm),
            );
        }
    }
    Ok(())
}
