"""Training configuration: one dataclass per concern, validated on construction.

:class:`TrainConfig` holds the others. Every field has a docstring below it (the torchtitan
convention) and every class checks its values in ``__post_init__``, raising ``ValueError``
with what was wrong, what is allowed and what was received. ``to_dict``/``from_dict`` round
trip a config through JSON (checkpoints and ``summary.json`` carry it).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from skllmselect.model import NetworkOptions

PRECISIONS = ("fp32", "bf16", "fp16")
DEVICES = ("auto", "cpu", "cuda")
DISTRIBUTED = ("none", "ddp", "zero1", "fsdp", "tp", "pp")


def _check_choice(owner: str, name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"{owner}.{name} must be one of {list(allowed)}, got {value!r}.")


def _check_positive_int(owner: str, name: str, value, *, zero: bool = False) -> None:
    low = 0 if zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{owner}.{name} must be an int >= {low}, got {value!r}.")


def _check_range(owner: str, name: str, value, low: float, high: float, *,
                 low_open: bool = False, high_open: bool = False) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok:
        ok = (value > low if low_open else value >= low) and (
            value < high if high_open else value <= high)
    if not ok:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{owner}.{name} must be a number in {left}{low}, {high}{right}, "
                         f"got {value!r}.")


@dataclass(kw_only=True)
class ModelOptions(NetworkOptions):
    """The network's options, :class:`skllmselect.model.NetworkOptions` (its fields, defaults
    and checks are written there once), plus the tokenizer's number of bins."""

    n_bins: int = 32
    """Quantile bins per meta-feature in the tokenizer (fitted on the training split)."""

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.n_bins, bool) or not isinstance(self.n_bins, int) or self.n_bins < 2:
            raise ValueError(f"ModelOptions.n_bins must be an int >= 2, got {self.n_bins!r}.")


@dataclass
class OptimConfig:
    """AdamW, the learning-rate schedule and the batch."""

    lr: float = 1e-3
    """Peak learning rate, reached at the end of the warmup."""
    min_lr: float = 1e-4
    """Floor of the cosine decay, reached at ``max_steps``."""
    weight_decay: float = 0.1
    """Decoupled weight decay, on matmul weights only (not norms, biases, embeddings)."""
    betas: tuple[float, float] = (0.9, 0.95)
    """AdamW's moment decay rates."""
    eps: float = 1e-8
    """AdamW's denominator epsilon."""
    warmup_steps: int = 100
    """Optimizer steps of linear warmup from 0 to ``lr``."""
    max_steps: int = 2000
    """Optimizer steps in all; the cosine decay ends here."""
    clip_grad_norm: float = 1.0
    """Clip the global gradient norm to this; 0 disables clipping (the norm is still logged)."""
    grad_accum_steps: int = 1
    """Micro-batches summed into one optimizer step."""
    batch_size: int = 64
    """Datasets per micro-batch on each rank; one optimizer step sees
    ``batch_size * grad_accum_steps * world_size`` datasets."""
    batch_size_schedule: tuple[int, int] | None = None
    """Optional ramp ``(start_size, ramp_steps)``: the micro-batch grows linearly from
    ``start_size`` to ``batch_size`` over the first ``ramp_steps`` steps; ``None`` keeps it."""

    def __post_init__(self):
        owner = "OptimConfig"
        _check_range(owner, "lr", self.lr, 0.0, 10.0, low_open=True)
        _check_range(owner, "min_lr", self.min_lr, 0.0, self.lr)
        _check_range(owner, "weight_decay", self.weight_decay, 0.0, 10.0)
        self.betas = tuple(self.betas)
        if len(self.betas) != 2:
            raise ValueError(f"OptimConfig.betas must be two numbers, got {self.betas!r}.")
        for beta in self.betas:
            _check_range(owner, "betas", beta, 0.0, 1.0, high_open=True)
        _check_range(owner, "eps", self.eps, 0.0, 1.0, low_open=True)
        _check_positive_int(owner, "warmup_steps", self.warmup_steps, zero=True)
        _check_positive_int(owner, "max_steps", self.max_steps)
        if self.warmup_steps > self.max_steps:
            raise ValueError(f"OptimConfig.warmup_steps ({self.warmup_steps}) must not exceed "
                             f"max_steps ({self.max_steps}); lower the warmup.")
        _check_range(owner, "clip_grad_norm", self.clip_grad_norm, 0.0, float("inf"),
                     high_open=True)
        _check_positive_int(owner, "grad_accum_steps", self.grad_accum_steps)
        _check_positive_int(owner, "batch_size", self.batch_size)
        if self.batch_size_schedule is not None:
            self.batch_size_schedule = tuple(self.batch_size_schedule)
            if len(self.batch_size_schedule) != 2:
                raise ValueError("OptimConfig.batch_size_schedule must be (start_size, "
                                 f"ramp_steps) or None, got {self.batch_size_schedule!r}.")
            start, ramp = self.batch_size_schedule
            _check_positive_int(owner, "batch_size_schedule[0]", start)
            _check_positive_int(owner, "batch_size_schedule[1]", ramp)
            if start > self.batch_size:
                raise ValueError(f"OptimConfig.batch_size_schedule starts at {start}, above "
                                 f"batch_size={self.batch_size}; a ramp only grows.")


@dataclass
class PrecisionConfig:
    """Where and in which number format the model runs."""

    precision: str = "fp32"
    """``"fp32"``; ``"bf16"`` (autocast to bfloat16); ``"fp16"`` (autocast to float16 with a
    gradient scaler). Weights and optimizer state stay float32 in every case."""
    device: str = "auto"
    """``"cuda"``, ``"cpu"``, or ``"auto"`` (cuda when available)."""
    tf32: bool = True
    """Allow TF32 matmuls on CUDA for fp32 (faster, ~10 mantissa bits); ignored on CPU."""

    def __post_init__(self):
        _check_choice("PrecisionConfig", "precision", self.precision, PRECISIONS)
        _check_choice("PrecisionConfig", "device", self.device, DEVICES)


@dataclass
class GuardConfig:
    """The loss-spike guard: skip bad steps, roll back and cool down after repeated ones.

    A step is a spike when its loss is not finite, or when, with at least ``min_history``
    accepted losses in the window, it exceeds the running median ``m`` of the last
    ``window`` accepted losses by more than both ``(spike_factor - 1) * |m|`` and
    ``sigmas`` robust standard deviations (1.4826 x the window's median absolute deviation).
    For a positive median the first is the classic "``spike_factor`` x the running median";
    the ``|m|`` keeps it meaningful when the Gaussian likelihood makes the total loss negative,
    and the second stops a median near zero from turning ordinary batch noise into spikes.
    """

    enabled: bool = True
    """Turn the guard off to train through anything (spikes are then only logged)."""
    spike_factor: float = 3.0
    """How many times the running median a loss may reach before its step is skipped."""
    window: int = 50
    """Accepted steps whose losses form the running median."""
    min_history: int = 10
    """Accepted steps needed before the guard judges a loss (non-finite ones always count)."""
    sigmas: float = 6.0
    """Robust standard deviations above the median a spike must also reach."""
    max_consecutive_skips: int = 3
    """Skipped steps in a row that trigger a rollback to the last good checkpoint."""
    lr_backoff: float = 0.5
    """Each rollback multiplies the learning rate (for the rest of the run) by this."""
    max_rollbacks: int = 5
    """Rollbacks allowed before training stops with an error (it keeps diverging)."""

    def __post_init__(self):
        owner = "GuardConfig"
        _check_range(owner, "spike_factor", self.spike_factor, 1.0, float("inf"),
                     low_open=True, high_open=True)
        _check_positive_int(owner, "window", self.window)
        _check_positive_int(owner, "min_history", self.min_history)
        if self.min_history > self.window:
            raise ValueError(f"GuardConfig.min_history ({self.min_history}) must not exceed "
                             f"window ({self.window}).")
        _check_range(owner, "sigmas", self.sigmas, 0.0, float("inf"), high_open=True)
        _check_positive_int(owner, "max_consecutive_skips", self.max_consecutive_skips)
        _check_range(owner, "lr_backoff", self.lr_backoff, 0.0, 1.0, low_open=True)
        _check_positive_int(owner, "max_rollbacks", self.max_rollbacks, zero=True)


@dataclass
class ObjectiveConfig:
    """What the model learns: the weights of the loss parts (see :mod:`pretrain.losses`)."""

    mlm_probability: float = 0.15
    """Share of meta-feature tokens replaced by [MASK] (encoder, encoder-decoder); the same
    masked input feeds the score heads, so masking doubles as feature dropout."""
    score_weight: float = 1.0
    """Gaussian negative log-likelihood of the observed scores (mean and log-variance heads)."""
    ranking_weight: float = 1.0
    """Listwise ranking term over the observed pipelines of each dataset."""
    ranking_temperature: float = 0.05
    """Temperature of both softmaxes of the listwise term, in balanced-accuracy units."""
    fit_time_weight: float = 0.1
    """Mean squared error of log(fit seconds)."""
    mlm_weight: float = 0.5
    """Cross-entropy of masked tokens (encoder) or next tokens (decoder)."""
    decoder_ranking_weight: float = 1.0
    """Cross-entropy of the ranking written as pipeline tokens (encoder-decoder only)."""

    def __post_init__(self):
        owner = "ObjectiveConfig"
        _check_range(owner, "mlm_probability", self.mlm_probability, 0.0, 1.0,
                     high_open=True)
        weights = ("score_weight", "ranking_weight", "fit_time_weight", "mlm_weight",
                   "decoder_ranking_weight")
        for name in weights:
            _check_range(owner, name, getattr(self, name), 0.0, float("inf"), high_open=True)
        if not any(getattr(self, name) > 0 for name in weights):
            raise ValueError(f"ObjectiveConfig: at least one of {list(weights)} must be > 0, "
                             "otherwise there is nothing to learn.")
        _check_range(owner, "ranking_temperature", self.ranking_temperature, 0.0,
                     float("inf"), low_open=True, high_open=True)


@dataclass
class TrainConfig:
    """A whole training run. Presets (:mod:`pretrain.presets`) build these."""

    corpus: str = "pretrain/data/corpus"
    """Folder with ``corpus.parquet`` and ``manifest.json`` (``python -m pretrain corpus``)."""
    out_dir: str = "runs/train"
    """Where metrics, checkpoints, ``model/`` and ``summary.json`` go (rank 0 writes)."""
    seed: int = 0
    """Seeds the initialisation, the data order and the token masking."""
    real_repeats: int = 1
    """Times each real (not synthetic) training dataset is visited per epoch. The model is
    used on real tables, and the synthetic ones outnumber them; the decision protocol
    (:mod:`pretrain.protocol`) measures what a higher value buys."""
    log_every: int = 10
    """Write a metrics row every this many steps (skips and rollbacks are always written)."""
    eval_every: int = 200
    """Evaluate on the validation split every this many steps, and at the end."""
    eval_batch_size: int = 256
    """Datasets per forward pass during evaluation."""
    checkpoint_every: int = 200
    """Write resumable state every this many steps (and at the start, for rollbacks)."""
    keep_checkpoints: int = 3
    """Most recent checkpoints kept on disk; older ones are deleted."""
    distributed: str = "none"
    """``"none"`` (one process), or under torchrun ``"ddp"``, ``"zero1"`` (optimizer state
    sharded), ``"fsdp"`` (parameters sharded), ``"tp"`` (tensor parallel) or ``"pp"``
    (pipeline parallel); see :mod:`pretrain.distributed`."""
    pipeline_microbatches: int = 4
    """Micro-batches each batch is cut into under ``"pp"`` (fewer if they would not divide it)."""
    model: ModelOptions = field(default_factory=ModelOptions)
    """The architecture."""
    optim: OptimConfig = field(default_factory=OptimConfig)
    """Optimizer, schedule and batch."""
    precision: PrecisionConfig = field(default_factory=PrecisionConfig)
    """Device and number format."""
    guard: GuardConfig = field(default_factory=GuardConfig)
    """Loss-spike guard."""
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    """Loss parts and their weights."""

    def __post_init__(self):
        owner = "TrainConfig"
        self.corpus, self.out_dir = str(self.corpus), str(self.out_dir)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"TrainConfig.seed must be an int >= 0, got {self.seed!r}.")
        for name in ("real_repeats", "log_every", "eval_every", "eval_batch_size",
                     "checkpoint_every", "keep_checkpoints", "pipeline_microbatches"):
            _check_positive_int(owner, name, getattr(self, name))
        _check_choice(owner, "distributed", self.distributed, DISTRIBUTED)
        for name, kind in (("model", ModelOptions), ("optim", OptimConfig),
                           ("precision", PrecisionConfig), ("guard", GuardConfig),
                           ("objective", ObjectiveConfig)):
            if not isinstance(getattr(self, name), kind):
                raise ValueError(f"TrainConfig.{name} must be a {kind.__name__}, got "
                                 f"{type(getattr(self, name)).__name__}.")

    @property
    def out_path(self) -> Path:
        return Path(self.out_dir)

    def to_dict(self) -> dict:
        """A JSON-able dict (tuples become lists)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """Rebuild a config from :meth:`to_dict`; unknown keys are an error."""
        nested = {"model": ModelOptions, "optim": OptimConfig, "precision": PrecisionConfig,
                  "guard": GuardConfig, "objective": ObjectiveConfig}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"Unknown TrainConfig keys {unknown}; known: {sorted(known)}.")
        kwargs = dict(d)
        for name, kind in nested.items():
            if name in kwargs and isinstance(kwargs[name], dict):
                sub_known = {f.name for f in dataclasses.fields(kind)}
                sub_unknown = sorted(set(kwargs[name]) - sub_known)
                if sub_unknown:
                    raise ValueError(f"Unknown {kind.__name__} keys {sub_unknown}; known: "
                                     f"{sorted(sub_known)}.")
                kwargs[name] = kind(**kwargs[name])
        return cls(**kwargs)
