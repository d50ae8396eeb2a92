"""An HF-style eager training step, the baseline of the train case: transformers' Qwen3 math (bench/qwen3_eager.py)
with PEFT-style LoRA, trained the way HF Trainer + a padding data collator does it.

- lora: Qwen3ForCausalLM + LoRA (r, alpha, dropout on q/k/v/o; adapters in fp32 over a bf16 base, input cast to
  fp32 as PEFT's autocast_adapter_dtype does). Each example is prompt + label token + <|im_end|>, right-padded to the
  batch's longest; labels are -100 except the answer tokens; the FULL vocabulary is projected at EVERY position and
  the loss upcasts the logits to fp32 (transformers' ForCausalLMLoss).
- lora-head: Qwen3ForSequenceClassification + LoRA: score at every position, pooled at the last real token.
- full: Qwen3ForSequenceClassification, every weight trained (float32).
AdamW (torch.optim), clip_grad_norm_ 1.0, zero_grad(set_to_none) each step, as Trainer does.

job: {model_dir, dtype, device, method, batches: [{ids: [[...]], labels: [...]}], warmup, lora: {r, alpha, dropout,
      targets}, lr, weight_decay, pad_id, end_token, seed}
"""

import torch
from torch import nn

from bench_util import start_job, device_of, dtype_of, log, memory_status, now, sync, write_json
from qwen3_eager import load_model


class LoraLinear(nn.Module):
    """peft.tuners.lora.layer.Linear.forward for one active adapter."""

    def __init__(self, base, r, alpha, dropout):
        super().__init__()
        self.base_layer = base
        self.lora_A = nn.Linear(base.in_features, r, bias=False, device=base.weight.device, dtype=torch.float32)
        self.lora_B = nn.Linear(r, base.out_features, bias=False, device=base.weight.device, dtype=torch.float32)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=5 ** 0.5)
        nn.init.zeros_(self.lora_B.weight)
        self.lora_dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.scaling = alpha / r

    def forward(self, x):
        result = self.base_layer(x)
        torch_result_dtype = result.dtype
        x = x.to(self.lora_A.weight.dtype)
        result = result + self.lora_B(self.lora_A(self.lora_dropout(x))) * self.scaling
        return result.to(torch_result_dtype)


def inject_lora(model, spec):
    params = []
    for layer in model.model.layers:
        attn = layer.self_attn
        for name in spec["targets"]:
            if hasattr(attn, name):
                wrapped = LoraLinear(getattr(attn, name), spec["r"], spec["alpha"], spec["dropout"])
                setattr(attn, name, wrapped)
                params += [wrapped.lora_A.weight, wrapped.lora_B.weight]
    return params


def right_pad(seqs, pad_id, device):
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    pos = torch.arange(T).unsqueeze(0).expand(len(seqs), T)  # HF's forward: cache_position
    return ids.to(device), mask.to(device), pos.to(device)


def causal_lm_loss(model, seqs, end_token, pad_id, device):
    full = [s + [end_token] for s in seqs]  # prompt + label token + <|im_end|>
    ids, mask, pos = right_pad(full, pad_id, device)
    labels = torch.full_like(ids, -100)
    for i, s in enumerate(full):
        labels[i, len(s) - 2: len(s)] = ids[i, len(s) - 2: len(s)]  # the answer: label token and end token
    logits = model(ids, mask, pos)  # [B, T, vocab]: every position
    logits = logits.float()
    labels = nn.functional.pad(labels, (0, 1), value=-100)
    shift = labels[..., 1:].contiguous()
    return nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), shift.view(-1), ignore_index=-100)


def seq_cls_loss(model, score, seqs, labels, pad_id, device):
    ids, mask, pos = right_pad(seqs, pad_id, device)
    hidden = model.model(ids, mask, pos)
    logits = score(hidden.to(score.weight.dtype))  # [B, T, labels]: every position
    last = torch.tensor([len(s) - 1 for s in seqs], device=device)
    pooled = logits[torch.arange(len(seqs), device=device), last]
    return nn.functional.cross_entropy(pooled, torch.tensor(labels, device=device))


def main():
    job, out, threads = start_job()
    device = device_of(job.get("device", "cpu"))
    dtype = dtype_of(job["dtype"])
    method = job["method"]
    t0 = now()
    model, c = load_model(job["model_dir"], dtype, device)
    params = []
    score = None
    if method in ("lora", "lora-head"):
        params = inject_lora(model, job["lora"])
    if method in ("lora-head", "full"):
        score = nn.Linear(c["hidden_size"], 2, bias=False, device=device, dtype=torch.float32)
        nn.init.normal_(score.weight, std=0.02)
        params.append(score.weight)
    if method == "full":
        for p in model.parameters():
            p.requires_grad_(True)
        # the tied lm_head is not used by sequence classification; every other weight is
        params = [p for n, p in model.named_parameters() if not n.startswith("lm_head")] + [score.weight]
    opt = torch.optim.AdamW(params, lr=job.get("lr", 2e-4), weight_decay=job.get("weight_decay", 0.01))
    model.train()
    log(f"eager {method} {job['dtype']}: ready in {now() - t0:.1f}s, {sum(p.numel() for p in params)} trainable")
    times, tokens, examples, losses = [], [], [], []
    warm = job.get("warmup", 1)
    for i, b in enumerate(job["batches"]):
        sync(device)
        t = now()
        if method == "lora":
            loss = causal_lm_loss(model, b["ids"], job["end_token"], job["pad_id"], device)
        else:
            loss = seq_cls_loss(model, score, b["ids"], b["labels"], job["pad_id"], device)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        sync(device)
        dt = now() - t
        if i >= warm:
            times.append(dt)
            tokens.append(sum(len(s) for s in b["ids"]))
            examples.append(len(b["ids"]))
            losses.append(float(loss))
        log(f"eager {method} step {i + 1}/{len(job['batches'])}{' (warm-up)' if i < warm else ''}: {dt:.2f}s, loss {float(loss):.3f}")
    write_json(out, {"times": times, "tokens": tokens, "examples": examples, "losses": losses, "memory": memory_status()})


if __name__ == "__main__":
    main()
