//! Every seed and every input a fuzzer once crashed on (regressions/<target>/), run through
//! the target's checks by `cargo test`, without libFuzzer: a regression stays fixed, and the
//! targets' checks keep compiling and passing on the inputs they start from.

use std::fs;
use std::path::Path;

use kubemacpool_policy_fuzz::{Target, admit};

fn replay(target: &str, check: impl Fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut count = 0;
    for folder in ["seeds", "regressions"] {
        let Ok(entries) = fs::read_dir(root.join(folder).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let data = fs::read(&path).unwrap();
            // Shown with the panic when the checks fail on this input.
            eprintln!("replaying {}", path.display());
            check(&data);
            count += 1;
        }
    }
    count
}

#[test]
fn mac_inputs_pass() {
    assert!(replay("mac", kubemacpool_policy_fuzz::mac) > 0);
}

#[test]
fn multus_inputs_pass() {
    assert!(replay("multus", kubemacpool_policy_fuzz::multus) > 0);
}

#[test]
fn settings_inputs_pass() {
    assert!(replay("settings", kubemacpool_policy_fuzz::settings) > 0);
}

#[test]
fn inventory_inputs_pass() {
    assert!(replay("inventory", kubemacpool_policy_fuzz::inventory) > 0);
}

#[test]
fn vm_admission_inputs_pass() {
    assert!(replay("vm_admission", |d| admit(d, Target::VirtualMachine)) > 0);
}

#[test]
fn pod_admission_inputs_pass() {
    assert!(replay("pod_admission", |d| admit(d, Target::Pod)) > 0);
}
