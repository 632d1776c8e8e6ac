//! The module graph of `src/` (its tests and test doubles aside) has no cycle: data flows one way, handlers -> allocation and
//! audit -> inventory and index -> object views -> MACs. A `use crate::x` that points back up
//! fails here, with the cycle it closes.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Top-level module of every `src/` file, and the top-level modules it names through `crate::`.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path.strip_prefix(&src).unwrap();
            let module = relative
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            // Tests and test doubles may reach across the layers; the product may not.
            if module == "lib" || module == "testing" || relative.ends_with("tests.rs") {
                continue;
            }
            let text = fs::read_to_string(&path).unwrap();
            let uses: &mut BTreeSet<String> = graph.entry(module.clone()).or_default();
            for (at, _) in text.match_indices("crate::") {
                let rest = &text[at + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                // `use crate::{a, b}` names several modules at once.
                if name.is_empty() && rest.starts_with('{') {
                    let group = &rest[1..rest.find('}').unwrap()];
                    for part in group.split(',') {
                        let part = part.trim().split("::").next().unwrap().to_string();
                        if !part.is_empty() && part != module {
                            uses.insert(part);
                        }
                    }
                } else if !name.is_empty() && name != module {
                    uses.insert(name);
                }
            }
        }
    }
    graph
}

/// A cycle through `node`, if the graph has one reachable from it.
fn cycle_from(
    graph: &BTreeMap<String, BTreeSet<String>>,
    node: &str,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(at) = path.iter().position(|n| n == node) {
        let mut cycle = path[at..].to_vec();
        cycle.push(node.to_string());
        return Some(cycle);
    }
    if done.contains(node) {
        return None;
    }
    path.push(node.to_string());
    for next in graph.get(node).into_iter().flatten() {
        if let Some(cycle) = cycle_from(graph, next, path, done) {
            return Some(cycle);
        }
    }
    path.pop();
    done.insert(node.to_string());
    None
}

#[test]
fn the_module_graph_has_no_cycle() {
    let graph = module_graph();
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = cycle_from(&graph, node, &mut Vec::new(), &mut done) {
            panic!("module cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_inventory_does_not_reach_up_to_the_handlers() {
    let graph = module_graph();
    for lower in ["inventory", "index", "object", "mac", "keys", "host"] {
        for handler in ["pod", "vm", "admission", "allocation", "audit"] {
            assert!(
                !graph.get(lower).is_some_and(|uses| uses.contains(handler)),
                "{lower} uses {handler}"
            );
        }
    }
}

#[test]
fn the_graph_reader_sees_the_known_edges() {
    // A reader that saw nothing would pass the tests above.
    let graph = module_graph();
    assert!(graph["allocation"].contains("inventory"));
    assert!(graph["inventory"].contains("object"));
    assert!(graph["pod"].contains("allocation"));
}
