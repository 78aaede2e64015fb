#!/usr/bin/env python3
"""Float reference forward pass of a llama-family GGUF (numpy, weights dequantized by the
`gguf` PyPI package), written independently of Hark's Swift/C code.

Writes Tests/Fixtures/llm/forward_reference_smollm2.json: for a few token-id prompts, the
top logits after the prompt and the greedy continuation (8 tokens).

    python3 scripts/reference/llm_forward_reference.py models/SmolLM2-135M-Instruct.Q4_1.gguf
"""
import json
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize


def load(path):
    r = GGUFReader(path)
    meta = {k: f.contents() for k, f in r.fields.items() if not k.startswith("tokenizer.")}
    tokens = r.fields["tokenizer.ggml.tokens"].contents()
    w = {}
    for t in r.tensors:
        a = dequantize(t.data, t.tensor_type).astype(np.float32)
        shape = [int(x) for x in t.shape][::-1]  # numpy order: rows, cols
        w[t.name] = a.reshape(shape)
    return meta, tokens, w


def rope(x, pos, base, neox):
    # x: (heads, hd)
    hd = x.shape[-1]
    inv = base ** (-np.arange(0, hd, 2, dtype=np.float64) / hd)
    ang = pos * inv
    c, s = np.cos(ang), np.sin(ang)
    out = x.astype(np.float64).copy()
    if neox:
        a, b = x[:, : hd // 2], x[:, hd // 2 :]
        out[:, : hd // 2] = a * c - b * s
        out[:, hd // 2 :] = a * s + b * c
    else:
        a, b = x[:, 0::2], x[:, 1::2]
        out[:, 0::2] = a * c - b * s
        out[:, 1::2] = a * s + b * c
    return out.astype(np.float32)


def forward(meta, w, ids):
    arch = meta["general.architecture"]
    nl = meta[f"{arch}.block_count"]
    nh = meta[f"{arch}.attention.head_count"]
    nkv = meta[f"{arch}.attention.head_count_kv"]
    e = meta[f"{arch}.embedding_length"]
    hd = e // nh
    eps = meta[f"{arch}.attention.layer_norm_rms_epsilon"]
    base = meta[f"{arch}.rope.freq_base"]
    neox = arch == "qwen2"
    T = len(ids)
    x = w["token_embd.weight"][ids].astype(np.float32)

    def rms(v, g):
        return (v / np.sqrt((v.astype(np.float64) ** 2).mean(-1, keepdims=True) + eps)).astype(np.float32) * g

    for l in range(nl):
        p = f"blk.{l}."
        h = rms(x, w[p + "attn_norm.weight"])
        q = h @ w[p + "attn_q.weight"].T
        k = h @ w[p + "attn_k.weight"].T
        v = h @ w[p + "attn_v.weight"].T
        if p + "attn_q.bias" in w:
            q += w[p + "attn_q.bias"]; k += w[p + "attn_k.bias"]; v += w[p + "attn_v.bias"]
        q = q.reshape(T, nh, hd); k = k.reshape(T, nkv, hd); v = v.reshape(T, nkv, hd)
        q = np.stack([rope(q[t], t, base, neox) for t in range(T)])
        k = np.stack([rope(k[t], t, base, neox) for t in range(T)])
        out = np.zeros((T, nh, hd), np.float32)
        g = nh // nkv
        for hh in range(nh):
            s = q[:, hh] @ k[:, hh // g].T / np.sqrt(hd)
            s = s + np.triu(np.full((T, T), -np.inf), 1)
            s = np.exp(s - s.max(-1, keepdims=True)); s /= s.sum(-1, keepdims=True)
            out[:, hh] = s @ v[:, hh // g]
        x = x + out.reshape(T, e) @ w[p + "attn_output.weight"].T
        h = rms(x, w[p + "ffn_norm.weight"])
        a = h @ w[p + "ffn_gate.weight"].T
        b = h @ w[p + "ffn_up.weight"].T
        x = x + ((a / (1 + np.exp(-a))) * b) @ w[p + "ffn_down.weight"].T
    h = rms(x[-1:], w["output_norm.weight"])
    out_w = w.get("output.weight", w["token_embd.weight"])
    return (h @ out_w.T)[0]


def main():
    path = sys.argv[1]
    meta, vocab, w = load(path)
    index = {t: i for i, t in enumerate(vocab)}
    prompts = [
        ["The", "Ġcapital", "Ġof", "ĠFrance", "Ġis"],
        ["<|im_start|>", "user", "Ċ", "Hello", "!", "Ġwho", "Ġare", "Ġyou", "?", "<|im_end|>", "Ċ", "<|im_start|>", "ass", "istant", "Ċ"],
        ["def", "Ġfib", "(", "n", "):"],
    ]
    cases = []
    for pieces in prompts:
        ids = [index[p] for p in pieces]
        logits = forward(meta, w, ids)
        top = np.argsort(-logits)[:10]
        seq = list(ids)
        greedy, margins = [], []
        for _ in range(8):
            step = forward(meta, w, seq)
            order = np.argsort(-step)
            nxt = int(order[0])
            greedy.append(nxt)
            margins.append(float(step[order[0]] - step[order[1]]))
            seq.append(nxt)
        cases.append({"tokens": ids, "top_ids": [int(i) for i in top],
                      "top_logits": [float(logits[i]) for i in top], "greedy": greedy, "greedy_margins": margins})
        print(pieces, [vocab[i] for i in greedy])
    out = {"model": path.split("/")[-1], "cases": cases,
           "note": "numpy float forward pass on gguf-dequantized weights (f32 activations)"}
    with open("Tests/Fixtures/llm/forward_reference_smollm2.json", "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
