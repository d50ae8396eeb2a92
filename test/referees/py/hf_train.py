"""A plain transformers + PEFT training loop, step for step what the native classifier does, to compare losses.

job: {"base", "method": "lora" | "lora-head", "num_labels", "lora": {r, alpha, rslora, targets}, "init_dir",
      "final_dir", "batches": [{"ids": [[...]], "labels": [...]}], "lrs": [per step], "weight_decay",
      "max_grad_norm", "end_token", "pad_id", "seed"}
out: {"losses": [per step], "grad_norms": [per step, before clipping]}

lora: AutoModelForCausalLM; each sequence is prompt + label token, fed with the end token appended and labels -100
everywhere but the label and end positions: the model's own loss is then the mean cross-entropy of those two
predictions over the batch. lora-head: AutoModelForSequenceClassification (task SEQ_CLS: PEFT trains the score head
as modules_to_save), the model's own loss over the labels. Both: float32, dropout 0, right padding,
clip_grad_norm_, torch.optim.AdamW with the learning rate of each step set before it, zero_grad. The adapter as PEFT
initialised it is saved to init_dir before the first step (the other side starts from it), the trained one to
final_dir after the last.
"""
import torch

from referee import finish, pad, start


def main():
    job, out = start()
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    kw = {"dtype": torch.float32, "attn_implementation": "eager"}
    lo = job["lora"]
    if job["method"] == "lora":
        model = AutoModelForCausalLM.from_pretrained(job["base"], **kw)
        task = "CAUSAL_LM"
    else:
        model = AutoModelForSequenceClassification.from_pretrained(job["base"], num_labels=job["num_labels"], **kw)
        model.config.pad_token_id = job["pad_id"]
        task = "SEQ_CLS"
    cfg = LoraConfig(r=lo["r"], lora_alpha=lo["alpha"], use_rslora=lo["rslora"], target_modules=lo["targets"],
                     lora_dropout=0.0, task_type=task)
    model = get_peft_model(model, cfg)
    model.save_pretrained(job["init_dir"])
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=job["lrs"][0], betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=job["weight_decay"])
    losses, norms = [], []
    for b, lr in zip(job["batches"], job["lrs"]):
        if job["method"] == "lora":
            full = [s + [job["end_token"]] for s in b["ids"]]
            ids, mask = pad(full, "right", job["pad_id"])
            labels = torch.full_like(ids, -100)
            for r, s in enumerate(full):
                labels[r, len(s) - 2: len(s)] = ids[r, len(s) - 2: len(s)]
        else:
            ids, mask = pad(b["ids"], "right", job["pad_id"])
            labels = torch.tensor(b["labels"])
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(params, job["max_grad_norm"])))
        for g in opt.param_groups:
            g["lr"] = lr
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(loss))
    model.save_pretrained(job["final_dir"])
    finish(out, {"losses": losses, "grad_norms": norms})


if __name__ == "__main__":
    main()
