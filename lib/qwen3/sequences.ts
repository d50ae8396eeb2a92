// Token sequences as the native core takes them: every sequence's ids one after another in one Int32Array, and one
// length per sequence. The tokenizer thread hands ids over so, the encoder frames them so in one pass, and the core
// reads that buffer in place (csrc/binding/convert.h), cutting it into forward passes itself (csrc/core/batches.h).
// Nested number[][] exist only at the public edges that take or give them.

export interface TokenSequences {
  /** the sequences' ids, concatenated */
  ids: Int32Array;
  /** one per sequence */
  lengths: Int32Array;
}

const knownOffsets = new WeakMap<TokenSequences, Float64Array>();

/**
 * Where each sequence starts in `ids`, and one past the last: lengths.length + 1 offsets. Kept per object (a training
 * split gathers every micro-batch from them), so a TokenSequences is never changed once made.
 */
export function offsetsOf(s: TokenSequences): Float64Array {
  let offsets = knownOffsets.get(s);
  if (offsets) return offsets;
  offsets = new Float64Array(s.lengths.length + 1);
  for (let i = 0; i < s.lengths.length; i++) offsets[i + 1] = offsets[i] + s.lengths[i];
  knownOffsets.set(s, offsets);
  return offsets;
}

export function fromNested(sequences: readonly (readonly number[])[]): TokenSequences {
  const lengths = Int32Array.from(sequences, (seq) => seq.length);
  const ids = new Int32Array(lengths.reduce((a, b) => a + b, 0));
  let at = 0;
  for (const seq of sequences) {
    ids.set(seq, at);
    at += seq.length;
  }
  return { ids, lengths };
}

export function toNested(s: TokenSequences): number[][] {
  const out: number[][] = new Array(s.lengths.length);
  let at = 0;
  for (let i = 0; i < s.lengths.length; i++) {
    out[i] = Array.from(s.ids.subarray(at, at + s.lengths[i]));
    at += s.lengths[i];
  }
  return out;
}

/** Sequences from..to-1: views of the same buffers, no copy. */
export function sliceSequences(s: TokenSequences, from: number, to: number): TokenSequences {
  const offsets = offsetsOf(s);
  return { ids: s.ids.subarray(offsets[from], offsets[to]), lengths: s.lengths.subarray(from, to) };
}

/** The sequences `rows`, in that order, copied into new buffers (a training micro-batch). */
export function gatherSequences(s: TokenSequences, rows: readonly number[]): TokenSequences {
  const offsets = offsetsOf(s);
  const lengths = Int32Array.from(rows, (r) => s.lengths[r]);
  const ids = new Int32Array(lengths.reduce((a, b) => a + b, 0));
  let at = 0;
  for (const r of rows) {
    ids.set(s.ids.subarray(offsets[r], offsets[r + 1]), at);
    at += s.lengths[r];
  }
  return { ids, lengths };
}

export interface Framing {
  /** ids before each sequence's own */
  prefix?: readonly number[];
  /** ids after them */
  suffix?: readonly number[];
  /** most of each sequence's own ids kept (its first ones); default all */
  budget?: number;
  /** ids that stand for a sequence with none of its own (nothing to pool otherwise); default none */
  ifEmpty?: readonly number[];
  /** more ids after the suffix, per sequence (lora training: the gold label's word) */
  tail?: (index: number) => readonly number[];
}

/**
 * Each sequence as prefix + its first `budget` ids + suffix (+ tail), written in ONE pass into new buffers: the only
 * copy of the ids between the tokenizer thread and the native core.
 */
export function frameSequences(s: TokenSequences, f: Framing): TokenSequences {
  const prefix = f.prefix ?? [];
  const suffix = f.suffix ?? [];
  const budget = f.budget ?? Infinity;
  const n = s.lengths.length;
  const lengths = new Int32Array(n);
  const tails: (readonly number[])[] = new Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    tails[i] = f.tail?.(i) ?? [];
    const own = Math.min(s.lengths[i], budget);
    const body = own === 0 && f.ifEmpty ? f.ifEmpty.length : own;
    lengths[i] = prefix.length + body + suffix.length + tails[i].length;
    total += lengths[i];
  }
  const ids = new Int32Array(total);
  let from = 0;
  let at = 0;
  for (let i = 0; i < n; i++) {
    const own = Math.min(s.lengths[i], budget);
    ids.set(prefix, at);
    at += prefix.length;
    if (own === 0 && f.ifEmpty) {
      ids.set(f.ifEmpty, at);
      at += f.ifEmpty.length;
    } else {
      ids.set(s.ids.subarray(from, from + own), at);
      at += own;
    }
    ids.set(suffix, at);
    at += suffix.length;
    ids.set(tails[i], at);
    at += tails[i].length;
    from += s.lengths[i];
  }
  return { ids, lengths };
}
