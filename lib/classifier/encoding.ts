// How each method turns a post into the token ids the model sees. Training and prediction share this code, so a
// trained classifier always gets inputs shaped as in training (Predictor.encode returns exactly these ids).
import { embeddingQuery, encodeEmbeddingInput } from '../qwen3/embedding-input';
import { frameSequences, type TokenSequences } from '../qwen3/sequences';
import { ENDOFTEXT_ID } from '../qwen3/tokens';
import type { Qwen3Tokenizer } from '../qwen3/tokenizer';
import { isDefaultLabels, type LabelSet } from './labels';
import { DEFAULT_LABEL_TOKENS, DEFAULT_LORA_PROMPT, type Method } from './methods';

/** lora: each label's answer word as token ids, label 0 first, the words concatenated (run.json and the native spec
 * keep them so). labelTokenCounts: tokens per word, present only when some word is not one token. */
export interface LabelAnswers {
  labelTokens: number[];
  labelTokenCounts?: number[];
}

/**
 * lora: the answer word of each label as tokens. The default set keeps today's tokens (负面, 正面). A word may span
 * several tokens (中性 is 2 in Qwen3) or share its first token with another: label k then scores the sum of its
 * word's token log-probabilities (each given the prompt and the word's tokens before it) and the class
 * probabilities are the softmax of those sums (csrc/core/label_words.h). When every word is one token of its own
 * that is the same softmax as over the label tokens' logits at the answer position, which is how such a set is
 * still scored. Two words of the very same tokens could not be told apart: refused, naming them.
 */
export async function labelTokensFor(labels: LabelSet, tokenizer: Qwen3Tokenizer): Promise<LabelAnswers> {
  if (isDefaultLabels(labels)) return { labelTokens: [...DEFAULT_LABEL_TOKENS] };
  const encoded = await tokenizer.encodeBatch([...labels]);
  const problems: string[] = [];
  const owner = new Map<string, string>();
  encoded.forEach((ids, i) => {
    const key = ids.join(',');
    if (ids.length === 0) problems.push(`"${labels[i]}" is no token at all`);
    else if (owner.has(key)) problems.push(`"${labels[i]}" and "${owner.get(key)}" are the same tokens (${key})`);
    else owner.set(key, labels[i]);
  });
  if (problems.length)
    throw new Error(
      `method lora answers with each label's word, but ${problems.join(', ')}: pick label words the tokenizer ` +
        'tells apart, or train with method lora-head, full or embedding, which take any label names'
    );
  const labelTokens = encoded.flat();
  if (encoded.every((ids) => ids.length === 1)) return { labelTokens };
  return { labelTokens, labelTokenCounts: encoded.map((ids) => ids.length) };
}

/** The label words of LabelAnswers as one token list each (label 0 first). */
export function labelWords(labelTokens: readonly number[], labelTokenCounts?: readonly number[]): number[][] {
  if (!labelTokenCounts) return labelTokens.map((id) => [id]);
  let at = 0;
  return labelTokenCounts.map((n) => labelTokens.slice(at, (at += n)));
}

/** One post framed for an explanation (ExampleEncoder.encodeForExplanation). */
export interface ExplanationInput {
  /** the ids predict reads */
  ids: Int32Array;
  /** the post's own ids are ids[from, to) (embedding: the query's, instruction included) */
  from: number;
  to: number;
  /** per id of [from, to): where it ends in `decoded`, in UTF-16 units; -1 inside a character (tokenEnds) */
  ends: number[];
  /** what ids[from, to) decode to: the text read (in NFC, the tokenizer's normalization), cut where the post was */
  decoded: string;
  /** where the post starts in `decoded` (embedding: after the instruction; else 0) */
  textStart: number;
}

/**
 * Where each token ends in the text, from the decodings of the first 1, 2, ... tokens. Qwen3's tokens are bytes, and
 * a character's bytes may be split between tokens: a decoding that ends in U+FFFD stopped inside a character, -1.
 */
export function tokenEnds(prefixes: readonly string[]): number[] {
  return prefixes.map((p) => (p.endsWith('\uFFFD') ? -1 : p.length));
}

export interface EncodingSpec {
  method: Method;
  /** most tokens one input may have; the post's text is truncated to fit (prompt and answer kept whole) */
  maxLength: number;
  /** lora: the prompt, with {text} where the post goes */
  prompt?: string;
  /** embedding: Qwen3-Embedding instruction (qwen3/embedding-input.ts); empty for none */
  instruction?: string;
  /** lora: each label's answer word as tokens, label 0 first, concatenated (LabelAnswers) */
  labelTokens?: readonly number[];
  /** lora: tokens per label word; absent: one each */
  labelTokenCounts?: readonly number[];
  /** lora-head/full: a token appended to every post, so the pooled last position is always the same token */
  appendToken?: number;
}

export class ExampleEncoder {
  private prefix: number[] = [];
  private suffix: number[] = [];
  private ready: Promise<void>;

  constructor(
    private readonly tokenizer: Qwen3Tokenizer,
    readonly spec: EncodingSpec
  ) {
    this.ready = this.init();
  }

  private async init(): Promise<void> {
    if (this.spec.method !== 'lora') return;
    const prompt = this.spec.prompt ?? DEFAULT_LORA_PROMPT;
    const at = prompt.indexOf('{text}');
    if (at < 0) throw new Error(`Expected the prompt to contain {text} but received ${JSON.stringify(prompt)}`);
    // Encoded apart from the text so that truncating a long post never cuts into the prompt.
    this.prefix = at > 0 ? await this.tokenizer.encode(prompt.slice(0, at)) : [];
    const rest = prompt.slice(at + '{text}'.length);
    this.suffix = rest ? await this.tokenizer.encode(rest) : [];
  }

  /** token budget left for the post's own text */
  private textBudget(): number {
    const appended = this.spec.appendToken === undefined ? 0 : 1;
    const reserved =
      this.spec.method === 'lora'
        ? this.prefix.length + this.suffix.length + Math.max(1, ...(this.spec.labelTokenCounts ?? []))
        : this.spec.method === 'embedding'
          ? 1
          : appended;
    const budget = this.spec.maxLength - reserved;
    if (budget < 1)
      throw new Error(
        `maxLength ${this.spec.maxLength} leaves no room for the text after the prompt (${reserved} tokens)`
      );
    return budget;
  }

  /** ids the model reads to predict (lora: up to the answer position), flat (qwen3/sequences.ts) */
  encodeForPrediction(texts: readonly string[]): Promise<TokenSequences> {
    return this.encode(texts);
  }

  /**
   * One post as predict reads it, for an explanation: which of its ids are the post's own ([from, to); none for an
   * empty post) and where each of those ends in the text the tokenizer read (tokenEnds).
   */
  async encodeForExplanation(text: string): Promise<ExplanationInput> {
    const { ids } = await this.encode([text]);
    const { method, instruction } = this.spec;
    // The text whose tokens the post's ids are: the post alone, or (embedding) the query that holds it.
    const read = method === 'embedding' ? embeddingQuery(text, instruction) : text;
    const own = Math.min((await this.tokenizer.encode(read)).length, this.textBudget());
    const from = method === 'lora' ? this.prefix.length : 0;
    const to = from + own;
    const prefixes = await this.tokenizer.decodeBatch(
      Array.from({ length: own }, (_, i) => Array.from(ids.subarray(from, from + i + 1)))
    );
    const ends = tokenEnds(prefixes);
    const textStart = read.length - text.length;
    // Embedding: the instruction's tokens stay as they are (in the baseline too); attributed are the tokens from the
    // first one (with the rest of its character) that reaches into the post.
    let skip = 0;
    for (let i = 0; i < ends.length && ends[i] <= textStart; i++) if (ends[i] !== -1) skip = i + 1;
    return {
      ids,
      from: from + skip,
      to,
      ends: ends.slice(skip),
      decoded: prefixes.length ? prefixes[prefixes.length - 1] : '',
      textStart,
    };
  }

  /**
   * ids for a training step: for lora the gold label's word is appended (its tokens and then the end token are the
   * core's targets, the loss' only terms)
   */
  encodeForTraining(texts: readonly string[], labels: readonly number[]): Promise<TokenSequences> {
    if (this.spec.method !== 'lora') return this.encode(texts);
    const words = labelWords(this.spec.labelTokens ?? DEFAULT_LABEL_TOKENS, this.spec.labelTokenCounts);
    return this.encode(texts, (i) => words[labels[i]]);
  }

  /** The posts' tokens cut to the text budget and framed as the method reads them, in one pass into new buffers. */
  private async encode(texts: readonly string[], tail?: (index: number) => readonly number[]): Promise<TokenSequences> {
    await this.ready;
    const budget = this.textBudget();
    const { method, appendToken, instruction } = this.spec;
    if (method === 'embedding') return encodeEmbeddingInput(this.tokenizer, texts, instruction, budget);
    const posts = await this.tokenizer.encodeFlat(texts);
    if (method === 'lora') return frameSequences(posts, { prefix: this.prefix, suffix: this.suffix, budget, tail });
    if (appendToken !== undefined) return frameSequences(posts, { budget, suffix: [appendToken] });
    // An empty post still needs one token to pool.
    return frameSequences(posts, { budget, ifEmpty: [ENDOFTEXT_ID] });
  }
}
