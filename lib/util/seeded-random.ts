// Deterministic pseudo-random numbers: the same seed gives the same sequence on every platform and Node version,
// which Math.random cannot promise. Used for data splits, sampling and tiny test models.

/** mulberry32: 32-bit state, period 2^32; plenty for shuffles and for the few million draws a tiny model needs. */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = mixSeed(seed);
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in the open interval (0, 1): never 0, so log() is always finite. */
  nextFloat(): number {
    return (this.nextUint32() + 0.5) / 4294967296;
  }

  /** Uniform integer in [0, bound). */
  nextInt(bound: number): number {
    return Math.floor(this.nextFloat() * bound);
  }

  /** Fills `out` with N(mean, std) samples using Box–Muller (both outputs of each pair are used). */
  fillNormal(out: Float32Array, mean: number, std: number): Float32Array {
    for (let i = 0; i < out.length; i += 2) {
      const radius = Math.sqrt(-2 * Math.log(this.nextFloat()));
      const angle = 2 * Math.PI * this.nextFloat();
      out[i] = mean + std * radius * Math.cos(angle);
      if (i + 1 < out.length) out[i + 1] = mean + std * radius * Math.sin(angle);
    }
    return out;
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const swap = items[i];
      items[i] = items[j];
      items[j] = swap;
    }
    return items;
  }
}

/** Folds any safe integer seed (including ones above 2^32) into 32 bits and scrambles it (splitmix32 finaliser). */
export function mixSeed(seed: number): number {
  let h = (seed >>> 0) ^ Math.imul(Math.floor(seed / 4294967296) >>> 0, 0x9e3779b9);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** FNV-1a over the UTF-16 code units of a string, for deriving independent streams from names. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A stream that depends on both the seed and a name, so adding one named stream never shifts another. */
export function namedRandom(seed: number, name: string): SeededRandom {
  return new SeededRandom((mixSeed(seed) ^ hashString(name)) >>> 0);
}
