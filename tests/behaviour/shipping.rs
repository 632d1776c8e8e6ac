//! What ships beside the code says what the code does: the metadata, the Artifact Hub package,
//! the settings form, the manifests, the README and docs/ agree with each other and with the
//! policy's own settings validation.

use std::fs;
use std::path::Path;

use kubemacpool_policy::settings::RawSettings;
use serde_yaml::Value;

fn yaml(path: &str) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = fs::read_to_string(path).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

use serde::Deserialize;

fn cargo_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

fn get<'a>(value: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(value, |v, key| {
        v.get(key).unwrap_or_else(|| panic!("missing {path}"))
    })
}

fn annotation<'a>(value: &'a Value, key: &str) -> &'a Value {
    value
        .get("annotations")
        .and_then(|a| a.get(key))
        .unwrap_or_else(|| panic!("missing annotation {key}"))
}

/// Settings as the policy reads them: the YAML value turned into the JSON kwctl sends.
fn validate_settings(settings: &Value) -> Result<(), String> {
    let json = serde_json::to_vec(settings).unwrap();
    RawSettings::from_json(&json)
        .and_then(|raw| raw.parse())
        .map(drop)
        .map_err(|e| e.to_string())
}

#[test]
fn the_metadata_version_is_the_cargo_version() {
    let metadata = yaml("policy-metadata.yml");
    assert_eq!(
        annotation(&metadata, "io.kubewarden.policy.version").as_str(),
        Some(cargo_version().as_str())
    );
}

#[test]
fn the_metadata_declares_exactly_what_the_policy_reads_and_calls() {
    let metadata = yaml("policy-metadata.yml");
    assert_eq!(get(&metadata, "mutating").as_bool(), Some(true));
    assert_eq!(
        get(&metadata, "executionMode").as_str(),
        Some("kubewarden-wapc")
    );
    let resources: Vec<(String, String)> = get(&metadata, "contextAwareResources")
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["apiVersion"].as_str().unwrap().to_string(),
                r["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let inventory = kubemacpool_policy::inventory::VM_LIST;
    let pods = kubemacpool_policy::inventory::POD_LIST;
    assert_eq!(
        resources,
        [
            (
                inventory.api_version.to_string(),
                inventory.kind.to_string()
            ),
            (
                kubemacpool_policy::protocol::seed_request().api_version,
                kubemacpool_policy::protocol::seed_request().kind
            ),
            (pods.api_version.to_string(), pods.kind.to_string()),
        ]
    );
    let capabilities: Vec<&str> = get(&metadata, "hostCapabilities")
        .as_sequence()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(
        capabilities,
        ["kubernetes/list_resources_all", "kubernetes/get_resource"]
    );
    for key in [
        "io.kubewarden.policy.title",
        "io.kubewarden.policy.description",
        "io.kubewarden.policy.author",
        "io.kubewarden.policy.url",
        "io.kubewarden.policy.source",
        "io.kubewarden.policy.license",
        "io.kubewarden.policy.ociUrl",
        "io.kubewarden.policy.severity",
        "io.kubewarden.policy.category",
        "io.artifacthub.displayName",
        "io.artifacthub.resources",
        "io.artifacthub.keywords",
    ] {
        assert!(
            annotation(&metadata, key)
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            "{key}"
        );
    }
}

#[test]
fn the_artifacthub_package_agrees_with_the_metadata() {
    let metadata = yaml("policy-metadata.yml");
    let package = yaml("artifacthub-pkg.yml");
    let version = cargo_version();
    assert_eq!(get(&package, "version").as_str(), Some(version.as_str()));
    let image = get(&package, "containersImages")[0]["image"]
        .as_str()
        .unwrap();
    let oci = annotation(&metadata, "io.kubewarden.policy.ociUrl")
        .as_str()
        .unwrap();
    assert_eq!(image, format!("{oci}:v{version}"));
    assert_eq!(
        get(&package, "displayName"),
        annotation(&metadata, "io.artifacthub.displayName")
    );
    assert_eq!(
        get(&package, "description"),
        annotation(&metadata, "io.kubewarden.policy.description")
    );
    assert_eq!(
        get(&package, "license"),
        annotation(&metadata, "io.kubewarden.policy.license")
    );
    let keywords: Vec<String> = annotation(&metadata, "io.artifacthub.keywords")
        .as_str()
        .unwrap()
        .split(',')
        .map(|k| k.trim().to_string())
        .collect();
    let package_keywords: Vec<String> =
        serde_yaml::from_value(get(&package, "keywords").clone()).unwrap();
    assert_eq!(package_keywords, keywords);
    assert_eq!(
        annotation(&package, "kubewarden/mutation").as_str(),
        Some("true")
    );
    assert_eq!(
        annotation(&package, "kubewarden/resources"),
        annotation(&metadata, "io.artifacthub.resources")
    );
    let embedded = |key: &str| -> Value {
        serde_yaml::from_str(annotation(&package, key).as_str().unwrap()).unwrap()
    };
    assert_eq!(
        &embedded("kubewarden/contextAwareResources"),
        get(&metadata, "contextAwareResources")
    );
    assert_eq!(&embedded("kubewarden/rules"), get(&metadata, "rules"));
    assert_eq!(
        annotation(&package, "kubewarden/questions-ui").as_str(),
        Some(fs::read_to_string("questions-ui.yml").unwrap().as_str())
    );
    for key in [
        "name",
        "createdAt",
        "homeURL",
        "links",
        "install",
        "maintainers",
        "provider",
        "recommendations",
    ] {
        assert!(
            package.get(key).is_some(),
            "artifacthub-pkg.yml lacks {key}"
        );
    }
}

#[test]
fn the_settings_form_asks_for_every_setting_with_its_default() {
    let questions = yaml("questions-ui.yml");
    let defaults = serde_json::to_value(RawSettings::default()).unwrap();
    let asked: Vec<&str> = get(&questions, "questions")
        .as_sequence()
        .unwrap()
        .iter()
        .map(|q| q["variable"].as_str().unwrap())
        .collect();
    let keys: Vec<&str> = defaults
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(asked, keys);
    for question in get(&questions, "questions").as_sequence().unwrap() {
        let key = question["variable"].as_str().unwrap();
        let default = serde_json::to_value(&question["default"]).unwrap();
        let expected = &defaults[key];
        let same = match (default.as_str(), expected.as_str()) {
            // MACs compare in any case.
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => default == *expected,
        };
        assert!(
            same,
            "{key}: form default {default}, policy default {expected}"
        );
        if let Some(options) = question.get("options") {
            let options: Vec<String> = serde_yaml::from_value(options.clone()).unwrap();
            for option in &options {
                let mut settings = serde_json::Map::new();
                settings.insert(key.to_string(), serde_json::Value::String(option.clone()));
                let json = serde_json::to_vec(&settings).unwrap();
                assert!(
                    RawSettings::from_json(&json)
                        .and_then(|r| r.parse())
                        .is_ok(),
                    "{key}={option}"
                );
            }
        }
    }
}

fn manifests() -> Vec<(String, Value)> {
    let mut found: Vec<_> = fs::read_dir("manifests")
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .flat_map(|path| {
            yaml_docs(&path)
                .into_iter()
                .map(move |doc| (path.display().to_string(), doc))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

#[test]
fn every_policy_manifest_is_valid_for_the_policy_and_matches_the_metadata() {
    let metadata = yaml("policy-metadata.yml");
    let rules = get(&metadata, "rules").as_sequence().unwrap();
    let policies: Vec<_> = manifests()
        .into_iter()
        .filter(|(_, doc)| doc["kind"] == "ClusterAdmissionPolicy")
        .collect();
    assert_eq!(policies.len(), 4, "VMs and Pods, opt-in and opt-out");
    for (path, policy) in &policies {
        let spec = &policy["spec"];
        validate_settings(&spec["settings"]).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(spec["mutating"].as_bool(), Some(true), "{path}");
        assert_eq!(spec["failurePolicy"].as_str(), Some("Fail"), "{path}");
        assert!(
            spec["timeoutEvalSeconds"]
                .as_u64()
                .is_some_and(|t| (2..=30).contains(&t)),
            "{path}"
        );
        assert_eq!(
            &spec["contextAwareResources"],
            get(&metadata, "contextAwareResources"),
            "{path}"
        );
        let rule = &spec["rules"].as_sequence().unwrap()[0];
        assert!(
            rules.contains(rule),
            "{path}: rule {rule:?} is not one of the metadata's"
        );
        let (label, mode_value, operator) = match (path.contains("pods"), path.contains("opt-in")) {
            (true, true) => ("mutatepods.kubemacpool.io", "allocate", "In"),
            (true, false) => ("mutatepods.kubemacpool.io", "ignore", "NotIn"),
            (false, true) => ("mutatevirtualmachines.kubemacpool.io", "allocate", "In"),
            (false, false) => ("mutatevirtualmachines.kubemacpool.io", "ignore", "NotIn"),
        };
        let expressions = spec["namespaceSelector"]["matchExpressions"]
            .as_sequence()
            .unwrap();
        let has = |key: &str, operator: &str, values: &[&str]| {
            expressions.iter().any(|e| {
                e["key"] == key
                    && e["operator"] == operator
                    && serde_yaml::from_value::<Vec<String>>(e["values"].clone()).unwrap() == values
            })
        };
        assert!(
            has(label, operator, &[mode_value]),
            "{path}: {label} selector"
        );
        assert!(
            has("runlevel", "NotIn", &["0", "1"]),
            "{path}: runlevel exclusion"
        );
        assert!(
            has("openshift.io/run-level", "NotIn", &["0", "1"]),
            "{path}: run-level exclusion"
        );
        // Under pods opt-out the webhook would otherwise hold every Pod of kube-system behind
        // policy-server's availability (failurePolicy Fail).
        assert_eq!(
            has("kubernetes.io/metadata.name", "NotIn", &["kube-system"]),
            path.contains("pods-opt-out"),
            "{path}: kube-system exclusion"
        );
        assert_eq!(
            rule["resources"][0].as_str(),
            Some(if path.contains("pods") {
                "pods"
            } else {
                "virtualmachines"
            }),
            "{path}"
        );
    }
}

#[test]
fn the_rbac_grants_what_each_host_call_needs_and_nothing_else() {
    // docs/operations.md, RBAC: lists are served from watches (list, watch), a launcher pod's VM
    // and the seed's Namespace are read with get; Pods are never read one by one.
    let role = manifests()
        .into_iter()
        .map(|(_, doc)| doc)
        .find(|doc| doc["kind"] == "ClusterRole")
        .expect("a ClusterRole");
    // Each rule as (apiGroups, resources, resourceNames, verbs).
    type Rule = (Vec<String>, Vec<String>, Vec<String>, Vec<String>);
    let rules: Vec<Rule> = role["rules"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|rule| {
            let list = |key: &str| {
                serde_yaml::from_value::<Option<Vec<String>>>(rule[key].clone())
                    .unwrap()
                    .unwrap_or_default()
            };
            (
                list("apiGroups"),
                list("resources"),
                list("resourceNames"),
                list("verbs"),
            )
        })
        .collect();
    let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        rules,
        vec![
            (
                strings(&[""]),
                strings(&["pods"]),
                vec![],
                strings(&["list", "watch"])
            ),
            (
                strings(&["kubevirt.io"]),
                strings(&["virtualmachines"]),
                vec![],
                strings(&["get", "list", "watch"])
            ),
            (
                strings(&[""]),
                strings(&["namespaces"]),
                strings(&["kube-system"]),
                strings(&["get"])
            ),
        ]
    );
}

/// The pages users read: the README and docs/.
fn documentation() -> Vec<(String, String)> {
    let mut pages: Vec<String> = fs::read_dir("docs")
        .unwrap()
        .map(|entry| entry.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".md"))
        .collect();
    pages.sort();
    pages.insert(0, "README.md".to_string());
    pages
        .into_iter()
        .map(|p| {
            let text = fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect()
}

/// The YAML blocks of the README and docs/ that hold policy settings.
fn readme_settings_blocks() -> Vec<Value> {
    documentation()
        .iter()
        .flat_map(|(_, text)| settings_blocks(text))
        .collect()
}

fn settings_blocks(markdown: &str) -> Vec<Value> {
    markdown
        .split("```yaml")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .filter_map(|block| serde_yaml::from_str::<Value>(block).ok())
        .filter_map(|doc| {
            doc.get("settings")
                .cloned()
                .or_else(|| doc.get("spec")?.get("settings").cloned())
        })
        .collect()
}

#[test]
fn every_settings_example_in_the_readme_is_valid() {
    let blocks = readme_settings_blocks();
    // The front page's example and the audit page's ClusterAdmissionPolicy at least.
    assert!(blocks.len() >= 2, "{blocks:?}");
    for settings in &blocks {
        validate_settings(settings).unwrap_or_else(|e| panic!("README settings {settings:?}: {e}"));
    }
}

#[test]
fn every_settings_example_in_the_readme_is_run_by_the_e2e_tests() {
    let e2e = fs::read_to_string("e2e.bats").unwrap();
    let fixtures: Vec<Value> = fs::read_dir("test_data")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("settings-")
        })
        .filter(|p| e2e.contains(&*p.file_name().unwrap().to_string_lossy()))
        .map(|p| serde_yaml::from_str(&fs::read_to_string(&p).unwrap()).unwrap())
        .collect();
    for settings in readme_settings_blocks() {
        assert!(
            fixtures.contains(&settings),
            "README settings {settings:?} has no test_data/settings-*.yml that e2e.bats uses"
        );
    }
}

/// The rows of the README's Settings table: key, type, default.
fn readme_settings_table() -> Vec<(String, String, String)> {
    let readme = fs::read_to_string("README.md").unwrap();
    let section = readme
        .split("\n## Settings\n")
        .nth(1)
        .expect("README.md has a Settings section");
    let section = section.split("\n## ").next().unwrap();
    let unquote = |cell: &str| cell.trim().trim_matches('`').to_string();
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split(" | ").collect();
            (
                unquote(cells[0].trim_start_matches('|')),
                cells[1].trim().to_string(),
                unquote(cells[2]),
            )
        })
        .collect()
}

#[test]
fn the_readme_settings_table_names_every_setting_as_the_form_and_the_policy_do() {
    let questions = yaml("questions-ui.yml");
    let defaults = serde_json::to_value(RawSettings::default()).unwrap();
    let table = readme_settings_table();
    let keys: Vec<&str> = table.iter().map(|(k, _, _)| k.as_str()).collect();
    let asked: Vec<&str> = get(&questions, "questions")
        .as_sequence()
        .unwrap()
        .iter()
        .map(|q| q["variable"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys, asked,
        "README Settings table against questions-ui.yml"
    );
    for (key, kind, default) in &table {
        // The default as the table writes it: a MAC or word, `[]` or `""`.
        let expected = match &defaults[key.as_str()] {
            serde_json::Value::String(s) if s.is_empty() => "\"\"".to_string(),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        assert!(
            default.eq_ignore_ascii_case(&expected),
            "{key}: README default {default}, policy default {expected}"
        );
        let question = get(&questions, "questions")
            .as_sequence()
            .unwrap()
            .iter()
            .find(|q| q["variable"] == key.as_str())
            .unwrap();
        if let Some(options) = question.get("options") {
            let options: Vec<String> = serde_yaml::from_value(options.clone()).unwrap();
            let listed: Vec<String> = kind
                .split(", ")
                .map(|o| o.trim_matches('`').to_string())
                .collect();
            assert_eq!(
                listed, options,
                "{key}: README type against the form's options"
            );
        }
    }
}
