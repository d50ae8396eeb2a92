"""PEFT both ways: adapters saved by peft for us to load, and runs saved by us loaded with PeftModel.

job.mode "make": {"dir", "seed", "sequences", "adapters": [{"name", "base" (a checkpoint folder), "task": "CAUSAL_LM" |
    "SEQ_CLS", "num_labels", "r", "alpha", "rslora", "targets"}]}
  Each adapter: get_peft_model over the base (AutoModelForCausalLM, or AutoModelForSequenceClassification whose
  score head PEFT trains as modules_to_save), every LoRA matrix and the score head drawn at random (B is zero at
  PEFT's initialisation, which would check nothing), saved with save_pretrained; then loaded back with
  PeftModel.from_pretrained as a user does. out.adapters[name]: {"dir", "logits" (last-token logits for CAUSAL_LM,
  the classifier's for SEQ_CLS), "merged_dir" (merge_and_unload() saved with save_pretrained), "merged_logits"}.
job.mode "load": {"sequences", "runs": [{"name", "dir" (a run folder written by qwen3-native), "base", "method",
    "num_labels"}]}
  lora / lora-head: PeftModel.from_pretrained(base, dir); "missing" / "unexpected" compare the file's keys with the
  keys PEFT's own state dict of the loaded model has (get_peft_model_state_dict), "warnings" holds what loading
  warned; "logits" as above and "merged_logits" after merge_and_unload(). full: the run folder is a
  Qwen3ForSequenceClassification checkpoint: AutoModelForSequenceClassification.from_pretrained(dir,
  output_loading_info=True) gives its missing and unexpected keys.
Sequences run one at a time, unpadded.
"""
import os
import warnings

import torch

from referee import PAD_ID, finish, rows, start


def base_model(task, base, num_labels):
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    kw = {"dtype": torch.float32, "attn_implementation": "eager"}
    if task == "CAUSAL_LM":
        return AutoModelForCausalLM.from_pretrained(base, **kw).eval()
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=num_labels, **kw).eval()
    model.config.pad_token_id = PAD_ID
    return model


@torch.no_grad()
def logits_of(model, task, sequences):
    out = []
    for s in sequences:
        logits = model(input_ids=torch.tensor([s])).logits
        out.append(logits[0, -1] if task == "CAUSAL_LM" else logits[0])
    return rows(torch.stack(out))


@torch.no_grad()
def randomise(model, seed):
    g = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        if p.requires_grad:  # the LoRA matrices and the score head (modules_to_save)
            p.copy_(torch.randn(p.shape, generator=g) * (0.3 if "lora_" in name else 1.0) / p.shape[-1] ** 0.5)


def make(job):
    from peft import LoraConfig, PeftModel, get_peft_model

    result = {}
    for i, a in enumerate(job["adapters"]):
        torch.manual_seed(job["seed"] + i)
        model = base_model(a["task"], a["base"], a.get("num_labels", 2))
        cfg = LoraConfig(r=a["r"], lora_alpha=a["alpha"], use_rslora=a["rslora"], target_modules=a["targets"],
                         lora_dropout=0.0, task_type=a["task"])
        model = get_peft_model(model, cfg)
        randomise(model, job["seed"] + i)
        d = os.path.join(job["dir"], a["name"])
        model.save_pretrained(d)
        loaded = PeftModel.from_pretrained(base_model(a["task"], a["base"], a.get("num_labels", 2)), d).eval()
        r = {"dir": d, "logits": logits_of(loaded, a["task"], job["sequences"])}
        merged = loaded.merge_and_unload()
        r["merged_dir"] = d + "-merged"
        merged.save_pretrained(r["merged_dir"])
        r["merged_logits"] = logits_of(merged, a["task"], job["sequences"])
        result[a["name"]] = r
    return {"adapters": result}


def load(job):
    from peft import PeftModel
    from peft.utils import get_peft_model_state_dict, load_peft_weights
    from transformers import AutoModelForSequenceClassification

    result = {}
    for run in job["runs"]:
        r = {}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if run["method"] == "full":
                model, info = AutoModelForSequenceClassification.from_pretrained(
                    run["dir"], dtype=torch.float32, attn_implementation="eager", output_loading_info=True)
                model.eval()
                r["missing"] = sorted(info["missing_keys"])
                r["unexpected"] = sorted(info["unexpected_keys"])
                task = "SEQ_CLS"
            else:
                task = "CAUSAL_LM" if run["method"] == "lora" else "SEQ_CLS"
                model = PeftModel.from_pretrained(base_model(task, run["base"], run["num_labels"]), run["dir"]).eval()
                saved = set(load_peft_weights(run["dir"]).keys())
                expected = set(get_peft_model_state_dict(model).keys())
                r["missing"] = sorted(expected - saved)
                r["unexpected"] = sorted(saved - expected)
        r["warnings"] = [str(w.message) for w in caught if "missing" in str(w.message).lower()
                         or "unexpected" in str(w.message).lower()]
        r["logits"] = logits_of(model, task, job["sequences"])
        if run["method"] != "full":
            r["merged_logits"] = logits_of(model.merge_and_unload(), task, job["sequences"])
        result[run["name"]] = r
    return {"runs": result}


def main():
    job, out = start()
    finish(out, make(job) if job["mode"] == "make" else load(job))


if __name__ == "__main__":
    main()
