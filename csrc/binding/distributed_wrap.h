// JS class `ProcessGroup`: csrc/core/distributed's c10d group (rendezvous, averaged gradient all-reduce, barrier,
// all-gather), its collectives queued on the compute thread like every other native call.
#pragma once

#include <napi.h>

#include <memory>

#include "../core/distributed.h"

namespace q3js {

Napi::Function initProcessGroupClass(Napi::Env env);

// The core group behind a JS ProcessGroup (checked by its type tag); throws when `v` is not one or is disposed.
std::shared_ptr<q3::ProcessGroup> processGroupOf(const Napi::Value& v);

}  // namespace q3js
