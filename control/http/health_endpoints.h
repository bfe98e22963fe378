// /healthz and /readyz, as flanneld's --healthz-port serves them, with
// tartan's readiness conditions in the body so a failing probe says why.
//   /healthz  200 "ok" while the control side answers (ControlLoopProbe),
//             else 503.
//   /readyz   200 when every readiness condition holds, else 503; the body
//             lists each condition with its message, one per line as
//             `tartanctl health` prints them, or the Health API's JSON (as
//             `tartanctl -o json health`) with ?format=json or
//             Accept: application/json.
#pragma once

#include <map>
#include <string>

#include "control/cluster/readiness.h"
#include "control/http/control_loop_probe.h"
#include "control/http/http_server.h"

namespace tartan {

// Both must outlive the server the routes are given to.
std::map<std::string, HttpHandler> health_routes(const Readiness& readiness,
                                                 ControlLoopProbe& probe);

}  // namespace tartan
