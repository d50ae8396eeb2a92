// JS class `Engine` (lib/native.ts NativeEngine): inference over csrc/core/engine, behind lib's Qwen3Model.
#pragma once

#include <napi.h>

namespace q3js {

Napi::Function initEngineClass(Napi::Env env);

}  // namespace q3js
