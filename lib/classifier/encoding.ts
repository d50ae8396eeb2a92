// How each method turns a post into the token ids the model sees. Training and prediction share this code, so a
// trained classifier always gets inputs shaped as in training (Predictor.encode returns exactly these ids).
import { ENDOFTEXT_ID } from '../qwen3/tokens';
import type { Qwen3Tokenizer } from '../qwen3/tokenizer';
import { isDefaultLabels, type LabelSet } from './labels';
import { DEFAULT_LABEL_TOKENS, DEFAULT_LORA_PROMPT, type Method } from './methods';

/**
 * lora: the answer token of each label word, label 0 first. The default set keeps today's tokens (负面, 正面). Each
 * word must be one token of its own: a word of several tokens, or two words with one token, would need each word's
 * token log-probabilities summed over its tokens, which this package does not do yet; such a set is refused with
 * the words at fault, rather than scored wrongly.
 */
export async function labelTokensFor(labels: LabelSet, tokenizer: Qwen3Tokenizer): Promise<number[]> {
  if (isDefaultLabels(labels)) return [...DEFAULT_LABEL_TOKENS];
  const encoded = await tokenizer.encodeBatch([...labels]);
  const problems: string[] = [];
  const owner = new Map<number, string>();
  encoded.forEach((ids, i) => {
    if (ids.length !== 1) problems.push(`"${labels[i]}" is ${ids.length} tokens`);
    else if (owner.has(ids[0])) problems.push(`"${labels[i]}" and "${owner.get(ids[0])}" are the same token`);
    else owner.set(ids[0], labels[i]);
  });
  if (problems.length)
    throw new Error(
      `method lora answers with one token per label, but ${problems.join(', ')}. Multi-token label words are not ` +
        'supported yet: pick label words that are one token each in Qwen3 (e.g. 消极,一般,积极 or 很差,差,一般,好,很好; ' +
        '中性 is 2 tokens), or train with method lora-head, full or embedding, which take any label names'
    );
  return encoded.map((ids) => ids[0]);
}

export interface EncodingSpec {
  method: Method;
  /** most tokens one input may have; the post's text is truncated to fit (prompt and answer kept whole) */
  maxLength: number;
  /** lora: the prompt, with {text} where the post goes */
  prompt?: string;
  /** embedding: Qwen3-Embedding instruction (text becomes `Instruct: …\nQuery:…`); empty for none */
  instruction?: string;
  /** lora: token id of each label's answer, label 0 first */
  labelTokens?: readonly number[];
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
        ? this.prefix.length + this.suffix.length + 1
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

  /** ids the model reads to predict (lora: up to the answer position) */
  async encodeForPrediction(texts: readonly string[]): Promise<number[][]> {
    await this.ready;
    const budget = this.textBudget();
    const prepared =
      this.spec.method === 'embedding' && this.spec.instruction
        ? texts.map((t) => `Instruct: ${this.spec.instruction}\nQuery:${t}`)
        : [...texts];
    const encoded = await this.tokenizer.encodeBatch(prepared);
    return encoded.map((ids) => {
      const text = ids.slice(0, budget);
      switch (this.spec.method) {
        case 'lora':
          return [...this.prefix, ...text, ...this.suffix];
        case 'embedding':
          return [...text, ENDOFTEXT_ID];
        default:
          if (this.spec.appendToken !== undefined) return [...text, this.spec.appendToken];
          // An empty post still needs one token to pool.
          return text.length > 0 ? text : [ENDOFTEXT_ID];
      }
    });
  }

  /** ids for a training step: for lora the answer token is appended (the end token is the core's target) */
  async encodeForTraining(texts: readonly string[], labels: readonly number[]): Promise<number[][]> {
    const ids = await this.encodeForPrediction(texts);
    if (this.spec.method !== 'lora') return ids;
    const answers = this.spec.labelTokens ?? DEFAULT_LABEL_TOKENS;
    return ids.map((seq, i) => [...seq, answers[labels[i]]]);
  }
}
