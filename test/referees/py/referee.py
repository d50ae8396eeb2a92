"""What the referee scripts share: the job file in and the result file out (test/helpers/peers.js writes and reads
them), Qwen3 configurations by name, weights scaled so that mistakes show, padding and the versions used.

Every script runs as `python <script> --job job.json --out out.json` in the pinned peers environment
(scripts/peers.sh ensure referees) and uses transformers / PEFT / sentence-transformers the way their users do.
"""
import argparse
import json
import math
import os

import torch

PAD_ID = 151643  # <|endoftext|>: what Qwen3 checkpoints pad with (they name no pad_token_id)


def start():
    ap = argparse.ArgumentParser()
    ap.add_argument("--job", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(a.job, encoding="utf-8") as f:
        job = json.load(f)
    # Results must not depend on the machine's core count.
    torch.set_num_threads(int(job.get("threads") or os.cpu_count() or 1))
    torch.manual_seed(int(job.get("seed", 0)))
    return job, a.out


def finish(out, value):
    import peft
    import transformers

    value["versions"] = {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__}
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f)
    os.replace(tmp, out)


def qwen3_config(c, **extra):
    """A transformers Qwen3Config from a compact description (test/referees' MODELS)."""
    from transformers import Qwen3Config

    kw = dict(
        vocab_size=c["vocab"],
        hidden_size=c["hidden"],
        intermediate_size=c["mlp"],
        num_hidden_layers=c["layers"],
        num_attention_heads=c["heads"],
        num_key_value_heads=c["kv"],
        head_dim=c["head_dim"],
        tie_word_embeddings=c["tied"],
        max_position_embeddings=1024,
        rms_norm_eps=1e-6,
        attention_dropout=0.0,
        bos_token_id=PAD_ID,
        eos_token_id=151645,
        **extra,
    )
    cfg = Qwen3Config(**kw)
    # transformers 5 keeps rope settings in rope_parameters; 4.x in rope_theta.
    if getattr(cfg, "rope_parameters", None) is not None:
        cfg.rope_parameters["rope_theta"] = c["rope_theta"]
    else:
        cfg.rope_theta = c["rope_theta"]
    cfg._attn_implementation = "eager"
    return cfg


@torch.no_grad()
def scale_weights(model, seed):
    """HF initialises with std 0.02 and norm weights of 1: logits of ~1e-3 that would hide mistakes in a 1e-5 check,
    and norms that would hide a missing one. Here, as in the float64 fixtures (test/fixtures/README.md), every linear
    layer has std 1/sqrt(in), the embeddings std 1 (2/sqrt(hidden) when tied, so tied logits stay moderate), lm_head
    std 2/sqrt(hidden), every norm weight 1 + 0.1 N(0,1): logits of std ~2."""
    g = torch.Generator().manual_seed(seed)
    seen = set()
    for name, p in model.named_parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        r = torch.randn(p.shape, generator=g, dtype=torch.float32)
        if "norm" in name:
            v = 1 + 0.1 * r
        elif "embed_tokens" in name:
            tied = getattr(model.config, "tie_word_embeddings", False)
            v = r * (2 / math.sqrt(p.shape[1]) if tied else 1.0)
        elif name.endswith("lm_head.weight"):
            v = r * (2 / math.sqrt(p.shape[1]))
        else:
            v = r / math.sqrt(p.shape[-1])
        p.copy_(v.to(p.dtype))


def pad(seqs, side, pad_id=PAD_ID, extra=None):
    """input_ids and attention_mask of a batch padded on `side` ('left' | 'right')."""
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.long)
    for i, s in enumerate(seqs):
        sl = slice(T - len(s), T) if side == "left" else slice(0, len(s))
        ids[i, sl] = torch.tensor(s)
        mask[i, sl] = 1
    return ids, mask


def dtype_of(name):
    return {"float32": torch.float32, "bfloat16": torch.bfloat16}[name]


def rows(t):
    return t.detach().to(torch.float64).cpu().tolist()
