"""The selector network's forward pass in numpy: what inference runs, without torch.

:class:`skllmselect.model.SelectorTransformer` is the network as it is trained (torch);
:class:`NumpyNetwork` computes its inference outputs (the per-pipeline scores, log variances
and log fit times, and the encoder-decoder's greedy ranking) from the same weights, operation
by operation in float32, for every option of :class:`~skllmselect.model_config.NetworkOptions`.
Importing torch costs about 2 s, the whole of a first ``recommend`` otherwise: the estimator
loads its model with :func:`skllmselect.loading.load_numpy` and never imports torch, and
:func:`skllmselect.prediction.predict_and_rank` turns a torch network it is given (the one
``pretrain`` has just trained) into this form first (:func:`as_numpy_network`), so every
score comes from this one implementation. ``tests/test_numpy_network.py`` checks that both
give the same outputs (within 1e-6) for every option.

No training here (no dropout, no token logits): dropout is off in inference, and the token
heads only serve pretraining.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from skllmselect.model_config import LOG_VAR_MAX, LOG_VAR_MIN, ModelConfig

_EPS = 1e-5  # the norms' epsilon, as torch's LayerNorm and RMSNorm in model.py
_TIED = ("ranking_head.weight", "tok_emb.weight", "token_head.weight")


def alibi_slopes(n_heads: int) -> list[float]:
    """Per-head ALiBi slopes (Press et al. 2022): a geometric sequence starting at 2^(-8/n);
    for n not a power of two, the closest power's slopes plus every other one of the next."""
    def powers(n):
        start = 2.0 ** (-8.0 / n)
        return [start ** (i + 1) for i in range(n)]
    closest = 2 ** math.floor(math.log2(n_heads))
    return powers(closest) + powers(2 * closest)[0::2][: n_heads - closest]


def parameter_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every parameter of the network ``config`` describes, name -> shape: the names of
    ``SelectorTransformer(config).state_dict()`` (tied matrices under each of their names)."""
    C, V, P, F = config.d_model, config.vocab_size, config.n_pipelines, config.ff_dim
    norm = ("weight", "bias") if config.norm == "layernorm" else ("weight",)

    def block(prefix: str, cross: bool) -> dict:
        shapes = {}
        for part in ("norm1", "norm_cross", "norm2") if cross else ("norm1", "norm2"):
            shapes.update({f"{prefix}.{part}.{p}": (C,) for p in norm})
        for attn in ("attn", "cross_attn") if cross else ("attn",):
            shapes.update({f"{prefix}.{attn}.{p}_proj.weight": (C, C)
                           for p in ("q", "k", "v", "out")})
        shapes[f"{prefix}.mlp.w1.weight"] = (F, C)
        if config.activation == "swiglu":
            shapes[f"{prefix}.mlp.w3.weight"] = (F, C)
        shapes[f"{prefix}.mlp.w2.weight"] = (C, F)
        return shapes

    shapes = {"tok_emb.weight": (V, C), "token_head.weight": (V, C)}
    if config.positions == "learned":
        shapes["pos_emb.weight"] = (config.sequence_length, C)
    if config.value_channel:
        shapes["value_proj.weight"] = (C, 1)
    for i in range(config.n_layers):
        shapes.update(block(f"blocks.{i}", cross=False))
    if config.norm_position == "pre":
        shapes.update({f"norm_f.{p}": (C,) for p in norm})
    for head in ("score_head", "log_var_head", "fit_time_head"):
        shapes.update({f"{head}.weight": (P, C), f"{head}.bias": (P,)})
    if config.architecture == "encoder-decoder":
        shapes["ranking_head.weight"] = (V, C)
        if config.positions == "learned":
            shapes["dec_pos_emb.weight"] = (P + 2, C)
        for i in range(config.n_decoder_layers):
            shapes.update(block(f"dec_blocks.{i}", cross=True))
        if config.norm_position == "pre":
            shapes.update({f"dec_norm_f.{p}": (C,) for p in norm})
    return shapes


def unpack_saved(tensors: dict[str, np.ndarray], config: ModelConfig) -> dict[str, np.ndarray]:
    """A weights file's tensors under the names of :func:`parameter_shapes`.

    Two things a saved file does differently from the network's state dict: a tied
    embedding is stored once, under the first of its names in alphabetical order, and files
    written when k and v were one ``kv_proj`` matrix (the rows of k, then v; the shipped
    weights) hold that matrix.
    """
    tensors = dict(tensors)
    for name in [n for n in tensors if n.endswith(".kv_proj.weight")]:
        k, v = np.split(tensors.pop(name), 2, axis=0)
        prefix = name[: -len("kv_proj.weight")]
        tensors[prefix + "k_proj.weight"], tensors[prefix + "v_proj.weight"] = k, v
    if config.tie_embeddings:
        names = [n for n in _TIED if n in parameter_shapes(config)]
        stored = [n for n in names if n in tensors]
        if len(stored) == 1:
            tensors.update(dict.fromkeys(names, tensors[stored[0]]))
    return tensors


def weight_problems(config: ModelConfig, weights: dict) -> str:
    """What keeps ``weights`` from being the network's parameters (missing, unexpected or
    misshapen names), or "" if nothing does."""
    expected = parameter_shapes(config)
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    misshapen = sorted(f"{n} {tuple(np.shape(weights[n]))} (expected {expected[n]})"
                       for n in set(expected) & set(weights)
                       if tuple(np.shape(weights[n])) != expected[n])
    return "; ".join(f"{what}: {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}"
                     for what, names in (("missing", missing), ("unexpected", unexpected),
                                         ("of another shape", misshapen)) if names)


@dataclass(frozen=True)
class NumpyOutput:
    """What :meth:`NumpyNetwork.forward` returns: the heads of ``SelectorOutput``, float32."""

    scores: np.ndarray
    """(B, P) predicted cross-validated score of each pipeline."""
    score_log_var: np.ndarray
    """(B, P) log variance of that prediction, clamped to [LOG_VAR_MIN, LOG_VAR_MAX]."""
    log_fit_time: np.ndarray
    """(B, P) predicted log(seconds) to fit each pipeline."""


class NumpyNetwork:
    """The selector network for inference, computed with numpy.

    Parameters
    ----------
    config : ModelConfig
    weights : dict of str to numpy.ndarray
        Exactly the parameters of :func:`parameter_shapes` (a ``state_dict``'s names),
        each of its shape; cast to float32.

    Raises
    ------
    ValueError
        If a parameter is missing, unexpected or of another shape (naming them).
    """

    def __init__(self, config: ModelConfig, weights: dict[str, np.ndarray]):
        problems = weight_problems(config, weights)
        if problems:
            raise ValueError(f"the weights do not fit the network the config describes "
                             f"({problems})")
        self.config = config
        self.weights = {n: np.ascontiguousarray(weights[n], dtype=np.float32)
                        for n in parameter_shapes(config)}

    @classmethod
    def from_torch(cls, network) -> NumpyNetwork:
        """The same network from a torch ``SelectorTransformer`` (on any device, any dtype)."""
        weights = {name: tensor.detach().float().cpu().numpy()
                   for name, tensor in network.state_dict().items()}
        return cls(network.config, weights)

    # -- building blocks --------------------------------------------------------------------

    def _linear(self, x, name: str, bias: bool = False):
        y = x @ self.weights[name + ".weight"].T
        return y + self.weights[name + ".bias"] if bias else y

    def _norm(self, x, name: str):
        w = self.weights[name + ".weight"]
        if self.config.norm == "rmsnorm":
            return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + _EPS) * w
        mean = x.mean(axis=-1, keepdims=True)
        centred = x - mean
        var = np.mean(centred * centred, axis=-1, keepdims=True)
        return centred / np.sqrt(var + _EPS) * w + self.weights[name + ".bias"]

    def _attention(self, x, name: str, mask, rope, memory=None):
        """Multi-head attention; self-attention when ``memory`` is None. ``mask``: bool
        (True = may attend) or an additive float32 bias, broadcastable to (B, H, T, S)."""
        B, T, C = x.shape
        H = self.config.n_heads
        source = x if memory is None else memory
        S = source.shape[1]
        q = self._linear(x, name + ".q_proj").reshape(B, T, H, -1).transpose(0, 2, 1, 3)
        k = self._linear(source, name + ".k_proj").reshape(B, S, H, -1).transpose(0, 2, 1, 3)
        v = self._linear(source, name + ".v_proj").reshape(B, S, H, -1).transpose(0, 2, 1, 3)
        if rope is not None:
            q, k = _apply_rope(q, rope), _apply_rope(k, rope)
        att = (q @ k.transpose(0, 1, 3, 2)) * np.float32(1.0 / math.sqrt(q.shape[-1]))
        if mask is not None:
            att = np.where(mask, att, -np.inf) if mask.dtype == bool else att + mask
        att = np.exp(att - att.max(axis=-1, keepdims=True))
        att /= att.sum(axis=-1, keepdims=True)
        y = (att @ v).transpose(0, 2, 1, 3).reshape(B, T, C)
        return self._linear(y, name + ".out_proj")

    def _mlp(self, x, name: str):
        h = self._linear(x, name + ".w1")
        if self.config.activation == "swiglu":
            h = h / (np.float32(1.0) + np.exp(-h)) * self._linear(x, name + ".w3")  # silu
        else:
            from scipy.special import erf  # exact gelu, as torch's; scipy comes with sklearn

            h = np.float32(0.5) * h * (np.float32(1.0) + erf(h * np.float32(1 / math.sqrt(2))))
        return self._linear(h, name + ".w2")

    def _block(self, x, name: str, mask, rope, memory=None, memory_mask=None):
        branches = [("norm1", lambda h: self._attention(h, name + ".attn", mask, rope))]
        if memory is not None:
            branches.append(("norm_cross", lambda h: self._attention(
                h, name + ".cross_attn", memory_mask, None, memory=memory)))
        branches.append(("norm2", lambda h: self._mlp(h, name + ".mlp")))
        for norm, f in branches:
            if self.config.norm_position == "pre":
                x = x + f(self._norm(x, f"{name}.{norm}"))
            else:
                x = self._norm(x + f(x), f"{name}.{norm}")
        return x

    def _embed(self, ids, positions: str, values=None):
        x = self.weights["tok_emb.weight"][ids]  # (B, T, C)
        if values is not None and self.config.value_channel:
            # As SelectorTransformer._embed: value_proj(v - 0.5), none at [CLS].
            v = np.asarray(values, dtype=np.float32) - np.float32(0.5)
            v[:, 0] = 0.0
            x = x + v[..., None] * self.weights["value_proj.weight"][:, 0]
        if positions in self.weights:
            table = self.weights[positions]
            if ids.shape[1] > table.shape[0]:
                raise ValueError(f"sequence of length {ids.shape[1]} is longer than the "
                                 f"{table.shape[0]} learned positions.")
            x = x + table[: ids.shape[1]]
        return x

    def _rope(self, T: int):
        if self.config.positions != "rope":
            return None
        hd = self.config.head_dim
        inv_freq = np.float32(1.0) / np.float32(10000) ** (
            np.arange(0, hd, 2, dtype=np.float32) / np.float32(hd))
        angles = np.outer(np.arange(T, dtype=np.float32), inv_freq)
        angles = np.concatenate((angles, angles), axis=-1)  # (T, hd)
        return np.cos(angles), np.sin(angles)

    def _self_mask(self, key_mask, T: int, causal: bool):
        """As ``SelectorTransformer._self_mask``: None, a bool mask or an ALiBi bias."""
        alibi = self.config.positions == "alibi"
        if key_mask is None and not causal and not alibi:
            return None
        allowed = np.ones((1, 1, T, T), dtype=bool)
        if key_mask is not None:
            allowed = allowed & key_mask[:, None, None, :]
        i = np.arange(T)
        distance = i[:, None] - i[None, :]  # query i minus key j
        if causal:
            allowed = allowed & (distance >= 0)
        if not alibi:
            return allowed
        slopes = np.array(alibi_slopes(self.config.n_heads), dtype=np.float32)
        bias = -slopes[:, None, None] * (distance if causal else np.abs(distance)).astype(
            np.float32)
        return np.where(allowed, bias[None], np.float32(-np.inf))

    def _encode(self, ids, attention_mask, values=None):
        if ids.ndim != 2:
            raise ValueError(f"input_ids must be (batch, length), got shape {ids.shape}.")
        if self.config.value_channel:
            if values is None:
                raise ValueError("this model has a value channel (value_channel=True): pass "
                                 "values, the positions of the meta-features inside their "
                                 "bins (MetaFeatureTokenizer.encode_values).")
            if np.shape(values) != ids.shape:
                raise ValueError(f"values shape {np.shape(values)} differs from input_ids "
                                 f"shape {ids.shape}; pass one value per token.")
        key_mask = None
        if attention_mask is not None:
            if attention_mask.shape != ids.shape:
                raise ValueError(f"attention_mask shape {attention_mask.shape} differs from "
                                 f"input_ids shape {ids.shape}.")
            key_mask = np.asarray(attention_mask, dtype=bool).copy()
            key_mask[:, 0] = True  # [CLS] always attendable, as in the torch network
        T = ids.shape[1]
        mask = self._self_mask(key_mask, T, causal=self.config.architecture == "decoder")
        rope = self._rope(T)
        x = self._embed(ids, "pos_emb.weight", values)
        for i in range(self.config.n_layers):
            x = self._block(x, f"blocks.{i}", mask, rope)
        if self.config.norm_position == "pre":
            x = self._norm(x, "norm_f")
        return x, key_mask

    def _decode(self, tokens, memory, key_mask):
        """The ranking decoder's pipeline logits at its last step, (B, P)."""
        T = tokens.shape[1]
        mask = self._self_mask(None, T, causal=True)
        memory_mask = None if key_mask is None else key_mask[:, None, None, :]
        y = self._embed(tokens, "dec_pos_emb.weight")
        for i in range(self.config.n_decoder_layers):
            y = self._block(y, f"dec_blocks.{i}", mask, self._rope(T), memory, memory_mask)
        if self.config.norm_position == "pre":
            y = self._norm(y, "dec_norm_f")
        offset, P = self.config.pipeline_token_offset, self.config.n_pipelines
        head = self.weights["ranking_head.weight"][offset:offset + P]  # (P, C)
        return y[:, -1] @ head.T

    # -- public -----------------------------------------------------------------------------

    def forward(self, input_ids, attention_mask=None, values=None) -> NumpyOutput:
        """Score every pipeline, as ``SelectorTransformer.forward``.

        Parameters
        ----------
        input_ids : numpy.ndarray of int, shape (B, L)
            [CLS] then one token per meta-feature.
        attention_mask : numpy.ndarray of bool, shape (B, L), optional
            True for a token to attend to; False for an excluded (missing) value.
        values : numpy.ndarray of float, shape (B, L), optional
            Each token's position inside its bin (``MetaFeatureTokenizer.encode_values``);
            required with ``value_channel``, ignored without it.
        """
        ids = np.asarray(input_ids)
        x, key_mask = self._encode(ids, attention_mask, values)
        if self.config.architecture == "decoder":  # the last real position has read it all
            last = (np.full(ids.shape[0], ids.shape[1] - 1) if key_mask is None
                    else (key_mask * np.arange(ids.shape[1])).argmax(axis=1))
            pooled = x[np.arange(ids.shape[0]), last]
        else:
            pooled = x[:, 0]  # [CLS]
        return NumpyOutput(
            scores=self._linear(pooled, "score_head", bias=True),
            score_log_var=np.clip(self._linear(pooled, "log_var_head", bias=True),
                                  LOG_VAR_MIN, LOG_VAR_MAX),
            log_fit_time=self._linear(pooled, "fit_time_head", bias=True))

    def rank(self, input_ids, attention_mask=None, values=None) -> np.ndarray:
        """Pipeline indices, best first, shape (B, P), as ``SelectorTransformer.rank``: the
        scores sorted, or for the encoder-decoder the decoder's greedy choices."""
        ids = np.asarray(input_ids)
        if self.config.architecture != "encoder-decoder":
            scores = self.forward(ids, attention_mask, values).scores
            return np.argsort(-scores, axis=1, kind="stable")
        memory, key_mask = self._encode(ids, attention_mask, values)
        B, P = ids.shape[0], self.config.n_pipelines
        tokens = np.full((B, 1), self.config.bos_id, dtype=np.int64)
        used = np.zeros((B, P), dtype=bool)
        order = []
        for _ in range(P):
            logits = np.where(used, -np.inf, self._decode(tokens, memory, key_mask))
            choice = logits.argmax(axis=1)
            used[np.arange(B), choice] = True
            order.append(choice)
            tokens = np.concatenate(
                (tokens, (choice + self.config.pipeline_token_offset)[:, None]), axis=1)
        return np.stack(order, axis=1)


def _apply_rope(x, rope):
    cos, sin = rope  # (T, hd)
    half = x.shape[-1] // 2
    rotated = np.concatenate((-x[..., half:], x[..., :half]), axis=-1)
    return x * cos + rotated * sin


def as_numpy_network(network) -> NumpyNetwork:
    """``network`` as a :class:`NumpyNetwork`: itself, or a torch ``SelectorTransformer``
    converted from its current weights (its state dict)."""
    if isinstance(network, NumpyNetwork):
        return network
    if hasattr(network, "state_dict") and isinstance(getattr(network, "config", None),
                                                     ModelConfig):
        return NumpyNetwork.from_torch(network)
    raise TypeError(f"expected a NumpyNetwork or a skllmselect.model.SelectorTransformer, got "
                    f"{type(network).__name__}.")
