"""Float64 logits of a Qwen3 checkpoint with a PEFT LoRA adapter applied, for sequences read from a JSON file.

Used by test/numerics/peft-roundtrip.test.js to check adapters *trained by qwen3-native* against this independent
implementation of PEFT's semantics (peft_ref.py on qwen3_ref.py).

    /usr/bin/python3 scripts/reference/adapter_logits.py MODEL_DIR ADAPTER_DIR SEQUENCES_JSON
prints {"last_token_logits": [[...]], "seq_cls_logits": [[...]] (SEQ_CLS adapters only)}
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peft_ref  # noqa: E402


def main():
    model_dir, adapter_dir, seq_file = sys.argv[1:4]
    with open(seq_file) as f:
        sequences = json.load(f)
    cfg, weights, adapter_cfg, extra = peft_ref.load_merged(model_dir, adapter_dir)
    out = {"last_token_logits": [peft_ref.causal_last_token_logits(cfg, weights, s).tolist() for s in sequences]}
    if "score.weight" in extra:
        out["seq_cls_logits"] = [np.asarray(peft_ref.seq_cls_logits(cfg, weights, extra["score.weight"], s)).tolist() for s in sequences]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
