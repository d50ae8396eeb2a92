#include "lora.h"

namespace q3 {

namespace {

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0 &&
         (s.size() == suffix.size() || s[s.size() - suffix.size() - 1] == '.');
}

template <typename F>
void forEachLinear(torch::nn::Module& root, F&& f) {
  for (const auto& item : root.named_modules("", /*include_self=*/false)) {
    if (auto* linear = dynamic_cast<LinearImpl*>(item.value().get())) f(item.key(), *linear);
  }
}

}  // namespace

int64_t injectLora(torch::nn::Module& root, const std::vector<std::string>& targets, const LoraSpec& spec) {
  int64_t n = 0;
  forEachLinear(root, [&](const std::string& name, LinearImpl& linear) {
    if (name == "lm_head") return;  // never adapted: PEFT's default targets exclude it too
    for (const auto& t : targets) {
      if (endsWith(name, t)) {
        linear.addLora(spec);
        ++n;
        return;
      }
    }
  });
  return n;
}

std::vector<LoraParam> loraParameters(torch::nn::Module& root, const std::string& namePrefix) {
  std::vector<LoraParam> out;
  forEachLinear(root, [&](const std::string& name, LinearImpl& linear) {
    if (!linear.hasLora()) return;
    out.push_back({peftKey(namePrefix + name) + ".lora_A.weight", linear.lora_A});
    out.push_back({peftKey(namePrefix + name) + ".lora_B.weight", linear.lora_B});
  });
  return out;
}

void mergeLora(torch::nn::Module& root) {
  forEachLinear(root, [](const std::string&, LinearImpl& l) { l.merge(); });
}

void unmergeLora(torch::nn::Module& root) {
  forEachLinear(root, [](const std::string&, LinearImpl& l) { l.unmerge(); });
}

}  // namespace q3
