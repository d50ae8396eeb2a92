"""PyTorch eager Qwen3, written from Hugging Face transformers' modeling_qwen3.py (attn_implementation="eager"):
RMSNorm in fp32, q_norm/k_norm before RoPE, half-split RoPE with cos/sin computed in fp32, GQA by repeat_kv, eager
attention with an additive 4D mask and softmax in fp32, SwiGLU MLP, tied lm_head. Module and parameter names are
HF's, so a checkpoint's state dict loads directly.

As a script: the forward benchmark (all-token hidden states of padded batches, final norm), e.g.
  python3 bench/qwen3_eager.py --job job.json --out result.json
job: {model_dir, dtype, device, warmup, batches: [[[ids], ...], ...], pad_id}
"""
import json
import os
import statistics

import torch
from torch import nn

from bench_util import start_job, device_of, dtype_of, load_checkpoint, log, now, sync, write_json


class Qwen3RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        input_dtype = hidden_states.dtype
        hidden_states = hidden_states.to(torch.float32)
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden_states.to(input_dtype)


class Qwen3MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate_proj = nn.Linear(c["hidden_size"], c["intermediate_size"], bias=False)
        self.up_proj = nn.Linear(c["hidden_size"], c["intermediate_size"], bias=False)
        self.down_proj = nn.Linear(c["intermediate_size"], c["hidden_size"], bias=False)
        self.act_fn = nn.SiLU()

    def forward(self, x):
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(q, k, cos, sin, unsqueeze_dim=1):
    cos = cos.unsqueeze(unsqueeze_dim)
    sin = sin.unsqueeze(unsqueeze_dim)
    return (q * cos) + (rotate_half(q) * sin), (k * cos) + (rotate_half(k) * sin)


def repeat_kv(hidden_states, n_rep):
    batch, num_key_value_heads, slen, head_dim = hidden_states.shape
    if n_rep == 1:
        return hidden_states
    hidden_states = hidden_states[:, :, None, :, :].expand(batch, num_key_value_heads, n_rep, slen, head_dim)
    return hidden_states.reshape(batch, num_key_value_heads * n_rep, slen, head_dim)


def eager_attention_forward(module, query, key, value, attention_mask, scaling, dropout=0.0):
    key_states = repeat_kv(key, module.num_key_value_groups)
    value_states = repeat_kv(value, module.num_key_value_groups)
    attn_weights = torch.matmul(query, key_states.transpose(2, 3)) * scaling
    if attention_mask is not None:
        attn_weights = attn_weights + attention_mask[:, :, :, : key_states.shape[-2]]
    attn_weights = nn.functional.softmax(attn_weights, dim=-1, dtype=torch.float32).to(query.dtype)
    attn_weights = nn.functional.dropout(attn_weights, p=dropout, training=module.training)
    attn_output = torch.matmul(attn_weights, value_states)
    return attn_output.transpose(1, 2).contiguous()


class Qwen3Attention(nn.Module):
    def __init__(self, c, layer_idx):
        super().__init__()
        self.layer_idx = layer_idx
        self.head_dim = c["head_dim"]
        self.num_key_value_groups = c["num_attention_heads"] // c["num_key_value_heads"]
        self.scaling = self.head_dim ** -0.5
        h, nh, nkv = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
        self.q_proj = nn.Linear(h, nh * self.head_dim, bias=False)
        self.k_proj = nn.Linear(h, nkv * self.head_dim, bias=False)
        self.v_proj = nn.Linear(h, nkv * self.head_dim, bias=False)
        self.o_proj = nn.Linear(nh * self.head_dim, h, bias=False)
        self.q_norm = Qwen3RMSNorm(self.head_dim, c["rms_norm_eps"])
        self.k_norm = Qwen3RMSNorm(self.head_dim, c["rms_norm_eps"])

    def forward(self, hidden_states, position_embeddings, attention_mask, cache=None):
        input_shape = hidden_states.shape[:-1]
        hidden_shape = (*input_shape, -1, self.head_dim)
        q = self.q_norm(self.q_proj(hidden_states).view(hidden_shape)).transpose(1, 2)
        k = self.k_norm(self.k_proj(hidden_states).view(hidden_shape)).transpose(1, 2)
        v = self.v_proj(hidden_states).view(hidden_shape).transpose(1, 2)
        cos, sin = position_embeddings
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
        if cache is not None:  # DynamicCache.update: concatenate along the sequence
            if len(cache) > self.layer_idx:
                pk, pv = cache[self.layer_idx]
                k, v = torch.cat([pk, k], dim=-2), torch.cat([pv, v], dim=-2)
                cache[self.layer_idx] = (k, v)
            else:
                cache.append((k, v))
        out = eager_attention_forward(self, q, k, v, attention_mask, self.scaling,
                                      dropout=0.0)
        return self.o_proj(out.reshape(*input_shape, -1).contiguous())


class Qwen3DecoderLayer(nn.Module):
    def __init__(self, c, layer_idx):
        super().__init__()
        self.self_attn = Qwen3Attention(c, layer_idx)
        self.mlp = Qwen3MLP(c)
        self.input_layernorm = Qwen3RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.post_attention_layernorm = Qwen3RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, hidden_states, position_embeddings, attention_mask, cache=None):
        residual = hidden_states
        hidden_states = self.input_layernorm(hidden_states)
        hidden_states = self.self_attn(hidden_states, position_embeddings, attention_mask, cache)
        hidden_states = residual + hidden_states
        residual = hidden_states
        hidden_states = self.post_attention_layernorm(hidden_states)
        return residual + self.mlp(hidden_states)


class Qwen3RotaryEmbedding(nn.Module):
    def __init__(self, c):
        super().__init__()
        dim = c["head_dim"]
        inv_freq = 1.0 / (c["rope_theta"] ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    @torch.no_grad()
    def forward(self, x, position_ids):
        inv = self.inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1).to(x.device)
        pos = position_ids[:, None, :].float()
        freqs = (inv @ pos).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(x.dtype), emb.sin().to(x.dtype)


class Qwen3Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([Qwen3DecoderLayer(c, i) for i in range(c["num_hidden_layers"])])
        self.norm = Qwen3RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.rotary_emb = Qwen3RotaryEmbedding(c)

    def forward(self, input_ids, attention_mask, position_ids, cache=None):
        h = self.embed_tokens(input_ids)
        past = cache[0][0].shape[-2] if cache else 0
        mask = additive_mask(attention_mask, input_ids.shape[1], past, h.dtype)
        pe = self.rotary_emb(h, position_ids)
        for layer in self.layers:
            h = layer(h, pe, mask, cache)
        return self.norm(h)


class Qwen3ForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.model = Qwen3Model(c)
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)  # tied by load_model

    def forward(self, input_ids, attention_mask, position_ids, cache=None, logits_to_keep=0):
        h = self.model(input_ids, attention_mask, position_ids, cache)
        return self.lm_head(h[:, -logits_to_keep:, :] if logits_to_keep else h)


def additive_mask(attention_mask, q_len, past, dtype):
    """[B, 1, q, past+q]: 0 where attended, finfo(dtype).min elsewhere (causal AND key is a real token)."""
    kv = past + q_len
    dev = attention_mask.device
    causal = torch.ones(q_len, kv, dtype=torch.bool, device=dev).tril(diagonal=past)
    allowed = causal[None, None] & attention_mask[:, None, None, :kv].bool()
    mask = torch.zeros(allowed.shape, dtype=dtype, device=dev)
    return mask.masked_fill(~allowed, torch.finfo(dtype).min)


def read_config(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        c = json.load(f)
    c.setdefault("head_dim", c["hidden_size"] // c["num_attention_heads"])
    c.setdefault("rms_norm_eps", 1e-6)
    c.setdefault("rope_theta", 1e6)
    return c


def load_model(model_dir, dtype, device, cls=Qwen3ForCausalLM):
    """The checkpoint in `dtype` on `device`; vocab size from the weights (embedding checkpoints: 151669).
    Parameters are built uninitialised (as transformers' no_init_weights) and replaced by the loaded tensors."""
    c = read_config(model_dir)
    w = load_checkpoint(model_dir, dtype, device)
    c["vocab_size"] = w["model.embed_tokens.weight"].shape[0]
    saved = nn.Linear.reset_parameters, nn.Embedding.reset_parameters
    nn.Linear.reset_parameters = nn.Embedding.reset_parameters = lambda self: None
    try:
        m = cls(c)
    finally:
        nn.Linear.reset_parameters, nn.Embedding.reset_parameters = saved
    untied = "lm_head.weight" in w and not c.get("tie_word_embeddings")
    expected = {n for n, _ in m.named_parameters()}
    if not untied:
        expected.discard("lm_head.weight")
    missing = expected - set(w)
    if missing:
        raise ValueError(f"{model_dir}: checkpoint lacks {sorted(missing)[:5]}")
    for name in expected:
        mod, pname = name.rsplit(".", 1)
        setattr(m.get_submodule(mod), pname, nn.Parameter(w[name], requires_grad=False))
    if not untied:
        m.lm_head.weight = m.model.embed_tokens.weight
    m.model.rotary_emb.inv_freq = m.model.rotary_emb.inv_freq.to(device)
    return m.eval(), c


def pad_left(seqs, pad_id, device):
    """HF tokenizer padding_side='left' + generate's position ids: cumsum(mask) - 1, 1 at padding."""
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), T), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, T - len(s):] = torch.tensor(s, dtype=torch.long)
        mask[i, T - len(s):] = 1
    pos = mask.cumsum(-1) - 1
    pos = pos.masked_fill(mask == 0, 1)
    return ids.to(device), mask.to(device), pos.to(device)


def forward_bench(job):
    device = device_of(job.get("device", "cpu"))
    dtype = dtype_of(job["dtype"])
    t0 = now()
    model, _ = load_model(job["model_dir"], dtype, device)
    load_s = now() - t0
    log(f"eager {job['dtype']}: loaded in {load_s:.1f}s")
    pad = job.get("pad_id", 151643)
    times, tokens, first = [], [], None
    with torch.inference_mode():
        for i, batch in enumerate(job["warmup_batches"] + job["batches"]):
            warm = i < len(job["warmup_batches"])
            runs = []
            repeats = 1 if warm else job.get("repeats", 1)
            for _ in range(repeats):
                sync(device)
                t = now()
                ids, mask, pos = pad_left(batch, pad, device)
                h = model.model(ids, mask, pos)
                last = h[:, -1, :].float().cpu()
                sync(device)
                runs.append(now() - t)
            # The median run stands for all of them (as on our side): hiccups of a shared machine would dominate.
            dt = statistics.median(runs) * repeats
            if not warm:
                times.append(dt)
                tokens.append(sum(len(s) for s in batch) * job.get("repeats", 1))
                if first is None:
                    first = last.tolist()
                log(f"eager {job['dtype']} batch {len(times)}/{len(job['batches'])}: "
                    f"{len(batch)}x{ids.shape[1]}, {tokens[-1] / dt:.0f} tokens/s")
    return {"load_s": load_s, "times": times, "tokens": tokens, "first_last_hidden": first,
            "threads": torch.get_num_threads()}


def main():
    job, out, threads = start_job()
    write_json(out, forward_bench(job))


if __name__ == "__main__":
    main()
