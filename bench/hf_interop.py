"""The GPU check's interop step, Python side: run folders trained by qwen3-native (bench/gpu/interop.js) loaded with
Hugging Face transformers + PEFT as a user would, and their probabilities compared with ours on the same token ids.

- lora:      PeftModel.from_pretrained(AutoModelForCausalLM(base), run): softmax over the two label tokens' logits at
             the last position (ours: one forward pass, the same two logits).
- lora-head: PeftModel.from_pretrained(AutoModelForSequenceClassification(base, num_labels=2), run): the SEQ_CLS
             adapter with its score head (modules_to_save).
- full:      AutoModelForSequenceClassification.from_pretrained(run): the run folder is an HF checkpoint.
Sequences go one at a time: Qwen3 has no pad_token_id, and HF's sequence classifier pools at the last token then.

  python3 bench/hf_interop.py --runs interop.json --out hf_interop.json [--device cuda]
Without transformers or peft it writes {"skipped": "..."} and exits 0 (the CPU dry run on Debian, which packages
neither).
"""
import argparse
import json
import sys
import time


def load_kwargs(transformers, dtype):
    # transformers 5 (and 4.56+) name the argument dtype; older releases torch_dtype.
    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    return {"dtype": dtype} if (major, minor) >= (4, 56) else {"torch_dtype": dtype}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cuda")
    a = ap.parse_args()
    try:
        import torch
        import transformers
        import peft
        from peft import PeftModel
        from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification
    except ImportError as e:
        with open(a.out, "w") as f:
            json.dump({"skipped": f"not installed: {e.name or e}"}, f)
        print(f"  hf interop skipped: not installed ({e.name or e})")
        return
    device = torch.device(a.device if a.device == "cpu" or torch.cuda.is_available() else "cpu")
    with open(a.runs) as f:
        job = json.load(f)
    kw = load_kwargs(transformers, torch.float32)
    results = []
    for run in job["runs"]:
        r = {"method": run["method"]}
        if run.get("error"):
            r["error"] = "not trained: " + run["error"]
            results.append(r)
            continue
        t0 = time.time()
        try:
            if run["method"] == "lora":
                model = AutoModelForCausalLM.from_pretrained(run["base"], **kw)
                model = PeftModel.from_pretrained(model, run["dir"])
            elif run["method"] == "lora-head":
                model = AutoModelForSequenceClassification.from_pretrained(run["base"], num_labels=2, **kw)
                model = PeftModel.from_pretrained(model, run["dir"])
            else:
                model = AutoModelForSequenceClassification.from_pretrained(run["dir"], **kw)
            model.to(device).eval()
            probs = []
            with torch.inference_mode():
                for ids in run["ids"]:
                    x = torch.tensor([ids], device=device)
                    logits = model(input_ids=x, attention_mask=torch.ones_like(x)).logits
                    if run["method"] == "lora":
                        row = logits[0, -1, run["labelTokens"]]
                    else:
                        row = logits[0]
                    probs.append(torch.softmax(row.float(), -1).tolist())
            diff = max(abs(p - q) for a_, b_ in zip(probs, run["probs"]) for p, q in zip(a_, b_))
            agree = sum(int(max(range(2), key=lambda k: a_[k]) == max(range(2), key=lambda k: b_[k]))
                        for a_, b_ in zip(probs, run["probs"])) / len(probs)
            r.update({"maxProbDiff": diff, "agree": agree, "texts": len(probs), "seconds": time.time() - t0})
            print(f"  hf {run['method']}: max |p_hf - p_ours| {diff:.2e}, labels agree {100 * agree:.1f}%")
        except Exception as e:  # each run reports its own failure; the others still run
            r["error"] = f"{type(e).__name__}: {e}"[:400]
            print(f"  hf {run['method']}: FAILED: {r['error']}")
        results.append(r)
    with open(a.out, "w") as f:
        json.dump({"transformers": transformers.__version__, "peft": peft.__version__, "torch": torch.__version__,
                   "device": str(device), "runs": results}, f)


if __name__ == "__main__":
    sys.exit(main())
