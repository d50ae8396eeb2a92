// The Qwen3 sizes this package knows by name, for the CLI's choices and for `resolveModel('0.6B')`.
// Any other Qwen3 model folder still works when given as a folder or a Hugging Face repo id; presets only add names,
// repo ids and rough memory figures.
import { expectOneOf, invalidOption } from '../util/is';

export const MODEL_SIZES = ['0.6B', '4B', '8B'] as const;
export type ModelSize = (typeof MODEL_SIZES)[number];
/** The size training and prediction use when none is named: the one a 2-core CPU trains in minutes. */
export const DEFAULT_MODEL_SIZE: ModelSize = '0.6B';

/** 'causal': Qwen/Qwen3-{size} (label-word and seq-cls heads); 'embedding': Qwen/Qwen3-Embedding-{size}. */
export const MODEL_FAMILIES = ['causal', 'embedding'] as const;
export type ModelFamily = (typeof MODEL_FAMILIES)[number];

export interface ModelPreset {
  size: ModelSize;
  family: ModelFamily;
  /** Hugging Face repo id, e.g. 'Qwen/Qwen3-0.6B' */
  repoId: string;
  /** the repo's name without the organisation: the folder name under ./models ('Qwen3-0.6B') */
  name: string;
  /** parameters in billions (approximate) */
  paramsB: number;
  hiddenSize: number;
  layers: number;
  /** approximate size of the safetensors download, GB */
  downloadGB: number;
  /** approximate memory (GPU or RAM) for bf16 inference at a modest batch, GB */
  inferenceGB: number;
  /** approximate memory for LoRA fine-tuning in bf16 (batch ~8 x 256 tokens, AdamW on adapters), GB */
  loraTrainingGB: number;
}

// Approximations: weights in bf16 (2 bytes a parameter) plus activations, the KV-free forward pass and, for
// training, activations kept for backward plus LoRA/AdamW state. Real use depends on batch size, sequence length,
// gradient checkpointing and the allocator; treat these as a guide for choosing a size, not a guarantee.
const TABLE: Record<ModelFamily, Record<ModelSize, Omit<ModelPreset, 'size' | 'family' | 'repoId' | 'name'>>> = {
  causal: {
    '0.6B': { paramsB: 0.6, hiddenSize: 1024, layers: 28, downloadGB: 1.5, inferenceGB: 1.5, loraTrainingGB: 4 },
    '4B': { paramsB: 4.0, hiddenSize: 2560, layers: 36, downloadGB: 8.1, inferenceGB: 9, loraTrainingGB: 16 },
    '8B': { paramsB: 8.2, hiddenSize: 4096, layers: 36, downloadGB: 16.4, inferenceGB: 17, loraTrainingGB: 28 },
  },
  embedding: {
    '0.6B': { paramsB: 0.6, hiddenSize: 1024, layers: 28, downloadGB: 1.2, inferenceGB: 1.5, loraTrainingGB: 4 },
    '4B': { paramsB: 4.0, hiddenSize: 2560, layers: 36, downloadGB: 8.0, inferenceGB: 9, loraTrainingGB: 16 },
    '8B': { paramsB: 7.6, hiddenSize: 4096, layers: 36, downloadGB: 15.1, inferenceGB: 16, loraTrainingGB: 27 },
  },
};

/** 'Qwen/Qwen3-{size}' or 'Qwen/Qwen3-Embedding-{size}'. */
export function repoIdFor(size: ModelSize, family: ModelFamily = 'causal'): string {
  expectOneOf(size, 'size', MODEL_SIZES);
  expectOneOf(family, 'family', MODEL_FAMILIES);
  return family === 'causal' ? `Qwen/Qwen3-${size}` : `Qwen/Qwen3-Embedding-${size}`;
}

export function modelPreset(size: ModelSize, family: ModelFamily = 'causal'): ModelPreset {
  const repoId = repoIdFor(size, family);
  return { size, family, repoId, name: repoId.slice(repoId.indexOf('/') + 1), ...TABLE[family][size] };
}

/** Every preset, causal first, smallest first. */
export const MODEL_PRESETS: readonly ModelPreset[] = Object.freeze(
  MODEL_FAMILIES.flatMap((family) => MODEL_SIZES.map((size) => Object.freeze(modelPreset(size, family))))
);

/** A size written loosely: '0.6b', '0.6B', '4b', … -> the canonical ModelSize, else undefined. */
export function parseModelSize(text: string): ModelSize | undefined {
  if (typeof text !== 'string') return undefined;
  const upper = text.trim().toUpperCase();
  return MODEL_SIZES.find((size) => size === upper);
}

/**
 * The preset a spec names: a size ('0.6B', with `family`), a repo id ('Qwen/Qwen3-4B') or a repo name
 * ('Qwen3-Embedding-0.6B'), case-insensitive. Undefined when the spec names none of them.
 */
export function findPreset(spec: string, family: ModelFamily = 'causal'): ModelPreset | undefined {
  if (typeof spec !== 'string') return undefined;
  if (!(MODEL_FAMILIES as readonly string[]).includes(family)) throw invalidOption('family', family, MODEL_FAMILIES);
  const size = parseModelSize(spec);
  if (size) return MODEL_PRESETS.find((preset) => preset.size === size && preset.family === family);
  const lower = spec.trim().toLowerCase();
  return MODEL_PRESETS.find((preset) => preset.repoId.toLowerCase() === lower || preset.name.toLowerCase() === lower);
}

/** One line a preset for CLI listings: "0.6B  Qwen/Qwen3-0.6B  ~1.5 GB download, ~1.5 GB inference, ~4 GB LoRA". */
export function describePreset(preset: ModelPreset): string {
  return (
    `${preset.size.padEnd(5)} ${preset.repoId.padEnd(26)} ~${preset.downloadGB} GB download, ` +
    `~${preset.inferenceGB} GB to run (bf16), ~${preset.loraTrainingGB} GB to LoRA-train`
  );
}
