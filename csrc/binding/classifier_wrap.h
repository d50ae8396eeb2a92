// JS class `Classifier`: training and prediction over csrc/core/classifier.
#pragma once

#include <napi.h>

namespace q3js {

Napi::Function initClassifierClass(Napi::Env env);

}  // namespace q3js
