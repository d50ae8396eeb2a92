// Token attributions as spans of the post: the core scores each token (csrc/core/attribution.cpp); a Qwen3 token is
// bytes, and a Chinese character (3 bytes in UTF-8) may be split between two tokens, so tokens are merged until a
// span ends on a character boundary, and the span's score is the sum of its tokens'.
import type { ExplanationInput } from '../classifier/encoding';
import type { AttributionSpan } from './schema';

/** Spans of the post with their scores, in order; `scores` has one per token of input.from..to. */
export function attributionSpans(input: ExplanationInput, scores: Float64Array): AttributionSpan[] {
  const spans: AttributionSpan[] = [];
  let start = 0;
  let score = 0;
  input.ends.forEach((end, i) => {
    score += scores[i];
    if (end < 0) return; // the next token holds the rest of this character
    // Embedding: the first token may begin in the instruction before the post (its ':' and the post's first word
    // can be one token); only the post's part of it is shown.
    const from = Math.max(start, input.textStart);
    if (end > from)
      spans.push({
        text: input.decoded.slice(from, end),
        start: from - input.textStart,
        end: end - input.textStart,
        score,
      });
    start = end;
    score = 0;
  });
  return spans;
}

/** Each span's strength: its |score| as a share of the post's largest (0 to 1), what displays shade or mark by. */
export function strengths(tokens: readonly AttributionSpan[]): number[] {
  const top = Math.max(0, ...tokens.map((s) => Math.abs(s.score)));
  return tokens.map((s) => (top > 0 ? Math.abs(s.score) / top : 0));
}
