"""Float64 numpy reference for PEFT LoRA adapters on the Qwen3 reference model (qwen3_ref.py).

PEFT `lora.Linear` semantics, for a wrapped base Linear with weight W [out, in]:

    y = x W^T + scale * ((dropout(x) A^T) B^T),   A = lora_A.weight [r, in], B = lora_B.weight [out, r]
    scale = lora_alpha / r            (use_rslora false)
    scale = lora_alpha / sqrt(r)      (use_rslora true)

Dropout is the identity in eval, so the adapted layer is exactly the Linear with weight W + scale * B @ A.
`merge` folds that delta into the float64 base weights; everything else then runs through qwen3_ref unchanged.

On-disk format (PEFT `save_pretrained`): a folder with adapter_config.json and adapter_model.safetensors whose
keys are `base_model.model.<module path>.lora_A.weight` / `.lora_B.weight`, e.g.
`base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight` (the module path is the HF parameter name of the
base weight without `.weight`). A SEQ_CLS adapter (modules_to_save ["classifier", "score"]) also stores the whole
classification head as `base_model.model.score.weight` [num_labels, hidden] (HF Qwen3ForSequenceClassification:
score = Linear(hidden, num_labels, bias=False) on the final-norm hidden state of the last real token).

    /usr/bin/python3 scripts/reference/peft_ref.py MODEL_DIR ADAPTER_DIR ID [ID ...]
"""
import json
import math
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qwen3_ref  # noqa: E402
import safetensors_np  # noqa: E402

PREFIX = "base_model.model."
SCORE_KEY = PREFIX + "score.weight"
_LORA_RE = re.compile(r"^base_model\.model\.(?P<module>.+)\.lora_(?P<ab>[AB])(?:\.(?P<adapter>[^.]+))?\.weight$")


def read_config(adapter_dir):
    with open(os.path.join(adapter_dir, "adapter_config.json")) as f:
        return json.load(f)


def _pattern_value(patterns, module, default):
    """PEFT rank_pattern / alpha_pattern: a key matches a module whose name is the key or ends with `.key`
    (PEFT: re.match(rf"(.*\\.)?{key}$", module)); the first match in dict order wins."""
    for key, val in (patterns or {}).items():
        if re.match(rf"(.*\.)?{key}$", module):
            return val
    return default


def lora_scale(config, module, r):
    """scale for one wrapped module (module path, e.g. model.layers.0.self_attn.q_proj) of rank r."""
    alpha = float(_pattern_value(config.get("alpha_pattern"), module, config["lora_alpha"]))
    return alpha / math.sqrt(r) if config.get("use_rslora", False) else alpha / r


def load_adapter(adapter_dir):
    """Return (config, loras, extra): loras maps module path -> dict(A=[r,in] f64, B=[out,r] f64, scale, r);
    extra maps the remaining (modules_to_save) keys without the `base_model.model.` prefix, e.g. `score.weight`,
    to float64 arrays."""
    config = read_config(adapter_dir)
    if config.get("peft_type") != "LORA":
        raise ValueError(f"{adapter_dir}: peft_type {config.get('peft_type')!r} is not LORA")
    for flag in ("use_dora", "fan_in_fan_out"):
        if config.get(flag):
            raise ValueError(f"{adapter_dir}: {flag}=true is not supported by this reference")
    if config.get("bias", "none") != "none":
        raise ValueError(f"{adapter_dir}: bias={config['bias']!r} is not supported by this reference")
    tensors, _, _ = safetensors_np.read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
    parts, extra = {}, {}
    for key, arr in tensors.items():
        m = _LORA_RE.match(key)
        if m:
            parts.setdefault(m.group("module"), {})[m.group("ab")] = np.asarray(arr, dtype=np.float64)
        elif key.startswith(PREFIX):
            extra[key[len(PREFIX):]] = np.asarray(arr, dtype=np.float64)
        else:
            raise ValueError(f"{adapter_dir}: unexpected key {key}")
    loras = {}
    for module, ab in sorted(parts.items()):
        if set(ab) != {"A", "B"}:
            raise ValueError(f"{adapter_dir}: {module} lacks lora_{'B' if 'A' in ab else 'A'}")
        A, B = ab["A"], ab["B"]
        if A.ndim != 2 or B.ndim != 2 or B.shape[1] != A.shape[0]:
            raise ValueError(f"{adapter_dir}: {module}: lora_A {A.shape} and lora_B {B.shape} do not chain")
        r = A.shape[0]
        want_r = int(_pattern_value(config.get("rank_pattern"), module, config["r"]))
        if r != want_r:
            raise ValueError(f"{adapter_dir}: {module}: rank {r} but adapter_config says {want_r}")
        loras[module] = dict(A=A, B=B, r=r, scale=lora_scale(config, module, r))
    return config, loras, extra


def delta_weight(lora):
    """scale * B @ A, the [out, in] weight delta of one adapted Linear."""
    return lora["scale"] * (lora["B"] @ lora["A"])


def merge(W, loras):
    """Copy of the reference weights W (qwen3_ref.load) with every LoRA delta folded into its base weight."""
    out = dict(W)
    for module, lora in loras.items():
        key = module + ".weight"
        if key not in W:
            raise KeyError(f"LoRA target {module} has no base weight {key}")
        if W[key].shape != (lora["B"].shape[0], lora["A"].shape[1]):
            raise ValueError(f"{module}: base {W[key].shape} vs B@A {(lora['B'].shape[0], lora['A'].shape[1])}")
        out[key] = W[key] + delta_weight(lora)
    return out


def lora_linear(x, weight, lora=None):
    """Unmerged PEFT lora.Linear forward (eval: no dropout): x W^T + scale * (x A^T) B^T."""
    y = x @ weight.T
    if lora is not None:
        y = y + lora["scale"] * ((x @ lora["A"].T) @ lora["B"].T)
    return y


def load_merged(model_dir, adapter_dir):
    """(cfg, merged weights, adapter config, extra tensors) for a base model directory + PEFT adapter folder."""
    cfg, W = qwen3_ref.load(model_dir)
    acfg, loras, extra = load_adapter(adapter_dir)
    return cfg, merge(W, loras), acfg, extra


def seq_cls_logits(cfg, W, score, ids):
    """Qwen3ForSequenceClassification logits [num_labels] of one unpadded sequence: score @ final-norm hidden of
    the last token. W should already carry the LoRA deltas (merge)."""
    return np.asarray(score, dtype=np.float64) @ qwen3_ref.last_token_hidden(cfg, W, ids)


def causal_last_token_logits(cfg, W, ids):
    """Full-vocabulary logits at the last token (W with LoRA merged); lm_head rule as in qwen3_ref."""
    return qwen3_ref.last_token_logits(cfg, W, ids)


def cross_entropy(logits, target):
    """-log softmax(logits)[target], float64, numerically stable."""
    z = np.asarray(logits, dtype=np.float64)
    m = z.max()
    return float(m + np.log(np.exp(z - m).sum()) - z[target])


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="float64 Qwen3 + PEFT LoRA reference")
    ap.add_argument("model_dir")
    ap.add_argument("adapter_dir")
    ap.add_argument("ids", nargs="+", type=int)
    a = ap.parse_args()
    c, w, ac, ex = load_merged(a.model_dir, a.adapter_dir)
    lg = causal_last_token_logits(c, w, a.ids)
    print("task_type", ac.get("task_type"), "argmax", int(np.argmax(lg)), "max|logit|", float(np.abs(lg).max()))
    if "score.weight" in ex:
        print("seq_cls_logits", seq_cls_logits(c, w, ex["score.weight"], a.ids))
