// PEFT's LoRA adapter format, both ways: the adapter_config.json a run writes beside adapter_model.safetensors (so
// PeftModel.from_pretrained loads it), the settings read back from one, and a run description for a bare adapter
// folder trained in Python.
import * as fs from 'fs';
import * as path from 'path';
import { readJsonObject, JsonFileError } from '../util/json-file';
import { id2label } from '../classifier/labels';
import {
  DEFAULT_END_TOKEN,
  DEFAULT_LABEL_TOKENS,
  DEFAULT_LORA_PROMPT,
  ID2LABEL,
  type Method,
} from '../classifier/methods';
import {
  AdapterConfigSchema,
  RUN_FORMAT,
  RUN_VERSION,
  type AdapterConfig,
  type LoraSettings,
  type RunInfo,
} from './schema';
import { isFile } from '../util/regular-file';

const ADAPTER_FIX =
  'A PEFT LoRA adapter folder holds adapter_config.json as PeftModel.save_pretrained writes it, next to ' +
  'adapter_model.safetensors: save the adapter again, or re-train it.';

/** PEFT's adapter_config.json for the run's adapter. */
export function peftAdapterConfig(info: RunInfo): AdapterConfig {
  const lora = info.lora as LoraSettings;
  const seqCls = info.method === 'lora-head';
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: info.baseModel.repoId ?? info.baseModel.spec,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: lora.alpha,
    lora_dropout: lora.dropout,
    modules_to_save: seqCls ? ['classifier', 'score'] : null,
    peft_type: 'LORA',
    r: lora.r,
    rank_pattern: {},
    revision: null,
    target_modules: lora.targetModules,
    task_type: seqCls ? 'SEQ_CLS' : 'CAUSAL_LM',
    use_dora: false,
    use_rslora: lora.rslora,
  };
}

function readAdapterConfig(file: string): AdapterConfig {
  return readJsonObject(file, ADAPTER_FIX, AdapterConfigSchema);
}

/** Reads LoRA settings from a PEFT adapter_config.json, rejecting what this package cannot apply. */
export function loraFromPeftConfig(file: string): LoraSettings {
  const cfg = readAdapterConfig(file);
  const problems: string[] = [];
  if (cfg.peft_type !== 'LORA') problems.push(`peft_type ${JSON.stringify(cfg.peft_type)} (only LORA)`);
  if (cfg.use_dora) problems.push('use_dora true');
  if (cfg.fan_in_fan_out) problems.push('fan_in_fan_out true');
  if (cfg.bias && cfg.bias !== 'none') problems.push(`bias ${JSON.stringify(cfg.bias)}`);
  for (const k of ['rank_pattern', 'alpha_pattern'] as const) if (Object.keys(cfg[k] ?? {}).length) problems.push(k);
  const t = cfg.target_modules;
  const targets = Array.isArray(t) ? t : typeof t === 'string' ? [t] : undefined;
  if (!targets || targets.length === 0 || !targets.every((x) => typeof x === 'string'))
    problems.push(
      `target_modules ${JSON.stringify(t) ?? 'missing'} (a list of module names, e.g. ["q_proj","v_proj"])`
    );
  if (problems.length) throw new JsonFileError(file, `${file}: unsupported adapter settings: ${problems.join(', ')}`);
  return {
    r: cfg.r,
    alpha: cfg.lora_alpha,
    dropout: cfg.lora_dropout ?? 0,
    rslora: !!cfg.use_rslora,
    targetModules: targets as string[],
  };
}

/** The first dimension of a PEFT SEQ_CLS adapter's score.weight (read from the safetensors header), if found. */
function scoreRows(file: string): number | undefined {
  const fd = fs.openSync(file, 'r');
  try {
    const size = Buffer.alloc(8);
    fs.readSync(fd, size, 0, 8, 0);
    const length = Number(size.readBigUInt64LE(0));
    if (length > 100 * 2 ** 20) return undefined;
    const header = Buffer.alloc(length);
    fs.readSync(fd, header, 0, length, 8);
    const tensors = JSON.parse(header.toString('utf8')) as Record<string, { shape?: number[] }>;
    const key = Object.keys(tensors).find((k) => /(^|\.)score\.weight$/.test(k));
    return key ? tensors[key].shape?.[0] : undefined;
  } catch {
    return undefined; // the weights' own loader reports a damaged file
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A run description for a bare PEFT adapter folder (e.g. trained in Python): CAUSAL_LM adapters are served as
 * `lora` with the default prompt and label tokens, SEQ_CLS adapters (with base_model.model.score.weight) as
 * `lora-head`. The base model is the adapter's base_model_name_or_path unless the caller overrides it.
 */
export function runInfoFromPeft(dir: string): RunInfo {
  const file = path.join(dir, 'adapter_config.json');
  const cfg = readAdapterConfig(file);
  const lora = loraFromPeftConfig(file);
  if (!isFile(path.join(dir, 'adapter_model.safetensors'))) {
    const bin = isFile(path.join(dir, 'adapter_model.bin'));
    throw new Error(
      `${dir} has adapter_config.json but no adapter_model.safetensors` +
        (bin
          ? ': its adapter_model.bin is a pickle, which qwen3-native does not read (it can run code). Where you trust ' +
            "it, convert it in Python: import torch; from safetensors.torch import save_file; save_file(torch.load('adapter_model.bin', map_location='cpu'), 'adapter_model.safetensors')"
          : '')
    );
  }
  const method: Method = cfg.task_type === 'SEQ_CLS' ? 'lora-head' : 'lora';
  // A SEQ_CLS adapter's label count is its score head's height; 2 keeps the default set, others get HF's LABEL_<i>.
  const n = method === 'lora-head' ? scoreRows(path.join(dir, 'adapter_model.safetensors')) : 2;
  const labels =
    n === undefined || n === 2 ? { ...ID2LABEL } : id2label(Array.from({ length: n }, (_, i) => `LABEL_${i}`));
  const base = typeof cfg.base_model_name_or_path === 'string' ? cfg.base_model_name_or_path : '';
  const now = new Date().toISOString();
  return {
    format: RUN_FORMAT,
    version: RUN_VERSION,
    method,
    baseModel: { spec: base, dir: base, hiddenSize: 0 },
    labels,
    maxLength: 256,
    prompt: method === 'lora' ? DEFAULT_LORA_PROMPT : undefined,
    labelTokens: method === 'lora' ? [...DEFAULT_LABEL_TOKENS] : undefined,
    endToken: method === 'lora' ? DEFAULT_END_TOKEN : undefined,
    lora,
    dtype: 'auto',
    hyperParameters: {},
    history: [],
    trainExamples: 0,
    devExamples: 0,
    createdAt: now,
    updatedAt: now,
    versions: { package: 'peft', libtorch: '' },
  };
}
