// Qwen3 token ids the package relies on. They are the same in every Qwen3 size (one shared tokenizer);
// test/qwen3/tokenizer.test.js checks them against the real tokenizer.json.

/** <|endoftext|>: Qwen3's pad token and the token Qwen3-Embedding appends before pooling. */
export const ENDOFTEXT_ID = 151643;
/** <|im_start|>: opens a chat turn. */
export const IM_START_ID = 151644;
/** <|im_end|>: closes a chat turn; eos_token_id of the causal Qwen3 models. */
export const IM_END_ID = 151645;
/** 正面 ("positive"), a single token. */
export const POSITIVE_TOKEN_ID = 106557;
/** 负面 ("negative"), a single token. */
export const NEGATIVE_TOKEN_ID = 103276;

/** Qwen3 has no pad_token_id in config.json; HF pads with <|endoftext|>. */
export const PAD_TOKEN_ID = ENDOFTEXT_ID;

/** Rows of the embedding matrix in the causal models (0.6B, 4B, 8B): more than the tokenizer's 151,669 ids. */
export const QWEN3_VOCAB_SIZE = 151936;
/** Rows in Qwen3-Embedding-0.6B: exactly the tokenizer's ids. */
export const QWEN3_EMBEDDING_VOCAB_SIZE = 151669;
