"""A BERT cross-encoder forward pass in plain JAX, from a PyTorch state dict (numpy arrays).

    params = params_from_state_dict(state, config)      # config: transformers BertConfig or a dict
    logits = forward(params, input_ids, attention_mask, token_type_ids)   # [batch]
    forward = make_forward(static, jnp.float32, jax.lax.Precision.HIGHEST) # every product in true fp32

Shapes are read from the weights, so pruned and distilled variants load as they are: any layer count,
per-layer head counts (rows of the query weight / head size, with head size = hidden_size /
config.num_attention_heads -- never assumed to be 64), per-layer FFN widths, and the rankbench
bottleneck adapter (`output.adapter.down/up`: h = dense(x); h = h + up(gelu(down(h)))).
Matches transformers' BertForSequenceClassification in eval mode (dropout off).

Every matrix product (the linear layers, Q K^T and P V) takes the one `precision` given to
`make_forward`: with JAX's default, float32 products run as TF32 on recent NVIDIA GPUs and as one bf16
pass on TPUs, so the backend passes Precision.HIGHEST for fp32 (see xla_backend.py).
"""
from __future__ import annotations

import functools

import numpy as np

_ACTIVATIONS = {"gelu": "erf", "gelu_python": "erf", "gelu_new": "tanh", "gelu_pytorch_tanh": "tanh",
                "gelu_fast": "tanh", "relu": "relu"}


def _cfg(config, key, default=None):
    return config.get(key, default) if isinstance(config, dict) else getattr(config, key, default)


def params_from_state_dict(state: dict, config) -> dict:
    """Numpy state dict (keys as in BertForSequenceClassification) -> a nested dict of arrays."""
    def get(key):
        return np.asarray(state[key], dtype=np.float32)

    def linear(prefix):
        return {"w": get(prefix + ".weight").T.copy(), "b": get(prefix + ".bias")}

    def norm(prefix):
        return {"g": get(prefix + ".weight"), "b": get(prefix + ".bias")}

    n_layers = 0
    while f"bert.encoder.layer.{n_layers}.attention.self.query.weight" in state:
        n_layers += 1
    emb = "bert.embeddings."
    layers = []
    for i in range(n_layers):
        p = f"bert.encoder.layer.{i}."
        layer = {"q": linear(p + "attention.self.query"), "k": linear(p + "attention.self.key"),
                 "v": linear(p + "attention.self.value"), "o": linear(p + "attention.output.dense"),
                 "ln1": norm(p + "attention.output.LayerNorm"), "ffn_in": linear(p + "intermediate.dense"),
                 "ffn_out": linear(p + "output.dense"), "ln2": norm(p + "output.LayerNorm")}
        if p + "output.adapter.down.weight" in state:
            layer["adapter_down"] = linear(p + "output.adapter.down")
            layer["adapter_up"] = linear(p + "output.adapter.up")
        layers.append(layer)
    hidden = int(_cfg(config, "hidden_size"))
    head_size = hidden // int(_cfg(config, "num_attention_heads"))
    act = _ACTIVATIONS.get(str(_cfg(config, "hidden_act", "gelu")))
    if act is None:
        raise ValueError(f"hidden_act {_cfg(config, 'hidden_act')!r} is not supported by the JAX encoder")
    return {"word": get(emb + "word_embeddings.weight"), "position": get(emb + "position_embeddings.weight"),
            "token_type": get(emb + "token_type_embeddings.weight"), "ln": norm(emb + "LayerNorm"),
            "layers": layers, "pooler": linear("bert.pooler.dense"), "classifier": linear("classifier"),
            # static (non-array) facts travel separately: see `static_config`
            "_static": {"head_size": head_size, "eps": float(_cfg(config, "layer_norm_eps", 1e-12)),
                        "act": act}}


def split_static(params: dict) -> tuple[dict, dict]:
    arrays = {k: v for k, v in params.items() if k != "_static"}
    return arrays, dict(params["_static"])


def make_forward(static: dict, compute_dtype=None, precision=None):
    """A pure function (params, input_ids, attention_mask, token_type_ids) -> logits [batch];
    `precision` (a jax.lax.Precision, None: JAX's default) goes to every matrix product."""
    import jax
    import jax.numpy as jnp

    head_size, eps, act = static["head_size"], static["eps"], static["act"]
    dtype = compute_dtype or jnp.float32

    matmul = functools.partial(jnp.matmul, precision=precision)

    def activation(x):
        if act == "relu":
            return jax.nn.relu(x)
        return jax.nn.gelu(x, approximate=(act == "tanh"))

    def dense(x, p):
        return matmul(x, p["w"].astype(dtype)) + p["b"].astype(dtype)

    def layer_norm(x, p):
        x32 = x.astype(jnp.float32)  # statistics in fp32 whatever the compute type
        mean = x32.mean(-1, keepdims=True)
        var = ((x32 - mean) ** 2).mean(-1, keepdims=True)
        return ((x32 - mean) * jax.lax.rsqrt(var + eps) * p["g"] + p["b"]).astype(dtype)

    def attention(x, bias, layer):
        batch, seq, _ = x.shape
        heads = layer["q"]["w"].shape[1] // head_size  # per layer: pruned layers have fewer heads
        if heads == 0:  # every head pruned: the block adds only the output bias
            return jnp.broadcast_to(layer["o"]["b"].astype(dtype), x.shape)

        def split(t):
            return t.reshape(batch, seq, heads, head_size).transpose(0, 2, 1, 3)

        q, k, v = (split(dense(x, layer[n])) for n in ("q", "k", "v"))
        scores = matmul(q, k.transpose(0, 1, 3, 2)).astype(jnp.float32) / np.sqrt(head_size) + bias
        probs = jax.nn.softmax(scores, axis=-1).astype(dtype)
        context = matmul(probs, v).transpose(0, 2, 1, 3).reshape(batch, seq, heads * head_size)
        return dense(context, layer["o"])

    def forward(params, input_ids, attention_mask, token_type_ids):
        seq = input_ids.shape[1]
        x = (params["word"][input_ids] + params["position"][:seq][None]
             + params["token_type"][token_type_ids])
        x = layer_norm(x.astype(dtype), params["ln"])
        # Masked keys get the most negative fp32: exp underflows to exactly 0, as in transformers.
        bias = jnp.where(attention_mask[:, None, None, :] > 0, 0.0, jnp.finfo(jnp.float32).min)
        for layer in params["layers"]:
            x = layer_norm(attention(x, bias, layer) + x, layer["ln1"])
            h = dense(activation(dense(x, layer["ffn_in"])), layer["ffn_out"])
            if "adapter_down" in layer:
                h = h + dense(activation_erf(dense(h, layer["adapter_down"])), layer["adapter_up"])
            x = layer_norm(h + x, layer["ln2"])
        pooled = jnp.tanh(dense(x[:, 0], params["pooler"]))
        return dense(pooled, params["classifier"])[:, 0].astype(jnp.float32)

    def activation_erf(x):  # the adapter's GELU is always the exact one (models.ranker.BottleneckAdapter)
        return jax.nn.gelu(x, approximate=False)

    return forward
