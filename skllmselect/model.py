"""The selector network: a small transformer that reads a dataset's meta-feature tokens and
scores every portfolio pipeline.

The torch module (`SelectorTransformer`), built from a `ModelConfig` (in
`skllmselect.model_config`, re-exported here); training and export use it, while inference
runs the same network in numpy (`skllmselect.numpy_network`), without importing torch.

A sequence is ``[CLS]`` followed by one token per meta-feature (see `skllmselect.tokenizer`),
and, with the ``value_channel`` option, each value's position inside its bin beside its token;
the network predicts, per pipeline, a cross-validated score, the log variance of that
prediction and a log fit time, plus token logits for masked-token (encoder) or next-token
(decoder) pretraining. The ``"encoder-decoder"`` architecture also writes the ranking itself
as a sequence of pipeline tokens. No training code and no parallelism here: those live in
``pretrain``.

Saving and loading go through `huggingface_hub.PyTorchModelHubMixin`: ``save_pretrained(dir)``
writes ``model.safetensors`` and a plain-JSON ``config.json`` holding every `ModelConfig` field
(including the names of the meta-features and pipelines, the tokenizer and library versions),
and ``SelectorTransformer.from_pretrained(dir)`` rebuilds the same model from them.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin
from torch import Tensor, nn

# The config lives in a module of its own (no torch); re-exported here, where training
# code and saved-model readers have always found it.
from skllmselect.model_config import (  # noqa: F401
    ACTIVATIONS,
    ARCHITECTURES,
    LOG_VAR_MAX,
    LOG_VAR_MIN,
    NORM_POSITIONS,
    NORMS,
    POSITIONS,
    ModelConfig,
    NetworkOptions,
)
from skllmselect.numpy_network import alibi_slopes


@dataclass
class SelectorOutput:
    """What `SelectorTransformer.forward` returns. The (B, P) heads are float32 even under
    autocast; the logits stay in the compute dtype (cross_entropy upcasts them anyway)."""

    scores: Tensor
    """(B, P) predicted cross-validated score of each pipeline."""
    score_log_var: Tensor
    """(B, P) log variance of that prediction, clamped to [LOG_VAR_MIN, LOG_VAR_MAX]."""
    log_fit_time: Tensor
    """(B, P) predicted log(seconds) to fit each pipeline."""
    token_logits: Tensor
    """(B, L, V) masked-token logits at every position (encoder, encoder-decoder), or
    next-token logits (decoder: position i predicts token i + 1)."""
    ranking_logits: Tensor | None = None
    """(B, T, V) encoder-decoder given decoder_input_ids: the next pipeline token at each
    decoder step; None otherwise."""


# ---------------------------------------------------------------------------------------------
# building blocks


def _norm(config: ModelConfig) -> nn.Module:
    if config.norm == "rmsnorm":
        return nn.RMSNorm(config.d_model, eps=1e-5)
    return nn.LayerNorm(config.d_model, eps=1e-5)


def _rotate_half(x: Tensor) -> Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def _apply_rope(x: Tensor, rope: tuple[Tensor, Tensor]) -> Tensor:
    cos, sin = rope  # (T, hd) float32
    return (x.float() * cos + _rotate_half(x.float()) * sin).type_as(x)


class Attention(nn.Module):
    """Multi-head attention; self-attention when ``memory`` is None, else cross-attention."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.n_heads, self.dropout = config.n_heads, config.dropout
        # Three projections, not one fused [k; v]: tensor parallelism splits each by heads,
        # which a fused matrix split in halves would not do (one rank would get all of k).
        self.q_proj = nn.Linear(config.d_model, config.d_model, bias=False)
        self.k_proj = nn.Linear(config.d_model, config.d_model, bias=False)
        self.v_proj = nn.Linear(config.d_model, config.d_model, bias=False)
        self.out_proj = nn.Linear(config.d_model, config.d_model, bias=False)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.register_load_state_dict_pre_hook(_split_fused_kv)

    def forward(self, x, mask=None, rope=None, memory=None):
        # Widths come from the projections, not from d_model: under tensor parallelism a
        # rank holds n_heads / degree heads (pretrain.tensor_parallel sets self.n_heads).
        B, T, _ = x.shape
        source = x if memory is None else memory
        S = source.shape[1]
        q = self.q_proj(x).view(B, T, self.n_heads, -1).transpose(1, 2)  # (B, H, T, hd)
        k = self.k_proj(source).view(B, S, self.n_heads, -1).transpose(1, 2)  # (B, H, S, hd)
        v = self.v_proj(source).view(B, S, self.n_heads, -1).transpose(1, 2)  # (B, H, S, hd)
        if rope is not None:
            q, k = _apply_rope(q, rope), _apply_rope(k, rope)
        if mask is not None and mask.dtype != torch.bool:
            mask = mask.to(q.dtype)  # an additive float mask must match the (autocast) dtype
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0)
        y = y.transpose(1, 2).contiguous().view(B, T, -1)  # (B, T, H * hd)
        return self.resid_dropout(self.out_proj(y))


def _split_fused_kv(module, state_dict, prefix, *args):
    """Read files written when k and v were one ``kv_proj`` matrix (the rows of k, then v),
    such as the shipped weights."""
    fused = state_dict.pop(prefix + "kv_proj.weight", None)
    if fused is not None:
        state_dict[prefix + "k_proj.weight"], state_dict[prefix + "v_proj.weight"] = (
            fused.chunk(2, dim=0))


class MLP(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.swiglu = config.activation == "swiglu"
        self.w1 = nn.Linear(config.d_model, config.ff_dim, bias=False)
        self.w3 = nn.Linear(config.d_model, config.ff_dim, bias=False) if self.swiglu else None
        self.w2 = nn.Linear(config.ff_dim, config.d_model, bias=False)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        h = F.silu(self.w1(x)) * self.w3(x) if self.swiglu else F.gelu(self.w1(x))
        return self.dropout(self.w2(h))


class Block(nn.Module):
    """Self-attention (+ cross-attention to ``memory`` when ``cross``) + MLP, each a residual
    branch, normalized before (pre) or after (post) the residual addition."""

    def __init__(self, config: ModelConfig, cross: bool = False):
        super().__init__()
        self.pre = config.norm_position == "pre"
        self.norm1, self.attn = _norm(config), Attention(config)
        self.norm_cross = _norm(config) if cross else None
        self.cross_attn = Attention(config) if cross else None
        self.norm2, self.mlp = _norm(config), MLP(config)

    def forward(self, x, mask=None, rope=None, memory=None, memory_mask=None):
        branches = [(self.norm1, lambda h: self.attn(h, mask, rope))]
        if self.cross_attn is not None:
            branches.append((self.norm_cross, lambda h: self.cross_attn(h, memory_mask,
                                                                        memory=memory)))
        branches.append((self.norm2, self.mlp))
        for norm, f in branches:
            x = x + f(norm(x)) if self.pre else norm(x + f(x))
        return x


# ---------------------------------------------------------------------------------------------
# the network


class SelectorTransformer(nn.Module, PyTorchModelHubMixin, library_name="skllmselect",
                          tags=["algorithm-selection", "meta-learning", "tabular"]):
    """Scores (and optionally ranks) the portfolio pipelines from meta-feature tokens.

    Parameters
    ----------
    config : ModelConfig or dict
        A dict (as read from ``config.json``) goes through `ModelConfig.from_dict`.

    Notes
    -----
    Key position 0 ([CLS]) can always be attended to, whatever ``attention_mask`` says, so
    that a fully masked row still gives finite outputs (it then reads only [CLS]). Causal
    masks are unaffected by this: position 0 precedes every query.

    Examples
    --------
    >>> config = ModelConfig(vocab_size=64, sequence_length=9, n_pipelines=4, d_model=32,
    ...                      n_layers=2)
    >>> model = SelectorTransformer(config).eval()
    >>> ids = torch.randint(9, 64, (3, 9)); ids[:, 0] = config.cls_id
    >>> model(ids).scores.shape
    torch.Size([3, 4])
    >>> model.rank(ids).shape
    torch.Size([3, 4])
    """

    def __init__(self, config: ModelConfig | dict):
        super().__init__()
        if isinstance(config, dict):
            config = ModelConfig.from_dict(config)
        if not isinstance(config, ModelConfig):
            raise ValueError(f"config must be a ModelConfig or a dict, got {type(config)}.")
        self.config = config
        # What save_pretrained writes to config.json: every field, whatever was passed.
        self._hub_mixin_config = config
        C, V = config.d_model, config.vocab_size
        self.tok_emb = nn.Embedding(V, C)
        self.pos_emb = (nn.Embedding(config.sequence_length, C)
                        if config.positions == "learned" else None)
        # The value channel: a value's position in its bin, as a direction in the embedding.
        self.value_proj = nn.Linear(1, C, bias=False) if config.value_channel else None
        self.emb_dropout = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.norm_f = _norm(config) if config.norm_position == "pre" else nn.Identity()
        self.score_head = nn.Linear(C, config.n_pipelines)
        self.log_var_head = nn.Linear(C, config.n_pipelines)
        self.fit_time_head = nn.Linear(C, config.n_pipelines)
        self.token_head = nn.Linear(C, V, bias=False)
        if config.architecture == "encoder-decoder":
            # Decoder inputs: [BOS] + up to P pipeline tokens (+1 spare, e.g. for [EOS]).
            self.dec_pos_emb = (nn.Embedding(config.n_pipelines + 2, C)
                                if config.positions == "learned" else None)
            self.dec_blocks = nn.ModuleList(Block(config, cross=True)
                                            for _ in range(config.n_decoder_layers))
            self.dec_norm_f = _norm(config) if config.norm_position == "pre" else nn.Identity()
            self.ranking_head = nn.Linear(C, V, bias=False)
        self.apply(self._init_weights)
        # nanoGPT: scale the residual output projections down by depth.
        for name, p in self.named_parameters():
            if name.endswith(("out_proj.weight", "mlp.w2.weight")):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layers))
        if config.tie_embeddings:  # after init: the tied matrix keeps the embedding's init
            self.token_head.weight = self.tok_emb.weight
            if config.architecture == "encoder-decoder":
                self.ranking_head.weight = self.tok_emb.weight

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    @classmethod
    def _from_pretrained(cls, *, strict: bool = True, **kwargs):
        # The mixin defaults to strict=False, which would load a mismatched file silently.
        return super()._from_pretrained(strict=strict, **kwargs)

    def num_parameters(self, exclude_embeddings: bool = False) -> int:
        """Number of parameters (a tied matrix counted once); ``exclude_embeddings`` leaves out
        the token embedding and the learned position tables."""
        n = sum(p.numel() for p in self.parameters())
        if exclude_embeddings:
            for emb in (self.tok_emb, self.pos_emb, getattr(self, "dec_pos_emb", None)):
                n -= emb.weight.numel() if emb is not None else 0
        return n

    # -- helpers ----------------------------------------------------------------------------

    def _embed(self, ids: Tensor, pos_emb: nn.Embedding | None,
               values: Tensor | None = None) -> Tensor:
        x = self.tok_emb(ids)  # (B, T, C)
        if values is not None and self.value_proj is not None:
            # Centred, so a value mid-bin adds nothing; [CLS] (position 0) gets no value.
            v = (values.to(torch.float32) - 0.5)[..., None]  # (B, T, 1)
            v = torch.cat((torch.zeros_like(v[:, :1]), v[:, 1:]), dim=1)
            x = x + self.value_proj(v.to(self.value_proj.weight.dtype))
        if pos_emb is not None:
            if ids.shape[1] > pos_emb.num_embeddings:
                raise ValueError(f"sequence of length {ids.shape[1]} is longer than the "
                                 f"{pos_emb.num_embeddings} learned positions.")
            x = x + pos_emb(torch.arange(ids.shape[1], device=ids.device))
        return self.emb_dropout(x)

    def _rope(self, T: int, device) -> tuple[Tensor, Tensor] | None:
        if self.config.positions != "rope":
            return None
        hd = self.config.head_dim
        inv_freq = 1.0 / 10000 ** (torch.arange(0, hd, 2, device=device, dtype=torch.float32) / hd)
        angles = torch.outer(torch.arange(T, device=device, dtype=torch.float32), inv_freq)
        angles = torch.cat((angles, angles), dim=-1)  # (T, hd)
        return angles.cos(), angles.sin()

    def _self_mask(self, key_mask: Tensor | None, T: int, causal: bool, device) -> Tensor | None:
        """Mask for self-attention over T positions: bool (True = may attend) or, with ALiBi,
        an additive float32 bias; shape broadcastable to (B, H, T, T)."""
        alibi = self.config.positions == "alibi"
        if key_mask is None and not causal and not alibi:
            return None
        allowed = torch.ones(1, 1, T, T, dtype=torch.bool, device=device)
        if key_mask is not None:
            allowed = allowed & key_mask[:, None, None, :]  # (B, 1, T, T)
        i = torch.arange(T, device=device)
        distance = i[:, None] - i[None, :]  # (T, T): query i minus key j
        if causal:
            allowed = allowed & (distance >= 0)
        if not alibi:
            return allowed
        slopes = torch.tensor(alibi_slopes(self.config.n_heads), device=device)
        bias = -slopes[:, None, None] * (distance if causal else distance.abs())  # (H, T, T)
        return bias[None].masked_fill(~allowed, float("-inf"))  # (B or 1, H, T, T)

    def _check_values(self, input_ids: Tensor, values: Tensor | None) -> None:
        """A model with the value channel needs ``values`` shaped like ``input_ids``."""
        if not self.config.value_channel:
            return  # nothing reads them
        if values is None:
            raise ValueError("this model has a value channel (value_channel=True): pass "
                             "values, the positions of the meta-features inside their bins "
                             "(MetaFeatureTokenizer.encode_values, or the collator's 'values').")
        if values.shape != input_ids.shape:
            raise ValueError(f"values shape {tuple(values.shape)} differs from input_ids "
                             f"shape {tuple(input_ids.shape)}; pass one value per token.")

    def _encode(self, input_ids: Tensor, attention_mask: Tensor | None,
                values: Tensor | None = None):
        """The stack that reads the meta-features -> final states (B, L, C) and key mask."""
        if input_ids.ndim != 2:
            raise ValueError(f"input_ids must be (batch, length), got shape "
                             f"{tuple(input_ids.shape)}.")
        if attention_mask is not None and attention_mask.shape != input_ids.shape:
            raise ValueError(f"attention_mask shape {tuple(attention_mask.shape)} differs "
                             f"from input_ids shape {tuple(input_ids.shape)}.")
        self._check_values(input_ids, values)
        key_mask, mask, rope = self._encoder_context(attention_mask, input_ids.shape[1],
                                                     input_ids.device)
        x = self._embed(input_ids, self.pos_emb, values)
        for block in self.blocks:
            x = block(x, mask, rope)
        return self.norm_f(x), key_mask  # (B, L, C)

    def _encoder_context(self, attention_mask: Tensor | None, L: int, device):
        """What every encoder block reads besides its input: the key mask (B, L), the
        self-attention mask and the rotary tables. A function of the inputs alone, so that
        each pipeline stage (pretrain.pipeline) rebuilds it instead of receiving it."""
        key_mask = None
        if attention_mask is not None:
            key_mask = attention_mask.to(torch.bool).clone()
            key_mask[:, 0] = True  # [CLS] always attendable: no fully masked row, no NaN
        causal = self.config.architecture == "decoder"
        return key_mask, self._self_mask(key_mask, L, causal, device), self._rope(L, device)

    def _decode(self, decoder_input_ids: Tensor, memory: Tensor, key_mask: Tensor | None):
        """Ranking decoder: causal over its own tokens, cross-attending to ``memory``."""
        T = decoder_input_ids.shape[1]
        mask = self._self_mask(None, T, True, decoder_input_ids.device)
        memory_mask = None if key_mask is None else key_mask[:, None, None, :]  # (B, 1, 1, L)
        rope = self._rope(T, decoder_input_ids.device)
        y = self._embed(decoder_input_ids, self.dec_pos_emb)
        for block in self.dec_blocks:
            y = block(y, mask, rope, memory, memory_mask)
        return self.ranking_head(self.dec_norm_f(y))  # (B, T, V)

    # -- public -----------------------------------------------------------------------------

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None,
                decoder_input_ids: Tensor | None = None,
                values: Tensor | None = None) -> SelectorOutput:
        """Score every pipeline.

        Parameters
        ----------
        input_ids : LongTensor of shape (B, L)
            [CLS] then one token per meta-feature.
        attention_mask : BoolTensor of shape (B, L), optional
            True for a token to attend to; False for padding or an excluded missing value.
        decoder_input_ids : LongTensor of shape (B, T), optional
            Encoder-decoder only: [BOS] then pipeline tokens (teacher forcing).
        values : FloatTensor of shape (B, L), optional
            Each token's position inside its bin, in [0, 1]
            (``MetaFeatureTokenizer.encode_values``); required with ``value_channel``,
            ignored without it.

        Returns
        -------
        SelectorOutput
        """
        if decoder_input_ids is not None and self.config.architecture != "encoder-decoder":
            raise ValueError("decoder_input_ids is only accepted by the 'encoder-decoder' "
                             f"architecture; this model is a {self.config.architecture!r}.")
        if decoder_input_ids is not None and (decoder_input_ids.ndim != 2
                                              or decoder_input_ids.shape[0] != input_ids.shape[0]):
            raise ValueError(f"decoder_input_ids must be (batch={input_ids.shape[0]}, T), "
                             f"got shape {tuple(decoder_input_ids.shape)}.")
        x, key_mask = self._encode(input_ids, attention_mask, values)  # (B, L, C)
        return self._heads(x, key_mask, decoder_input_ids)

    def _heads(self, x: Tensor, key_mask: Tensor | None,
               decoder_input_ids: Tensor | None) -> SelectorOutput:
        """From the encoder's final states (B, L, C) to the outputs: pooling, the heads and
        the ranking decoder."""
        if self.config.architecture == "decoder":
            # Pool the last real position: the only one that has read the whole sequence.
            if key_mask is None:
                pooled = x[:, -1]  # (B, C)
            else:  # the first maximum of mask * position is the last True (or 0 if none)
                B, L = key_mask.shape
                last = (key_mask.long() * torch.arange(L, device=x.device)).argmax(dim=1)
                pooled = x[torch.arange(B, device=x.device), last]  # (B, C)
        else:
            pooled = x[:, 0]  # (B, C), [CLS]
        ranking_logits = None
        if decoder_input_ids is not None:
            ranking_logits = self._decode(decoder_input_ids, x, key_mask)
        return SelectorOutput(
            scores=self.score_head(pooled).float(),
            score_log_var=self.log_var_head(pooled).float().clamp(LOG_VAR_MIN, LOG_VAR_MAX),
            log_fit_time=self.fit_time_head(pooled).float(),
            token_logits=self.token_head(x),
            ranking_logits=ranking_logits,
        )

    @torch.no_grad()
    def rank(self, input_ids: Tensor, attention_mask: Tensor | None = None,
             values: Tensor | None = None) -> Tensor:
        """Pipeline indices (0..P-1), best first, as a LongTensor of shape (B, P).

        Encoder and decoder sort the predicted scores; the encoder-decoder decodes greedily
        from [BOS], choosing among the pipeline tokens not yet written. Call ``eval()`` first
        if the model has dropout.
        """
        if self.config.architecture != "encoder-decoder":
            scores = self(input_ids, attention_mask, values=values).scores
            return scores.argsort(dim=1, descending=True, stable=True)
        P, offset = self.config.n_pipelines, self.config.pipeline_token_offset
        memory, key_mask = self._encode(input_ids, attention_mask, values)
        B = input_ids.shape[0]
        tokens = torch.full((B, 1), self.config.bos_id, dtype=torch.long, device=input_ids.device)
        used = torch.zeros(B, P, dtype=torch.bool, device=input_ids.device)
        order = []
        for _ in range(P):
            logits = self._decode(tokens, memory, key_mask)[:, -1, offset:offset + P].float()
            choice = logits.masked_fill(used, float("-inf")).argmax(dim=1)  # (B,)
            used[torch.arange(B, device=used.device), choice] = True
            order.append(choice)
            tokens = torch.cat((tokens, (choice + offset)[:, None]), dim=1)
        return torch.stack(order, dim=1)  # (B, P)
