#include "label_words.h"

#include <set>
#include <stdexcept>
#include <string>

#include "device.h"

namespace q3 {

LabelWords splitLabelWords(const std::vector<int64_t>& tokens, const std::vector<int64_t>& counts, int64_t numLabels) {
  const std::vector<int64_t> each = counts.empty() ? std::vector<int64_t>(tokens.size(), 1) : counts;
  if (static_cast<int64_t>(each.size()) != numLabels)
    throw std::invalid_argument("method 'lora' needs one label word per label (" + std::to_string(each.size()) +
                                " words for " + std::to_string(numLabels) + " labels)");
  LabelWords words;
  size_t at = 0;
  for (int64_t n : each) {
    if (n < 1) throw std::invalid_argument("method 'lora': a label word needs at least one token");
    if (at + static_cast<size_t>(n) > tokens.size()) break;
    words.emplace_back(tokens.begin() + at, tokens.begin() + at + n);
    at += n;
  }
  if (at != tokens.size() || static_cast<int64_t>(words.size()) != numLabels)
    throw std::invalid_argument("method 'lora': labelTokens holds " + std::to_string(tokens.size()) +
                                " tokens but the label words' token counts add up to another number");
  if (std::set<std::vector<int64_t>>(words.begin(), words.end()).size() != words.size())
    throw std::invalid_argument("method 'lora': two label words are the same tokens");
  return words;
}

bool oneTokenEach(const LabelWords& words) {
  for (const auto& w : words)
    if (w.size() != 1) return false;
  return true;  // distinct: splitLabelWords refuses words alike
}

torch::Tensor labelWordScores(Qwen3ForCausalLMImpl& lm, PromptCache& cache, const SequenceBatch& batch,
                              const LabelWords& words) {
  Qwen3ModelImpl& model = *lm.model;
  const torch::Device device = model.embed_tokens->weight.device();
  const int64_t B = static_cast<int64_t>(batch.size()), K = static_cast<int64_t>(words.size());
  PrefixKV kept;
  torch::Tensor last = cache.lastHidden(model, batch, &kept);  // [B, hidden]
  // Log-probs need the whole vocabulary's logits (a mapped embedding table is read in full: the one-position path,
  // whose softmax over label logits needs no normaliser, keeps words of one token free of that).
  torch::Tensor first = torch::log_softmax(lm.logits(last).to(torch::kFloat), -1);  // [B, vocab]
  std::vector<int64_t> firstTokens;
  for (const auto& w : words) firstTokens.push_back(w[0]);
  torch::Tensor scores = first.index_select(1, longTensor(firstTokens, device));  // [B, K]

  // One row per (sequence, word of 2+ tokens): the word's tokens but its last, after the sequence's own keys and
  // values; position t of the row predicts the word's token t + 1.
  std::vector<int32_t> ids;
  std::vector<int64_t> lengths, rowSequence, slots, targets, cells;
  int64_t T = 0;
  for (const auto& w : words) T = std::max<int64_t>(T, static_cast<int64_t>(w.size()) - 1);
  if (T == 0) return scores;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t k = 0; k < K; ++k) {
      const auto& w = words[k];
      const int64_t n = static_cast<int64_t>(w.size()) - 1;
      if (n == 0) continue;
      const int64_t row = static_cast<int64_t>(lengths.size());
      for (int64_t t = 0; t < n; ++t) {
        ids.push_back(static_cast<int32_t>(w[t]));
        slots.push_back(row * T + t);  // padded right: slot t of the row
        targets.push_back(w[t + 1]);
        cells.push_back(b * K + k);
      }
      lengths.push_back(n);
      rowSequence.push_back(b);
    }
  torch::Tensor rows = longTensor(rowSequence, device);
  PrefixKV own;
  for (size_t l = 0; l < kept.keys.size(); ++l) {
    own.keys.push_back(kept.keys[l].index_select(0, rows));
    own.values.push_back(kept.values[l].index_select(0, rows));
  }
  own.valid = kept.valid.index_select(0, rows);
  own.next = kept.next.index_select(0, rows);
  TokenBatch tb =
      makeTokenBatch(SequenceBatch::concatenated(ids.data(), lengths, /*padLeft=*/false), kPadTokenId, device);
  torch::Tensor hidden = model.forward(tb, &own);  // [R, T, hidden]
  torch::Tensor h = hidden.reshape({-1, hidden.size(-1)}).index_select(0, longTensor(slots, device));
  torch::Tensor logp = torch::log_softmax(lm.logits(h).to(torch::kFloat), -1);                 // [S, vocab]
  torch::Tensor picked = logp.gather(1, longTensor(targets, device).unsqueeze(1)).squeeze(1);  // [S]
  return scores.reshape({-1}).index_add(0, longTensor(cells, device), picked).view({B, K});
}

void answerSlots(const SequenceBatch& sequences, int64_t T, const std::vector<int64_t>& labels, const LabelWords& words,
                 int64_t endToken, std::vector<int64_t>* slots, std::vector<int64_t>* targets) {
  if (labels.size() != sequences.size()) throw std::invalid_argument("lora training needs one label per sequence");
  for (size_t b = 0; b < labels.size(); ++b) {
    const int64_t len = sequences.lengths[b];
    const int32_t* ids = sequences.sequence(b);
    if (labels[b] < 0 || labels[b] >= static_cast<int64_t>(words.size()))
      throw std::invalid_argument("label " + std::to_string(labels[b]) + " is outside the label set");
    const auto& w = words[labels[b]];
    const int64_t n = static_cast<int64_t>(w.size());
    if (len < n + 1) throw std::invalid_argument("a lora training sequence needs the prompt and its label's word");
    for (int64_t t = 0; t < n; ++t)
      if (ids[len - n + t] != w[t])
        throw std::invalid_argument("lora training sequence " + std::to_string(b) +
                                    " does not end with its label's word");
    const int64_t start = sequences.padLeft ? T - len : 0;
    // Slots len - n - 1 .. len - 1: the position before the word predicts its first token, ..., its last token
    // predicts the end token.
    for (int64_t j = len - n - 1; j < len; ++j) {
      slots->push_back(static_cast<int64_t>(b) * T + start + j);
      targets->push_back(j + 1 < len ? ids[j + 1] : endToken);
    }
  }
}

}  // namespace q3
