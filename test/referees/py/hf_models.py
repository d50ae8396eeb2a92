"""Checkpoints written by transformers' own save_pretrained, and what transformers computes from them.

job: {"dir": folder for the checkpoints, "seed": int, "sequences": [[id, ...], ...],
      "models": [{"name", "kind": "causal" | "seqcls" | "embedding", "config": {vocab, hidden, mlp, layers, heads, kv,
                  head_dim, tied, rope_theta}, "dtype": "float32" | "bfloat16", "shard": bool, "num_labels": int}],
      "sentence_transformers": {"name", "config", "texts": [...], "instruction": str} (optional)}
out: {"models": {name: {"dir", "last_logits" (causal), "score_logits" (seqcls), "last_hidden", "embedding",
                        "bf16_last_logits" (bfloat16 causal: computed in bfloat16)}},
      "sentence_transformers": {"dir", "ids", "embeddings", "query_embeddings"}}

Each model is made in float32 with scaled weights (referee.scale_weights), cast to its dtype, saved with
save_pretrained, and loaded back with from_pretrained (eager attention) as a user loads it: the references come from
the files. Sequences run one at a time, unpadded (transformers' plain forward); ours run them batched and padded.
"""
import json
import os

import torch
import torch.nn.functional as F

from referee import dtype_of, finish, qwen3_config, rows, scale_weights, start


def model_class(kind):
    from transformers import Qwen3ForCausalLM, Qwen3ForSequenceClassification, Qwen3Model

    return {"causal": Qwen3ForCausalLM, "seqcls": Qwen3ForSequenceClassification, "embedding": Qwen3Model}[kind]


def make(m, root, seed):
    cls = model_class(m["kind"])
    # No pad_token_id, as Qwen3 checkpoints have none: single sequences pool at their last token then.
    extra = {"num_labels": m["num_labels"]} if m["kind"] == "seqcls" else {}
    torch.manual_seed(seed)
    model = cls(qwen3_config(m["config"], **extra)).eval()
    scale_weights(model, seed)
    model = model.to(dtype_of(m["dtype"]))
    d = os.path.join(root, m["name"])
    # A shard of ~40% of the weights: three or more files, with a layer split between two of them.
    size = sum(p.numel() * p.element_size() for p in model.parameters())
    model.save_pretrained(d, **({"max_shard_size": max(size * 2 // 5, 1)} if m.get("shard") else {}))
    return d


@torch.no_grad()
def references(m, d, sequences):
    cls = model_class(m["kind"])
    r = {"dir": d}
    dtypes = ["float32"] + (["bfloat16"] if m["dtype"] == "bfloat16" else [])
    for dtype in dtypes:
        model = cls.from_pretrained(d, dtype=dtype_of(dtype), attn_implementation="eager").eval()
        base = model if m["kind"] == "embedding" else model.model
        last_logits, score, hidden = [], [], []
        for s in sequences:
            ids = torch.tensor([s])
            h = base(input_ids=ids).last_hidden_state[0, -1]
            hidden.append(h)
            if m["kind"] == "causal":
                last_logits.append(model(input_ids=ids).logits[0, -1])
            elif m["kind"] == "seqcls":
                score.append(model(input_ids=ids).logits[0])
        if dtype == "float32":
            r["last_hidden"] = rows(torch.stack(hidden))
            r["embedding"] = rows(F.normalize(torch.stack(hidden).double(), dim=-1))
            if last_logits:
                r["last_logits"] = rows(torch.stack(last_logits))
            if score:
                r["score_logits"] = rows(torch.stack(score))
        elif last_logits:
            r["bf16_last_logits"] = rows(torch.stack(last_logits))
    return r


def tokenizer_with_eos(d, assets):
    """Qwen3-Embedding's tokenizer: Qwen3's, with <|endoftext|> appended to every text (its post-processor) and
    padding on the left (its tokenizer_config)."""
    from tokenizers import Tokenizer, processors

    tok = Tokenizer.from_file(os.path.join(assets, "tokenizer.json"))
    tok.post_processor = processors.TemplateProcessing(
        single="$A:0 <|endoftext|>:0", pair="$A:0 <|endoftext|>:0 $B:1 <|endoftext|>:1",
        special_tokens=[("<|endoftext|>", 151643)])
    tok.save(os.path.join(d, "tokenizer.json"))
    with open(os.path.join(assets, "tokenizer_config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    cfg["padding_side"] = "left"
    with open(os.path.join(d, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f)


def sentence_transformers_folder(d, dim, instruction):
    """The sentence-transformers files Qwen3-Embedding ships beside its weights: Transformer, last-token pooling,
    normalisation, and the query prompt (an instruction); a Hub user's SentenceTransformer(repo) reads these."""
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    pooling = {"word_embedding_dimension": dim, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": False,
               "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
               "pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": True, "include_prompt": True}
    files = {
        "modules.json": modules,
        "sentence_bert_config.json": {"max_seq_length": 32768, "do_lower_case": False},
        "1_Pooling/config.json": pooling,
        "config_sentence_transformers.json": {
            "prompts": {"query": f"Instruct: {instruction}\nQuery:", "document": ""},
            "default_prompt_name": None, "similarity_fn_name": "cosine"},
    }
    for name, value in files.items():
        os.makedirs(os.path.dirname(os.path.join(d, name)), exist_ok=True)
        with open(os.path.join(d, name), "w", encoding="utf-8") as f:
            json.dump(value, f)
    os.makedirs(os.path.join(d, "2_Normalize"), exist_ok=True)


@torch.no_grad()
def sentence_transformers_side(st, root, seed, assets):
    """A Qwen3-Embedding-shaped checkpoint laid out as Qwen3-Embedding's repository is, loaded with
    SentenceTransformer(folder) as its model card says; queries get the "query" prompt."""
    from sentence_transformers import SentenceTransformer

    m = {"name": st["name"], "kind": "embedding", "config": st["config"], "dtype": "float32"}
    d = make(m, root, seed)
    tokenizer_with_eos(d, assets)
    sentence_transformers_folder(d, st["config"]["hidden"], st["instruction"])
    model = SentenceTransformer(d, device="cpu", model_kwargs={"attn_implementation": "eager", "dtype": torch.float32})
    ids = [model.tokenizer(t)["input_ids"] for t in st["texts"]]
    encode = dict(batch_size=16, convert_to_numpy=True)
    return {
        "dir": d,
        "ids": ids,
        "embeddings": model.encode(st["texts"], **encode).astype("float64").tolist(),
        "query_embeddings": model.encode(st["texts"], prompt_name="query", **encode).astype("float64").tolist(),
    }


def main():
    job, out = start()
    root = job["dir"]
    os.makedirs(root, exist_ok=True)
    result = {"models": {}}
    for i, m in enumerate(job["models"]):
        d = make(m, root, job["seed"] + i)
        result["models"][m["name"]] = references(m, d, job["sequences"])
    if job.get("sentence_transformers"):
        result["sentence_transformers"] = sentence_transformers_side(
            job["sentence_transformers"], root, job["seed"] + 100, job["tokenizer_dir"])
    finish(out, result)


if __name__ == "__main__":
    main()
