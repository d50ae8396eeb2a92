// The core alone (no Node) against the float64 goldens of test/fixtures, as test/model.test.js checks it through the
// addon: when this passes and the JS test fails, the bug is in the binding or lib/. Same tolerances as the JS tests
// (test/fixtures/README.md: an fp32 backend is within 3.4e-6 on logits and 2.7e-7 on embeddings).
//   qwen3_core_test <test/fixtures>      (scripts/core-test.sh builds and runs it through ctest)
#include <cmath>
#include <cstdio>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../core/engine.h"
#include "../core/json.h"

namespace {

constexpr double kLogitsTolerance = 1e-4;
constexpr double kEmbeddingTolerance = 1e-5;

q3::Json readJson(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(file + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return q3::Json::parse(text.str());
}

// The config.json keys the core takes (lib/config.ts has already checked the fixtures).
q3::Qwen3Config configOf(const q3::Json& j) {
  q3::Qwen3Config c;
  c.hidden_size = j.at("hidden_size").asInt();
  c.num_hidden_layers = j.at("num_hidden_layers").asInt();
  c.num_attention_heads = j.at("num_attention_heads").asInt();
  c.num_key_value_heads = j.at("num_key_value_heads").asInt();
  c.head_dim = j.at("head_dim").asInt();
  c.intermediate_size = j.at("intermediate_size").asInt();
  c.rms_norm_eps = j.at("rms_norm_eps").asNumber();
  c.rope_theta = j.at("rope_theta").asNumber();
  c.tie_word_embeddings = j.at("tie_word_embeddings").asBool();
  return c;
}

struct Fixture {
  q3::Engine engine;
  q3::Json goldens;
  q3::SequenceBatch batch;  // every golden sequence, one batch
  q3::LoadResult loaded;
};

void open(Fixture& f, const std::string& fixtures, const std::string& name) {
  const std::string dir = fixtures + "/models/" + name;
  q3::LoadRequest req;
  req.files = {dir + "/model.safetensors"};
  req.config = configOf(readJson(dir + "/config.json"));
  req.device = "cpu";
  req.dtype = "float32";
  f.loaded = f.engine.load(req);
  f.goldens = readJson(fixtures + "/goldens/" + name + ".json");
  for (const q3::Json& seq : f.goldens.at("sequences").items()) {
    for (const q3::Json& id : seq.items()) f.batch.ids.push_back(static_cast<int32_t>(id.asInt()));
    f.batch.lengths.push_back(static_cast<int64_t>(seq.size()));
  }
}

// Largest |actual - golden| over all rows; prints it and whether it is within `tolerance`.
bool compare(const std::string& what, const std::vector<float>& actual, const q3::Json& goldenRows, double tolerance) {
  double worst = 0;
  size_t k = 0;
  for (const q3::Json& row : goldenRows.items())
    for (const q3::Json& v : row.items()) {
      if (k >= actual.size()) {
        std::printf("FAIL %s: %zu values, the goldens have more\n", what.c_str(), actual.size());
        return false;
      }
      worst = std::max(worst, std::fabs(actual[k++] - v.asNumber()));
    }
  const bool ok = k == actual.size() && worst <= tolerance;
  std::printf("%s %s: max |difference| %.3g (tolerance %.0e, %zu values)\n", ok ? "ok  " : "FAIL", what.c_str(), worst,
              tolerance, k);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <test/fixtures>\n", argv[0]);
    return 2;
  }
  const std::string fixtures = argv[1];
  bool ok = true;
  try {
    {
      Fixture causal;
      open(causal, fixtures, "tiny-tied-f32");
      ok &= compare("tiny-tied-f32 last-token logits", causal.engine.lastTokenLogits(causal.batch),
                    causal.goldens.at("last_token_logits"), kLogitsTolerance);
      ok &= compare("tiny-tied-f32 embeddings", causal.engine.lastTokenHidden(causal.batch, /*normalize=*/true),
                    causal.goldens.at("embedding"), kEmbeddingTolerance);
    }
    {
      Fixture embedding;
      open(embedding, fixtures, "tiny-embedding-f32");
      ok &= compare("tiny-embedding-f32 embeddings", embedding.engine.lastTokenHidden(embedding.batch, true),
                    embedding.goldens.at("embedding"), kEmbeddingTolerance);
      const bool headless = !embedding.loaded.hasLmHead && embedding.loaded.keyPrefix.empty();
      std::printf("%s tiny-embedding-f32 loads as a Qwen3Model without lm_head\n", headless ? "ok  " : "FAIL");
      ok &= headless;
    }
  } catch (const std::exception& e) {
    std::printf("FAIL: %s\n", e.what());
    return 1;
  }
  return ok ? 0 : 1;
}
