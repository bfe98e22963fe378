// Which Node is ours, as flanneld decides (pkg/subnet/kube/kube.go): the
// NODE_NAME environment variable, else the pod's spec.nodeName (GET
// /api/v1/namespaces/$POD_NAMESPACE/pods/$POD_NAME: kube-flannel.yml sets
// both from the downward API), else lease.kube's node.name.
#pragma once

#include <string>

#include "control/sources/kube/kube_credentials.h"
#include "control/sources/kube/kube_http.h"
#include "engine/status.h"

namespace tartan {

// An empty spec.nodeName (a pod not scheduled yet), or a pod that cannot
// be read, is an error naming the pod; `configured` is used only when
// neither variable is set.
Result<std::string> kube_node_name(KubeHttp& http, const std::string& configured,
                                   const EnvLookup& env = process_env);

}  // namespace tartan
