"""The old way of predicting: sample ten tokens per text with a KV cache (HF generate(do_sample=True,
max_new_tokens=10) with Qwen3's generation_config: temperature 0.6, top_k 20, top_p 0.95) and read the label from the
text. Same weights as ours: the base checkpoint with the run's LoRA adapter merged in (W += B A * scale).

Also reports the greedy first-token label: at the answer position, 正面 vs 负面 by logit (what ours predicts).

job: {model_dir, adapter_dir, dtype, device, seqs: [[ids]], latency: n, batch, max_new_tokens, temperature, top_k,
      top_p, seed, label_tokens: [neg, pos], eos: [...], pad_id}
"""
import json
import os

import torch

from bench_util import start_job, device_of, dtype_of, log, now, read_safetensors, sync, write_json
from qwen3_eager import load_model, pad_left


def merge_lora(model, adapter_dir):
    with open(os.path.join(adapter_dir, "adapter_config.json")) as f:
        cfg = json.load(f)
    scale = cfg["lora_alpha"] / (cfg["r"] ** 0.5 if cfg.get("use_rslora") else cfg["r"])
    w = read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"), torch.float32)
    merged = 0
    prefix = "base_model.model."
    for key, a in w.items():
        if not key.endswith(".lora_A.weight"):
            continue
        module = key[len(prefix):-len(".lora_A.weight")]
        b = w[key.replace(".lora_A.", ".lora_B.")]
        lin = model.get_submodule(module)
        with torch.no_grad():
            lin.weight.copy_((lin.weight.float() + (b @ a) * scale).to(lin.weight.dtype))
        merged += 1
    return merged


def warp(logits, temperature, top_k, top_p):
    """TemperatureLogitsWarper -> TopKLogitsWarper -> TopPLogitsWarper, as HF's sampling applies them."""
    logits = logits / temperature
    if top_k:
        kth = torch.topk(logits, min(top_k, logits.shape[-1]))[0][..., -1, None]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, sorted_idx = torch.sort(logits, descending=False)
        cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        remove = cum <= (1 - top_p)
        remove[..., -1:] = False
        logits = logits.masked_fill(remove.scatter(1, sorted_idx, remove), float("-inf"))
    return logits


def generate(model, seqs, job, device):
    """Sampled generation with a KV cache; returns (new tokens [B, n], first-step logits [B, vocab])."""
    ids, mask, pos = pad_left(seqs, job["pad_id"], device)
    cache = []
    eos = torch.tensor(job["eos"], device=device)
    logits = model(ids, mask, pos, cache, logits_to_keep=1)[:, -1, :].float()
    first = logits
    unfinished = torch.ones(len(seqs), dtype=torch.bool, device=device)
    out = []
    for step in range(job["max_new_tokens"]):
        probs = warp(logits, job["temperature"], job["top_k"], job["top_p"]).softmax(-1)
        nxt = torch.multinomial(probs, 1).squeeze(1)
        nxt = torch.where(unfinished, nxt, torch.full_like(nxt, job["pad_id"]))
        out.append(nxt)
        unfinished &= ~torch.isin(nxt, eos)
        if step == job["max_new_tokens"] - 1 or not bool(unfinished.any()):
            break
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
        pos = pos[:, -1:] + 1
        logits = model(nxt[:, None], mask, pos, cache, logits_to_keep=1)[:, -1, :].float()
    return torch.stack(out, 1), first


def main():
    job, out, threads = start_job()
    device = device_of(job.get("device", "cpu"))
    t0 = now()
    model, _ = load_model(job["model_dir"], dtype_of(job["dtype"]), device)
    merged = merge_lora(model, job["adapter_dir"])
    load_s = now() - t0
    log(f"generate: loaded in {load_s:.1f}s, merged {merged} LoRA pairs")
    seqs = job["seqs"]
    neg, pos_tok = job["label_tokens"]
    with torch.inference_mode():
        generate(model, seqs[:1], job, device)  # warm-up
        latency = []
        for s in seqs[: job["latency"]]:
            sync(device)
            t = now()
            generate(model, [s], job, device)
            sync(device)
            latency.append(now() - t)
            log(f"generate: one text, {len(s)} prompt tokens: {latency[-1]:.2f}s")
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        labels = [None] * len(seqs)
        margins = [None] * len(seqs)
        generated = 0
        sync(device)
        t = now()
        for k in range(0, len(order), job["batch"]):
            idx = order[k: k + job["batch"]]
            new, first = generate(model, [seqs[i] for i in idx], job, device)
            generated += int((new != job["pad_id"]).sum())
            for j, i in enumerate(idx):
                m = float(first[j, pos_tok] - first[j, neg])
                labels[i], margins[i] = (1 if m > 0 else 0), m
            log(f"generate: batch {k // job['batch'] + 1}/{(len(order) + job['batch'] - 1) // job['batch']}")
        sync(device)
        seconds = now() - t
    write_json(out, {"load_s": load_s, "latency": latency, "seconds": seconds, "texts": len(seqs),
                       "prompt_tokens": sum(len(s) for s in seqs), "generated_tokens": generated,
                       "labels": labels, "margins": margins})


if __name__ == "__main__":
    main()
