"""Training presets: plain functions that return a :class:`~pretrain.config.TrainConfig`.

How they are sized
------------------
The compute-optimal heuristic for language models (Hoffmann et al. 2022) asks for about
20 training tokens per parameter. Here a dataset is one sequence of ``1 + 73 = 74`` tokens
(``[CLS]`` and one token per meta-feature), so

    tokens = train datasets x 74 x epochs = optimizer steps x batch size x 74.

That budget is tiny: with ~3,000 training datasets (a ~3,500-dataset corpus, 85% train) one
epoch is ~0.22M tokens (the corpus's own count is in its manifest, ``by_split``, and
``python -m pretrain plan`` prints the budgets it implies). The heuristic's 20 tokens per
parameter would allow a ~10k-parameter model for one pass over the data. We are in the
*data-limited* regime and depart from the heuristic on purpose: the presets repeat the data
for many epochs and rely on what makes repetition tolerable: masked-token augmentation
(a fresh mask every time a dataset is seen), dropout, weight decay, and model choice by
validation metrics. Repeated data is worth nearly as much as fresh data for a few epochs and
decays after that (Muennighoff et al. 2023, "Scaling data-constrained language models"), so
the epoch counts below are ceilings, not targets; the validation rows in ``metrics.jsonl``
say when to stop. The token count also understates the supervision: each dataset brings 20
scores and 20 fit times besides its 74 tokens.

Parameter counts are for the real vocabulary (5 special + 20 pipeline + 73 x (1 + n_bins)
ids); "non-embedding" leaves out the token and position tables.
"""

from __future__ import annotations

from pretrain.config import (
    GuardConfig,
    ModelOptions,
    ObjectiveConfig,
    OptimConfig,
    PrecisionConfig,
    TrainConfig,
)


def debug(**overrides) -> TrainConfig:
    """A tiny run that finishes on a laptop CPU in about a minute, data loading included.

    ~70k parameters (d_model 32, 2 layers, 16 bins; ~27k non-embedding), 300 steps of 32
    datasets: 9,600 sequences = ~0.7M tokens, ~11 epochs over the 881 training datasets it
    was sized on, about 10 tokens per parameter; about 15 s on 2 CPU cores, start-up
    included. Meant to check that everything runs end to end (metrics, evaluation,
    checkpoints, export), not to give a useful model.
    """
    config = TrainConfig(
        out_dir="runs/debug",
        log_every=10,
        eval_every=100,
        checkpoint_every=100,
        keep_checkpoints=2,
        model=ModelOptions(d_model=32, n_layers=2, n_heads=2, n_bins=16),
        optim=OptimConfig(lr=3e-3, min_lr=3e-4, warmup_steps=30, max_steps=300,
                          batch_size=32),
        precision=PrecisionConfig(device="cpu"),
        guard=GuardConfig(window=20),
        objective=ObjectiveConfig(),
    )
    return _apply(config, overrides)


def small(**overrides) -> TrainConfig:
    """The shipped model: ~1.1M parameters, 2,000 steps.

    ~1.1M parameters (d_model 128, 4 layers, 32 bins; ~0.8M non-embedding). 2,000 steps of
    64 datasets (after a ramp from 16 over 500 steps) = ~116k sequences = ~8.6M tokens: about
    8 tokens per parameter and ~70 epochs of the ~1,700 training datasets it was sized on, far
    beyond the few epochs where repetition is harmless, hence dropout 0.1, weight decay 0.1
    and the export of the best model on validation. Measured, not guessed: a 5,000-step run
    (on an H100, 1,149 training datasets) had its lowest validation loss and regret at step
    1,250 and climbed after it, so 5,000 steps bought only overfitting. About 15 min on one
    CPU thread in bf16, about a minute on a GPU.
    """
    config = TrainConfig(
        out_dir="runs/small",
        log_every=25,
        eval_every=100,
        checkpoint_every=250,
        model=ModelOptions(d_model=128, n_layers=4, n_heads=4, dropout=0.1, n_bins=32),
        optim=OptimConfig(lr=1e-3, min_lr=1e-4, warmup_steps=200, max_steps=2000,
                          batch_size=64, batch_size_schedule=(16, 500)),
        precision=PrecisionConfig(device="auto", precision="fp32"),
    )
    return _apply(config, overrides)


def compact(**overrides) -> TrainConfig:
    """The shipped model since December 2026: ``small`` at a quarter of its width and depth.

    ~0.2M parameters (d_model 64, 2 layers, 4 heads, 32 bins), 1,000 steps of 64 datasets
    (after the same ramp from 16). Chosen on the decision protocol (grouped CV over the real
    corpus datasets, ``docs/decisions.md``): it ranked as well as ``small`` there, in a
    fifth of the training time, which is what per-fold retraining and sweeps need.
    """
    config = small(**overrides)
    return _apply(config, {
        "out_dir": overrides.get("out_dir", "runs/compact"),
        "model": {**config.model.__dict__, "d_model": 64, "n_layers": 2},
        "optim": {**config.optim.__dict__, "max_steps": 1000},
    })


def full(**overrides) -> TrainConfig:
    """The largest preset, for a GPU (bf16) or a few under torchrun.

    ~5.4M parameters (d_model 256, 6 layers, 8 heads, SwiGLU, RMSNorm; ~4.8M
    non-embedding). 12,000 steps of 128 datasets (after a ramp from 32 over 1,000 steps) =
    ~1.5M sequences = ~110M tokens: the heuristic's ~20 tokens per parameter, but ~500
    epochs of ~3,000 training datasets. This departs from the heuristic the most: it
    buys capacity the data cannot fill, on the bet that regularisation and validation-based
    selection keep it from memorising. Prefer ``small`` until the corpus grows; compare the
    two on the validation rows before shipping ``full``.
    """
    config = TrainConfig(
        out_dir="runs/full",
        log_every=50,
        eval_every=500,
        checkpoint_every=1000,
        model=ModelOptions(d_model=256, n_layers=6, n_heads=8, dropout=0.1, n_bins=32,
                           activation="swiglu", norm="rmsnorm"),
        optim=OptimConfig(lr=5e-4, min_lr=5e-5, warmup_steps=500, max_steps=12000,
                          batch_size=128, batch_size_schedule=(32, 1000)),
        precision=PrecisionConfig(device="auto", precision="bf16"),
    )
    return _apply(config, overrides)


PRESETS = {"debug": debug, "small": small, "compact": compact, "full": full}


def customize(config: TrainConfig, *, max_steps: int | None = None,
              precision: str | None = None, device: str | None = None,
              seed: int | None = None, real_repeats: int | None = None,
              model: dict | None = None, objective: dict | None = None) -> TrainConfig:
    """A preset's config with the command line's (or the protocol's) changes; None keeps.

    ``max_steps`` also shortens the warmup and the batch-size ramp to fit the run;
    ``model`` replaces fields of :class:`~pretrain.config.ModelOptions`, ``objective``
    those of :class:`~pretrain.config.ObjectiveConfig`.
    """
    from dataclasses import replace

    if precision or device:
        config = replace(config, precision=replace(config.precision, **{
            k: v for k, v in (("precision", precision), ("device", device)) if v}))
    if max_steps is not None:
        ramp = config.optim.batch_size_schedule
        config = replace(config, optim=replace(
            config.optim, max_steps=max_steps,
            warmup_steps=min(config.optim.warmup_steps, max_steps),
            batch_size_schedule=None if ramp is None else (ramp[0], min(ramp[1], max_steps))))
    if seed is not None:
        config = replace(config, seed=seed)
    if real_repeats is not None:
        config = replace(config, real_repeats=real_repeats)
    if model:
        config = replace(config, model=replace(config.model, **model))
    if objective:
        config = replace(config, objective=replace(config.objective, **objective))
    return config


def _apply(config: TrainConfig, overrides: dict) -> TrainConfig:
    """Replace top-level fields (``out_dir=...``, ``corpus=...``); validation runs again."""
    if not overrides:
        return config
    data = config.to_dict()
    data.update(overrides)
    return TrainConfig.from_dict(data)
