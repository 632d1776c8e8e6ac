// Package kubevirt keeps kubevirt.io/api in the build list: build.sh runs controller-gen on
// kubevirt.io/api/core/v1 from this module, as KubeVirt's hack/generate.sh runs it on its staging copy.
package kubevirt

import _ "kubevirt.io/api/core/v1"
