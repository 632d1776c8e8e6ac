"""KubeVirt's VirtualMachine and VirtualMachineInstance CRDs, with KubeVirt's own schema.

    python3 -m kmp.cluster.kubevirt_crds CONTROLLER_GEN_OUTPUT_DIR > crds.json

KubeVirt builds its CRDs in two steps, and this does the same with the same inputs:
1. hack/generate.sh runs `controller-gen crd:allowDangerousTypes=true` on kubevirt.io/api; the
   openAPIV3Schema of that output is what virt-operator installs (validations_generated.go).
   build.sh runs that controller-gen on kubevirt.io/api/core/v1 at the pinned release (go.mod).
2. pkg/virt-operator/resource/generate/components/crds.go (NewVirtualMachineCrd,
   NewVirtualMachineInstanceCrd) sets the names, short names, categories, the status subresource and
   the versions (every version of ApiSupportedVersions gets the same schema: v1 served and stored,
   v1alpha3 served), and preserveUnknownFields false: the API server prunes unknown fields.
Printer columns are left out: they change nothing a test can see through the API.
"""

import copy
import json
import os
import sys

import yaml

NAMES = {
    "virtualmachines": {"singular": "virtualmachine", "kind": "VirtualMachine", "shortNames": ["vm", "vms"]},
    "virtualmachineinstances": {
        "singular": "virtualmachineinstance",
        "kind": "VirtualMachineInstance",
        "shortNames": ["vmi", "vmis"],
    },
}


def main():
    out = {"apiVersion": "v1", "kind": "List", "items": []}
    for plural, names in NAMES.items():
        path = os.path.join(sys.argv[1], f"kubevirt.io_{plural}.yaml")
        with open(path) as f:
            generated = yaml.safe_load(f)
        schema = next(v for v in generated["spec"]["versions"] if v["name"] == "v1")["schema"]
        versions = []
        for name, storage in (("v1", True), ("v1alpha3", False)):
            versions.append(
                {
                    "name": name,
                    "served": True,
                    "storage": storage,
                    "schema": copy.deepcopy(schema),
                    "subresources": {"status": {}},
                }
            )
        out["items"].append(
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": f"{plural}.kubevirt.io", "labels": {"kubevirt.io": ""}},
                "spec": {
                    "group": "kubevirt.io",
                    "scope": "Namespaced",
                    "preserveUnknownFields": False,
                    "names": {"plural": plural, "categories": ["all"], **names},
                    "versions": versions,
                },
            }
        )
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
