"""Derives the test cluster's policy-server configuration and webhook configurations from the
shipped ClusterAdmissionPolicies (manifests/kubemacpool-*.yaml), as kubewarden-controller v1.35.0
writes them, so that a change to a shipped manifest changes the test cluster.

    python3 -m kmp.cluster.derive --manifests manifests --module file:///abs/annotated-policy.wasm \
        --url https://127.0.0.1:8443 --ca-bundle ca.crt --out DIR [--variant reject:duplicateMacs=reject] \
        [--variant floor:inventory=indexed --variant-module floor=file:///abs/bench-floor.wasm]

Writes DIR/policies.yml (policy-server's --policies file) and DIR/webhooks/<policy>.json, one
MutatingWebhookConfiguration (ValidatingWebhookConfiguration for a non-mutating policy) per policy.

What it mirrors, file by file (kubewarden-controller v1.35.0):
- internal/controller/policy_subreconciler_webhook.go, reconcileMutatingWebhookConfiguration:
  name `clusterwide-<name>` (ClusterAdmissionPolicy.GetUniqueName), the label
  app.kubernetes.io/part-of=kubewarden, the annotations kubewardenPolicyName/Namespace, one webhook
  `<unique name>.kubewarden.admission` with the policy's rules, failurePolicy, matchPolicy,
  objectSelector and timeoutSeconds as given (nil stays nil: the API server defaults them),
  sideEffects None unless given, admissionReviewVersions [v1], clientConfig path
  /validate/<unique name>. Here clientConfig is a url (https://127.0.0.1:<port>/validate/<unique
  name>) with our CA bundle instead of the policy-server Service, which a cluster without kubelets
  and kube-proxy cannot route to.
- the same file, namespaceSelector(): unless allowInsideAdmissionControllerNamespace, the selector
  is `kubernetes.io/metadata.name NotIn [<controller namespace>]` followed by the policy's
  matchExpressions (only its matchExpressions: the controller drops matchLabels, and so do we).
- api/policies/v1/policy_types.go: the CRD defaults (mode protect, timeoutSeconds 10,
  backgroundAudit true, policyServer default).
- internal/controller/policyserver_controller_configmap.go, buildPoliciesMap: the policies.yml
  entry keyed by the unique name (namespacedName, module, policyMode, allowedToMutate,
  contextAwareResources, settings, timeoutEvalSeconds, hostCapabilities ["*"] for cluster-wide
  policies).

A variant (`--variant SUFFIX:key=value,...`) adds, for every manifest, the policy a user gets by
changing those settings and naming it `<name>-SUFFIX`: the tests swap webhook configurations to
switch a policy's settings without restarting policy-server. `--variant-module SUFFIX=URL` makes
that variant's policies load another module (the same webhooks and settings; make bench-cluster
runs the engine-floor guest so, target/bench-floor.wasm, beside the policy in one policy-server).
"""

import argparse
import base64
import copy
import glob
import json
import os
import sys

import yaml

CONTROLLER_NAMESPACE = "kubewarden"


def load_policies(manifests):
    policies = []
    for path in sorted(glob.glob(os.path.join(manifests, "*.yaml"))):
        with open(path) as f:
            for doc in yaml.safe_load_all(f):
                if doc and doc.get("kind") == "ClusterAdmissionPolicy":
                    policies.append(doc)
    if not policies:
        sys.exit(f"derive.py: no ClusterAdmissionPolicy in {manifests}/*.yaml")
    return policies


def with_defaults(policy):
    """The CRD's defaults (api/policies/v1/policy_types.go), as the API server applies them."""
    spec = dict(policy["spec"])
    spec.setdefault("mode", "protect")
    spec.setdefault("timeoutSeconds", 10)
    spec.setdefault("policyServer", "default")
    spec.setdefault("backgroundAudit", True)
    return {**policy, "spec": spec}


def namespace_selector(spec):
    if spec.get("allowInsideAdmissionControllerNamespace"):
        return spec.get("namespaceSelector")
    expressions = [
        {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": [CONTROLLER_NAMESPACE]}
    ]
    if spec.get("namespaceSelector") is not None:
        expressions += spec["namespaceSelector"].get("matchExpressions") or []
    return {"matchExpressions": expressions}


def webhook_configuration(policy, url, ca_bundle):
    spec = policy["spec"]
    name = policy["metadata"]["name"]
    unique = "clusterwide-" + name
    webhook = {
        "name": unique + ".kubewarden.admission",
        "clientConfig": {"url": f"{url}/validate/{unique}", "caBundle": ca_bundle},
        "rules": spec["rules"],
        "failurePolicy": spec.get("failurePolicy"),
        "matchPolicy": spec.get("matchPolicy"),
        "namespaceSelector": namespace_selector(spec),
        "objectSelector": spec.get("objectSelector"),
        "sideEffects": spec.get("sideEffects") or "None",
        "timeoutSeconds": spec.get("timeoutSeconds"),
        "admissionReviewVersions": ["v1"],
    }
    if spec.get("matchConditions"):
        webhook["matchConditions"] = spec["matchConditions"]
    # Go's omitempty on the pointers: a nil field is absent from what the controller sends.
    webhook = {k: v for k, v in webhook.items() if v is not None}
    mutating = bool(spec.get("mutating"))
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration" if mutating else "ValidatingWebhookConfiguration",
        "metadata": {
            "name": unique,
            "labels": {"app.kubernetes.io/part-of": "kubewarden"},
            "annotations": {"kubewardenPolicyName": name, "kubewardenPolicyNamespace": ""},
        },
        "webhooks": [webhook],
    }


def policies_entry(policy, module):
    spec = policy["spec"]
    entry = {
        "namespacedName": {"namespace": "", "name": policy["metadata"]["name"]},
        "module": module or spec["module"],
        "policyMode": spec["mode"],
        "allowedToMutate": bool(spec.get("mutating")),
    }
    if spec.get("contextAwareResources"):
        entry["contextAwareResources"] = spec["contextAwareResources"]
    if spec.get("settings") is not None:
        entry["settings"] = spec["settings"]
    if spec.get("timeoutEvalSeconds") is not None:
        entry["timeoutEvalSeconds"] = spec["timeoutEvalSeconds"]
    entry["hostCapabilities"] = ["*"]
    return entry


def parse_variant(text):
    suffix, _, assignments = text.partition(":")
    settings = {}
    for assignment in filter(None, assignments.split(",")):
        key, _, value = assignment.partition("=")
        settings[key] = value
    return suffix, settings


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--manifests", required=True)
    ap.add_argument("--module", help="module URL instead of the manifests' spec.module")
    ap.add_argument("--url", required=True, help="policy-server base URL, https://127.0.0.1:PORT")
    ap.add_argument("--ca-bundle", required=True, help="PEM file of the CA that signed policy-server's certificate")
    ap.add_argument("--out", required=True)
    ap.add_argument("--variant", action="append", default=[])
    ap.add_argument("--variant-module", action="append", default=[], metavar="SUFFIX=URL",
                    help="the module of a --variant's policies instead of --module")
    args = ap.parse_args()
    variant_modules = dict(text.split("=", 1) for text in args.variant_module)
    unknown = set(variant_modules) - {parse_variant(v)[0] for v in args.variant}
    if unknown:
        sys.exit(f"derive.py: --variant-module for no --variant: {', '.join(sorted(unknown))}")

    with open(args.ca_bundle, "rb") as f:
        ca_bundle = base64.b64encode(f.read()).decode()
    shipped = [with_defaults(p) for p in load_policies(args.manifests)]
    policies = list(shipped)
    modules = {}  # policy name -> module, for the variants of --variant-module
    for variant in args.variant:
        suffix, settings = parse_variant(variant)
        for p in shipped:
            q = copy.deepcopy(p)
            q["metadata"]["name"] += "-" + suffix
            q["spec"]["settings"] = {**(q["spec"].get("settings") or {}), **settings}
            policies.append(q)
            if suffix in variant_modules:
                modules[q["metadata"]["name"]] = variant_modules[suffix]

    os.makedirs(os.path.join(args.out, "webhooks"), exist_ok=True)
    entries = {"clusterwide-" + p["metadata"]["name"]: policies_entry(p, modules.get(p["metadata"]["name"], args.module))
               for p in policies}
    with open(os.path.join(args.out, "policies.yml"), "w") as f:
        json.dump(entries, f, indent=2)
    for p in policies:
        with open(os.path.join(args.out, "webhooks", p["metadata"]["name"] + ".json"), "w") as f:
            json.dump(webhook_configuration(p, args.url, ca_bundle), f, indent=2)
    print("\n".join(sorted(p["metadata"]["name"] for p in policies)))


if __name__ == "__main__":
    main()
