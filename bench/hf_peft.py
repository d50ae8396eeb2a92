"""The Hugging Face side of the GPU bench (bench/gpu/bench.js): transformers + PEFT as their users run them, on the
same weights, batches and sequence lengths as ours, in the same run.

  mode train:    LoRA (r, alpha, dropout on the targets) with get_peft_model on AutoModelForCausalLM (lora: labels
                 -100 except the answer tokens, the model's own loss) or AutoModelForSequenceClassification (lora-head,
                 task SEQ_CLS: the score head is trained too); bf16 base, fp32 adapters (PEFT's default
                 autocast_adapter_dtype); right padding to the batch's longest; clip_grad_norm_ 1.0; torch AdamW
                 (fused on CUDA); zero_grad(set_to_none): what Trainer does per step.
  mode forward:  the base Qwen3Model (model.model) in inference_mode, left-padded batches with an attention mask.
  mode generate: the old script's prediction: PeftModel over the base, generate(max_new_tokens=10, do_sample,
                 temperature 0.6, top-k 20, top-p 0.95), one text at a time or batched; the label is the larger of
                 the two label tokens' logits at the first generated position (output_logits).
job: see bench/gpu/bench.js. Writes {"skipped": ...} when transformers or peft is missing.
"""
import time

import torch

from bench_util import start_job, dtype_of, log, memory_status, now, sync, write_json


def kwargs_for(transformers, dtype):
    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    key = "dtype" if (major, minor) >= (4, 56) else "torch_dtype"
    return {key: dtype, "attn_implementation": "sdpa"}


def gpu_memory(device):
    if device.type != "cuda":
        return None
    return {"available": True, "peakAllocated": torch.cuda.max_memory_allocated(device),
            "peakReserved": torch.cuda.max_memory_reserved(device)}


def right_pad(seqs, pad_id, device):
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids.to(device), mask.to(device)


def left_pad(seqs, pad_id, device):
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, T - len(s):] = torch.tensor(s)
        mask[i, T - len(s):] = 1
    return ids.to(device), mask.to(device)


def train(job, device, transformers, peft):
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification
    from peft import LoraConfig, get_peft_model

    method, lo = job["method"], job["lora"]
    kw = kwargs_for(transformers, dtype_of(job["dtype"]))
    t0 = now()
    if method == "lora":
        model = AutoModelForCausalLM.from_pretrained(job["model_dir"], **kw)
        task = "CAUSAL_LM"
    else:
        model = AutoModelForSequenceClassification.from_pretrained(job["model_dir"], num_labels=2, **kw)
        model.config.pad_token_id = job["pad_id"]
        task = "SEQ_CLS"
    cfg = LoraConfig(r=lo["r"], lora_alpha=lo["alpha"], lora_dropout=lo["dropout"], target_modules=lo["targets"],
                     task_type=task)
    model = get_peft_model(model, cfg).to(device)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=job["lr"], weight_decay=job["weight_decay"],
                            **({"fused": True} if device.type == "cuda" else {}))
    load_s = now() - t0
    times, tokens, examples, losses = [], [], [], []
    for i, b in enumerate(job["batches"]):
        sync(device)
        t = now()
        if method == "lora":
            full = [s + [job["end_token"]] for s in b["ids"]]  # prompt + label token + <|im_end|>
            ids, mask = right_pad(full, job["pad_id"], device)
            labels = torch.full_like(ids, -100)
            for r, s in enumerate(full):
                labels[r, len(s) - 2: len(s)] = ids[r, len(s) - 2: len(s)]
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        else:
            ids, mask = right_pad(b["ids"], job["pad_id"], device)
            loss = model(input_ids=ids, attention_mask=mask, labels=torch.tensor(b["labels"], device=device)).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        value = float(loss)
        sync(device)
        dt = now() - t
        if i >= job["warmup"]:
            times.append(dt)
            tokens.append(sum(len(s) for s in b["ids"]))
            examples.append(len(b["ids"]))
            losses.append(value)
        log(f"hf+peft {method} step {i + 1}/{len(job['batches'])}: {dt * 1000:.1f} ms, loss {value:.3f}")
    return {"loadS": load_s, "times": times, "tokens": tokens, "examples": examples, "losses": losses,
            "trainable": sum(p.numel() for p in params)}


def forward(job, device, transformers, peft):
    from transformers import AutoModelForCausalLM

    t0 = now()
    model = AutoModelForCausalLM.from_pretrained(job["model_dir"], **kwargs_for(transformers, dtype_of(job["dtype"])))
    model = model.to(device).eval()
    load_s = now() - t0
    times, tokens, first = [], [], None
    with torch.inference_mode():
        for b in job["warmup_batches"]:
            ids, mask = left_pad(b, job["pad_id"], device)
            model.model(input_ids=ids, attention_mask=mask, use_cache=False)
        for b in job["batches"]:
            ids, mask = left_pad(b, job["pad_id"], device)
            sync(device)
            t = now()
            h = model.model(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
            sync(device)
            times.append(now() - t)
            tokens.append(sum(len(s) for s in b))
            if first is None:
                first = h[:, -1].float().cpu().tolist()
    return {"loadS": load_s, "times": times, "tokens": tokens, "first_last_hidden": first}


def generate(job, device, transformers, peft):
    from transformers import AutoModelForCausalLM
    from peft import PeftModel

    t0 = now()
    base = AutoModelForCausalLM.from_pretrained(job["model_dir"], **kwargs_for(transformers, dtype_of(job["dtype"])))
    model = PeftModel.from_pretrained(base, job["adapter_dir"]).to(device).eval()
    load_s = now() - t0
    torch.manual_seed(job.get("seed", 0))
    label_tokens = job["label_tokens"]
    gen = dict(max_new_tokens=job["max_new_tokens"], do_sample=True, temperature=job["temperature"],
               top_k=job["top_k"], top_p=job["top_p"], pad_token_id=job["pad_id"], eos_token_id=job["eos"],
               output_logits=True, return_dict_in_generate=True)
    seqs = job["seqs"]

    def run(batch):
        ids, mask = left_pad(batch, job["pad_id"], device)
        out = model.generate(input_ids=ids, attention_mask=mask, **gen)
        first = out.logits[0][:, label_tokens].float()
        return [int(r.argmax()) for r in first], int((out.sequences.shape[1] - ids.shape[1]) * len(batch))

    with torch.inference_mode():
        run(seqs[:1])  # warm-up
        latency = []
        for i in range(min(job["latency"], len(seqs))):
            sync(device)
            t = now()
            run(seqs[i: i + 1])
            sync(device)
            latency.append(now() - t)
        labels, generated = [], 0
        sync(device)
        t = now()
        for i in range(0, len(seqs), job["batch"]):
            got, n = run(seqs[i: i + job["batch"]])
            labels += got
            generated += n
        sync(device)
        seconds = now() - t
    return {"loadS": load_s, "latency": latency, "seconds": seconds, "labels": labels, "generated_tokens": generated}


def main():
    job, out, _threads = start_job()
    try:
        import transformers
        import peft
    except ImportError as e:
        write_json(out, {"skipped": f"not installed: {e.name or e}"})
        log(f"hf+peft {job['mode']} skipped: not installed ({e.name or e})")
        return
    device = torch.device(job["device"] if job["device"] == "cpu" or torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    started = time.time()
    r = {"train": train, "forward": forward, "generate": generate}[job["mode"]](job, device, transformers, peft)
    r.update({"memory": memory_status(), "gpu": gpu_memory(device), "seconds_total": time.time() - started,
              "transformers": transformers.__version__, "peft": peft.__version__, "torch": torch.__version__})
    write_json(out, r)


if __name__ == "__main__":
    main()
