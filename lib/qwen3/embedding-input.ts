// Qwen3-Embedding's input format, spelled once: a query is `Instruct: {instruction}\nQuery:{text}` (the text alone
// without an instruction), and <|endoftext|> goes after its tokens, as Qwen3-Embedding's tokenizer appends it; the
// model pools that last token. Qwen3Model.embed and the embedding method's encoder (classifier/encoding.ts) both
// encode through here, so the vectors a head was trained on and the ones it is served are made alike.
import { frameSequences, type TokenSequences } from './sequences';
import type { Qwen3Tokenizer } from './tokenizer';
import { ENDOFTEXT_ID } from './tokens';

/** The text the tokenizer reads for a query. */
export function embeddingQuery(text: string, instruction?: string): string {
  return instruction ? `Instruct: ${instruction}\nQuery:${text}` : text;
}

/** Token ids of each query, cut to its first `budget` tokens, then <|endoftext|>. */
export async function encodeEmbeddingInput(
  tokenizer: Qwen3Tokenizer,
  texts: readonly string[],
  instruction?: string,
  budget?: number
): Promise<TokenSequences> {
  const queries = instruction ? texts.map((t) => embeddingQuery(t, instruction)) : texts;
  return frameSequences(await tokenizer.encodeFlat(queries), { budget, suffix: [ENDOFTEXT_ID] });
}
