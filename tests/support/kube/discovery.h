// The discovery documents of the API server double: the core group only,
// with the resources it serves (nodes, nodes/status, pods). kubectl 1.32
// asks for aggregated discovery (apidiscovery.k8s.io/v2) first and takes
// these legacy documents when the server answers with plain JSON.
#pragma once

#include <string>

#include "tests/support/kube/status.h"

namespace tartan::testing::kube {

// GET /api: APIVersions. `server_address` is "host:port" as clients reach it.
Json api_versions(const std::string& server_address);
// GET /api/v1: APIResourceList.
Json core_v1_resources();
// GET /apis: APIGroupList (no groups).
Json api_groups();
// GET /version: version.Info.
Json version_info();

}  // namespace tartan::testing::kube
