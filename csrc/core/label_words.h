// lora's label words as token sequences: a word may span several tokens, and words may share their first tokens
// (消极,中性,积极 in Qwen3: 中性 is 2 tokens). Label k of a text scores the sum of the log-probabilities of its tokens,
// each given the prompt and the word's tokens before it; the class probabilities are the softmax of those sums.
// When every word is one token of its own, that softmax equals the softmax of the label tokens' logits at the answer
// position (log-probs differ from logits by one log-normaliser per row), which Classifier computes on its own
// one-position path.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "prompt_cache.h"
#include "qwen3.h"
#include "requests.h"

namespace q3 {

using LabelWords = std::vector<std::vector<int64_t>>;

// tokens: the words concatenated, label 0 first; counts: tokens per word (empty: one each). Throws when they do
// not describe numLabels non-empty, distinct words.
LabelWords splitLabelWords(const std::vector<int64_t>& tokens, const std::vector<int64_t>& counts, int64_t numLabels);
// Every word one token, no two alike: the one-position path applies.
bool oneTokenEach(const LabelWords& words);

// [B, labels] float32 summed log-probabilities of each label word after each sequence (inference). The sequences
// run once (keeping each one's keys and values); then the words' later tokens of every sequence run as ONE batch,
// each row attending to its own sequence's keys and values. Never generation.
torch::Tensor labelWordScores(Qwen3ForCausalLMImpl& lm, PromptCache& cache, const SequenceBatch& batch,
                              const LabelWords& words);

// Training a lora sequence (prompt + its label's word): the flat [B * T] slots of hidden states whose logits are
// scored, and their targets: each token of the word from the slot before it, then endToken from the word's last
// token. sequences/T as makeTokenBatch laid them out. Throws when a sequence does not end with its label's word.
void answerSlots(const SequenceBatch& sequences, int64_t T, const std::vector<int64_t>& labels, const LabelWords& words,
                 int64_t endToken, std::vector<int64_t>* slots, std::vector<int64_t>* targets);

}  // namespace q3
