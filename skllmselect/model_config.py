"""The selector network's options and configuration: plain dataclasses, no torch.

`NetworkOptions` holds a training run's choices (architecture, widths, norms, positions);
`ModelConfig` extends it with what the fitted tokenizer fixes and the model's metadata, and is
what a model folder's ``config.json`` holds. Both the torch network
(:class:`skllmselect.model.SelectorTransformer`, for training) and the numpy one that inference
runs (:class:`skllmselect.numpy_network.NumpyNetwork`) are built from a `ModelConfig`, so this
module imports neither torch nor anything heavy: reading a model's config costs no torch.
"""

import math
from dataclasses import MISSING, asdict, dataclass, field, fields

ARCHITECTURES = ("encoder", "decoder", "encoder-decoder")
NORMS = ("layernorm", "rmsnorm")
NORM_POSITIONS = ("pre", "post")
ACTIVATIONS = ("gelu", "swiglu")
POSITIONS = ("learned", "rope", "alibi")

# score_log_var is clamped to this range: exp(-12) is a standard deviation of about 0.0025 on a
# score in [0, 1], exp(4) one of about 7; beyond either the Gaussian likelihood only misbehaves.
LOG_VAR_MIN, LOG_VAR_MAX = -12.0, 4.0


@dataclass(kw_only=True)
class NetworkOptions:
    """The network's shape and choices: what a training run picks, before any data is seen.

    `ModelConfig` extends it with what the fitted tokenizer decides (vocabulary, lengths,
    token ids) and metadata; ``pretrain``'s training config extends it with the tokenizer's
    number of bins. Both inherit these fields and checks, so they are written only here.
    """

    architecture: str = "encoder"
    """"encoder" (bidirectional), "decoder" (causal mask) or "encoder-decoder" (a decoder writes
    the ranking as pipeline tokens, attending to the encoder output)."""
    d_model: int = 128
    """Width of the residual stream."""
    n_layers: int = 4
    """Number of blocks in the (encoder or decoder) stack that reads the meta-features."""
    n_heads: int = 4
    """Attention heads per layer; must divide d_model."""
    d_ff: int | None = None
    """Hidden width of the MLP; None means 4 * d_model (gelu) or the multiple of 8 at or above
    8/3 * d_model (swiglu, so both have about the same number of parameters)."""
    n_decoder_layers: int = 2
    """Blocks in the ranking decoder; used only by "encoder-decoder"."""
    dropout: float = 0.0
    """Dropout on embeddings, attention weights and residual branches, in [0, 1)."""
    norm: str = "layernorm"
    """"layernorm" or "rmsnorm"."""
    norm_position: str = "pre"
    """"pre" (x + f(norm(x)), then a final norm) or "post" (norm(x + f(x)), as the original
    transformer)."""
    activation: str = "gelu"
    """"gelu" (two-layer MLP) or "swiglu" (w2(silu(w1 x) * w3 x))."""
    positions: str = "learned"
    """"learned" absolute embeddings, "rope" (rotary, on queries and keys) or "alibi" (linear
    attention biases). Meta-features have a fixed order, so any of them can tell them apart."""
    mask_missing: bool = False
    """Metadata for the caller: when True, the model was trained with an attention_mask that
    excludes missing-value tokens, and must be used the same way. The network itself only
    honours the attention_mask it is given."""
    tie_embeddings: bool = True
    """Whether the token head (and the ranking head) share the input embedding matrix."""
    value_channel: bool = False
    """When True, each meta-feature's token embedding also gets ``value_proj(v - 0.5)``, where
    ``v`` in [0, 1] is the value's position inside its bin
    (:meth:`skllmselect.tokenizer.MetaFeatureTokenizer.encode_values`), so that the network can
    tell two values of one bin apart. The forward pass then needs those ``values``. Off by
    default: configs saved before this option existed load with it off."""

    def __post_init__(self):
        for name in ("d_model", "n_layers", "n_heads", "n_decoder_layers"):
            _check_int(name, getattr(self, name), minimum=1)
        if self.d_ff is not None:
            _check_int("d_ff", self.d_ff, minimum=1)
        for name, allowed in (("architecture", ARCHITECTURES), ("norm", NORMS),
                              ("norm_position", NORM_POSITIONS), ("activation", ACTIVATIONS),
                              ("positions", POSITIONS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}.")
        if not (isinstance(self.dropout, (int, float)) and 0.0 <= self.dropout < 1.0):
            raise ValueError(f"dropout must be a number in [0, 1), got {self.dropout!r}.")
        for name in ("mask_missing", "tie_embeddings", "value_channel"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}.")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_heads "
                             f"({self.n_heads}); change one of them.")
        if self.positions == "rope" and self.head_dim % 2:
            raise ValueError(f"positions='rope' needs an even head dimension, got d_model / "
                             f"n_heads = {self.d_model} / {self.n_heads} = {self.head_dim}.")

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.d_model // self.n_heads

    @property
    def ff_dim(self) -> int:
        """The MLP hidden width actually used (`d_ff` resolved)."""
        if self.d_ff is not None:
            return self.d_ff
        if self.activation == "swiglu":
            return 8 * math.ceil(8 * self.d_model / 3 / 8)
        return 4 * self.d_model

    def network_options(self) -> dict:
        """This object's `NetworkOptions` fields alone (a subclass's own fields left out)."""
        return {f.name: getattr(self, f.name) for f in fields(NetworkOptions)}


@dataclass(kw_only=True)
class ModelConfig(NetworkOptions):
    """Everything needed to rebuild a `SelectorTransformer`; saved as its ``config.json``.

    The `NetworkOptions` fields (architecture, widths, norms, ...) and what the fitted
    tokenizer fixes. Keyword arguments only.
    """

    vocab_size: int
    """Number of token ids: 5 special tokens, the pipeline tokens, the meta-feature value tokens."""
    sequence_length: int
    """L, the input length including [CLS] (1 + number of meta-features)."""
    n_pipelines: int
    """P, the number of portfolio pipelines scored (and, for "encoder-decoder", ranked)."""
    pipeline_token_offset: int = 5
    """Id of the first pipeline token; pipeline p is token ``pipeline_token_offset + p``."""
    pad_id: int = 0
    """Id of [PAD]."""
    mask_id: int = 1
    """Id of [MASK], the masked-token pretraining placeholder."""
    cls_id: int = 2
    """Id of [CLS], the first token of every input; its final state is the pooled vector."""
    bos_id: int = 3
    """Id of [BOS], the first input of the ranking decoder."""
    eos_id: int = 4
    """Id of [EOS]."""
    metafeature_names: list[str] = field(default_factory=list)
    """Metadata: the meta-feature read at positions 1..L-1, in order (empty or L - 1 names)."""
    pipeline_names: list[str] = field(default_factory=list)
    """Metadata: the portfolio pipeline behind each pipeline index (empty or P names)."""
    tokenizer: dict = field(default_factory=dict)
    """Metadata: the fitted tokenizer's state (bins), so that a model file describes itself."""
    versions: dict = field(default_factory=dict)
    """Metadata: library versions the model was trained with."""

    def __post_init__(self):
        for name in ("vocab_size", "sequence_length", "n_pipelines"):
            _check_int(name, getattr(self, name), minimum=1)
        super().__post_init__()
        for name in ("pipeline_token_offset", "pad_id", "mask_id", "cls_id", "bos_id", "eos_id"):
            _check_int(name, getattr(self, name), minimum=0)
        specials = {"pad_id": self.pad_id, "mask_id": self.mask_id, "cls_id": self.cls_id,
                    "bos_id": self.bos_id, "eos_id": self.eos_id}
        if len(set(specials.values())) != len(specials):
            raise ValueError(f"special token ids must be distinct, got {specials}.")
        first, last = self.pipeline_token_offset, self.pipeline_token_offset + self.n_pipelines
        if last > self.vocab_size:
            raise ValueError(f"pipeline tokens {first}..{last - 1} do not fit in vocab_size "
                             f"{self.vocab_size}; vocab_size must be at least {last}.")
        for name, value in specials.items():
            if value >= self.vocab_size or first <= value < last:
                raise ValueError(f"{name}={value} must be below vocab_size ({self.vocab_size}) "
                                 f"and outside the pipeline tokens {first}..{last - 1}.")
        if self.metafeature_names and len(self.metafeature_names) != self.sequence_length - 1:
            raise ValueError(f"metafeature_names has {len(self.metafeature_names)} names, but "
                             f"sequence_length {self.sequence_length} means "
                             f"{self.sequence_length - 1} meta-features after [CLS].")
        if self.pipeline_names and len(self.pipeline_names) != self.n_pipelines:
            raise ValueError(f"pipeline_names has {len(self.pipeline_names)} names, but "
                             f"n_pipelines is {self.n_pipelines}.")

    def to_dict(self) -> dict:
        """All fields as plain JSON-able values (a deep copy)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        """Inverse of `to_dict`; an unknown or missing key is an error, never ignored."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown ModelConfig keys {unknown}; known keys are {sorted(known)}."
                             " Was this config written by another version of skllmselect?")
        required = {f.name for f in fields(cls)
                    if f.default is MISSING and f.default_factory is MISSING}
        missing = sorted(required - set(d))
        if missing:
            raise ValueError(f"ModelConfig needs the keys {missing}, which are missing.")
        return cls(**d)


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
