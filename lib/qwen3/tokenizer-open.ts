// Builds a tokenizer the way the tokenizer thread keeps it. One change from the library's defaults: BPE's word cache
// is off. It holds 10,000 words and evicts the oldest; Weibo text (runs of Chinese characters are one word to Qwen3's
// pre-tokenizer) rarely repeats a word, so the cache fills within ~2,000 posts and then churns: every evicted entry
// had lived long enough to reach V8's old generation, which grew by ~4 MB per 1,000 posts until a full collection
// (+40 MB of resident memory over a 10,000-prediction soak). Without it the heap stays flat (96.8 MB through 20,000
// posts) and encoding is no slower: 119k vs 106k tokens/s on 10,000 distinct posts (measured on @huggingface/tokenizers
// 0.2.0; the cache wins only on text it has seen, 380k tokens/s when the same 2,000 posts repeat).
import { Tokenizer, type BPE } from '@huggingface/tokenizers';

export function openTokenizer(tokenizerJson: object, tokenizerConfig: object): Tokenizer {
  const t = new Tokenizer(tokenizerJson, tokenizerConfig);
  // Words up to this many characters are cached; 0 caches none. Other models (WordPiece, Unigram) have no such cache.
  const model = t.model as Partial<BPE> | null;
  if (model && typeof model.max_length_to_cache === 'number') model.max_length_to_cache = 0;
  return t;
}
