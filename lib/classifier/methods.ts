// The four training methods and every per-method fact, each written once: what a method is called, which Qwen3
// family it builds on, its training defaults, its run folder and weights file, its label texts and whether it
// trains in float32. Training, serving and the CLI (its help text included) all read them from here.
import * as path from 'path';
import { IM_END_ID, NEGATIVE_TOKEN_ID, POSITIVE_TOKEN_ID } from '../qwen3/tokens';
import type { ModelFamily } from '../qwen3/presets';

export type Method = 'embedding' | 'lora' | 'lora-head' | 'full';
export const METHODS: readonly Method[] = ['embedding', 'lora', 'lora-head', 'full'];

/** One line per method, for choices and help. */
export const METHOD_DESCRIPTIONS: Record<Method, string> = {
  lora: 'LoRA adapters; the model answers a label word, e.g. 正面/负面 (label-word logits, PEFT CAUSAL_LM)',
  'lora-head': 'LoRA adapters + an N-way score head (PEFT SEQ_CLS)',
  embedding: 'frozen Qwen3-Embedding + a small MLP head: fastest, fine on CPU',
  full: 'every weight + score head, float32 (needs the most memory)',
};

/** Qwen/Qwen3-Embedding-<size> for `embedding`; Qwen/Qwen3-<size> for the others. */
export function familyFor(method: Method): ModelFamily {
  return method === 'embedding' ? 'embedding' : 'causal';
}

/** `lora` and `lora-head` train PEFT LoRA adapters. */
export function usesLora(method: Method): boolean {
  return method === 'lora' || method === 'lora-head';
}

/**
 * `lora` learns the label word as the next token: its loss is cross-entropy over the whole vocabulary (151,936 rows
 * for Qwen3: ln 151,936 = 11.9 at the start), the others' over the N labels (ln 2 = 0.69 for two), so their curves
 * do not share an axis.
 */
export function lossOverVocabulary(method: Method): boolean {
  return method === 'lora';
}

/** `full` trains every weight, and so in float32 (bf16 weights would lose most small updates). */
export function needsFloat32(method: Method): boolean {
  return method === 'full';
}

export interface MethodDefaults {
  epochs: number;
  batchSize: number;
  learningRate: number;
}

export const METHOD_DEFAULTS: Record<Method, MethodDefaults> = {
  embedding: { epochs: 10, batchSize: 64, learningRate: 1e-3 },
  lora: { epochs: 2, batchSize: 8, learningRate: 2e-4 },
  'lora-head': { epochs: 2, batchSize: 8, learningRate: 2e-4 },
  // From scratch the dev accuracy peaks after ~2 epochs (weibo2018, 4 layers x 128: 84.5% at 2 epochs).
  full: { epochs: 2, batchSize: 32, learningRate: 1e-3 },
};

/** Methods tried, in order, when a run is looked up by size alone. */
export const DEFAULT_METHOD_ORDER: readonly Method[] = ['lora-head', 'lora', 'embedding', 'full'];

/** The default run folder's name: qwen3_<method>_<size> (qwen3_lora_head_0.6B). */
export function runFolderName(method: Method, size: string): string {
  return `qwen3_${method.replace('-', '_')}_${size}`;
}

/**
 * The names the old Python scripts gave a method's trained model under ./models (models_config.py's MODEL_PATHS):
 * qwen3_lora_0.6b_final (a PEFT adapter folder), qwen3_embedding_0.6b_sentiment.pth (a pickled head).
 */
export function legacyRunNames(method: Method, size: string): string[] {
  const s = size.toLowerCase();
  if (method === 'lora') return [`qwen3_lora_${s}_final`];
  if (method === 'embedding') return [`qwen3_embedding_${s}_sentiment.pth`];
  return [];
}

/**
 * Whether a finished run keeps checkpoint/ (to resume or extend it) unless told otherwise: not for `full`, whose
 * checkpoint holds the weights plus AdamW's two moments, 3x the model's size (0.6B in float32: ~7 GB).
 */
export function keepsCheckpointByDefault(method: Method): boolean {
  return method !== 'full';
}

/** The default run folder: ./models/qwen3_<method>_<size>, or under `modelsDir`. */
export function defaultOutput(method: Method, size: string, modelsDir = path.resolve('models')): string {
  return path.join(modelsDir, runFolderName(method, size));
}

/** The file a run keeps its trained weights in. */
export function weightsFileFor(method: Method): string {
  if (usesLora(method)) return 'adapter_model.safetensors'; // PEFT's name, so PeftModel.from_pretrained reads it
  return method === 'full' ? 'model.safetensors' : 'head.safetensors';
}

/** embedding: the mlp head's dropout in training, the old script's Linear-ReLU-Dropout(0.3)-Linear. */
export const EMBEDDING_HEAD_DROPOUT = 0.3;

// ---- labels (the default, binary set; any other set: labels.ts) ----

export const NEGATIVE_LABEL_TEXT = '负面';
export const POSITIVE_LABEL_TEXT = '正面';
/** Label id -> text: 0 负面 (negative), 1 正面 (positive). */
export const LABEL_TEXTS: readonly ['负面', '正面'] = [NEGATIVE_LABEL_TEXT, POSITIVE_LABEL_TEXT];
/** run.json's and config.json's id2label. */
export const ID2LABEL: Record<string, string> = Object.fromEntries(LABEL_TEXTS.map((text, id) => [String(id), text]));

// ---- how each method reads a post ----

export const DEFAULT_LORA_PROMPT = "请分析以下微博文本的情感倾向，回答'正面'或'负面'。\n\n文本：{text}\n\n情感：";
export const DEFAULT_EMBEDDING_INSTRUCTION = '判断微博文本的情感倾向是正面还是负面';
/** lora: the token that answers each label, label 0 first (负面, 正面: single tokens). */
export const DEFAULT_LABEL_TOKENS: readonly number[] = [NEGATIVE_TOKEN_ID, POSITIVE_TOKEN_ID];
/** lora: the token that ends an answer. */
export const DEFAULT_END_TOKEN = IM_END_ID;

/**
 * `full` trains from scratch: a fixed final token (<|im_end|>, not the pad token HF's pooling skips) gives
 * last-token pooling one consistent query position. Measured on weibo2018 (4 layers, hidden 128, 3 epochs, one
 * seed): 82.4-82.9% dev accuracy without it, 83.4% with it.
 */
export function defaultAppendToken(method: Method): number | undefined {
  return method === 'full' ? IM_END_ID : undefined;
}
