"""Helpers shared by several test modules: small tables, tiny models, a toy corpus.

Plain functions that do nothing at import; what they write goes where the caller says (a
``tmp_path``), and the fixtures built on them live in ``conftest.py``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from skllmselect.metafeatures import METAFEATURE_NAMES, METAFEATURES_VERSION
from skllmselect.model import ModelConfig, SelectorTransformer
from skllmselect.portfolio import PIPELINE_NAMES, PORTFOLIO_VERSION
from skllmselect.tokenizer import MetaFeatureTokenizer

# ------------------------------------------------------------------------------ tables


def make_mixed_frame(n_rows: int = 120, n_classes: int = 3, seed: int = 0):
    """A frame with numeric, categorical, bool and nullable columns, NaN, and a signal."""
    rng = np.random.default_rng(seed)
    y = np.array([f"class_{i % n_classes}" for i in range(n_rows)], dtype=object)
    codes = np.array([i % n_classes for i in range(n_rows)])
    X = pd.DataFrame({
        "signal": codes + rng.normal(0, 0.5, n_rows),
        "noise": rng.normal(size=n_rows),
        "with_nan": np.where(rng.random(n_rows) < 0.2, np.nan, rng.normal(size=n_rows)),
        "colour": pd.Series(rng.choice(["red", "green", "blue", None], n_rows), dtype=object),
        "size": pd.Categorical(rng.choice(["S", "M", "L"], n_rows)),
        "flag": rng.random(n_rows) < 0.5,
        "count": pd.array(np.where(rng.random(n_rows) < 0.1, None, rng.integers(0, 9, n_rows)),
                          dtype="Int64"),
    })
    return X, pd.Series(y, name="target")


def messy_frame(n=90, seed=0):
    """Every column kind of issue 10 in one table, and a target with a class of three rows."""
    rng = np.random.default_rng(seed)
    y = np.array(["a", "b"] * (n // 2), dtype=object)
    X = pd.DataFrame({
        "signal": (y == "a") + rng.normal(0, 0.5, n),
        "city": [f"c{i}" for i in rng.integers(0, 60, n)],
        "when": pd.date_range("2020-01-01", periods=n, freq="D", tz="UTC"),
        "wait": pd.to_timedelta(rng.integers(0, 100, n), unit="min"),
        "flag": rng.random(n) < 0.5,
        "count": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 5, n)),
                          dtype="Int64"),
        "mixed": pd.Series([1, "x", 2.5, None, False, "y"] * (n // 6), dtype=object),
        "größe": rng.normal(size=n),
        "constant": 1.0,
        "empty": np.nan,
        "copy": 0.0,
    })
    X["copy"] = X["signal"]
    X.iloc[10:20] = X.iloc[0:10].to_numpy()  # duplicated rows
    y[10:20] = y[0:10]
    y[:3] = "tiny"
    X.insert(2, "id", [f"id{i}" for i in range(n)])
    return X, y


# ------------------------------------------------------------------------------ tiny models


def make_tiny_model(directory, *, ranking=None, fit_times=None, uncertainty=None,
                    seed=0) -> str:
    """Write a tiny untrained selector model into ``directory``; return its path as str.

    ``ranking`` (pipeline names, best first) makes the score head ignore its input and rank
    those pipelines first, in that order; ``fit_times`` ({name: seconds}, others 0.01 s) and
    ``uncertainty`` ({name: standard deviation}, others 0.1) fix the other two heads. Without
    them, the outputs depend on the input tokens (random weights), as a real model's do.
    """
    rng = np.random.default_rng(seed)
    tok = MetaFeatureTokenizer(METAFEATURE_NAMES, PIPELINE_NAMES, n_bins=8)
    tok.fit(rng.normal(size=(64, len(METAFEATURE_NAMES))))
    config = ModelConfig(
        vocab_size=tok.vocab_size, sequence_length=tok.sequence_length, n_pipelines=20,
        d_model=16, n_layers=1, n_heads=2, metafeature_names=list(METAFEATURE_NAMES),
        pipeline_names=list(PIPELINE_NAMES), tokenizer=tok.to_dict(),
        versions={"metafeatures": METAFEATURES_VERSION, "portfolio": PORTFOLIO_VERSION})
    with torch.random.fork_rng():  # the test's own seed, without touching the global RNG
        torch.manual_seed(seed)
        network = SelectorTransformer(config)
    with torch.no_grad():
        # Random init gives tiny outputs; widen the score head so inputs move the ranking.
        network.score_head.weight.mul_(50.0)
        if ranking is not None:
            bias = torch.full((len(PIPELINE_NAMES),), -1.0)
            for place, name in enumerate(ranking):
                bias[PIPELINE_NAMES.index(name)] = 10.0 - place
            network.score_head.weight.zero_()
            network.score_head.bias.copy_(bias * 0.01 + 0.5)
        if fit_times is not None:
            seconds = torch.full((len(PIPELINE_NAMES),), 0.01)
            for name, value in fit_times.items():
                seconds[PIPELINE_NAMES.index(name)] = value
            network.fit_time_head.weight.zero_()
            network.fit_time_head.bias.copy_(torch.log(seconds))
        if uncertainty is not None:
            std = torch.full((len(PIPELINE_NAMES),), 0.1)
            for name, value in uncertainty.items():
                std[PIPELINE_NAMES.index(name)] = value
            network.log_var_head.weight.zero_()
            network.log_var_head.bias.copy_(2 * torch.log(std))
    network.save_pretrained(directory)
    return str(directory)


def save_tiny_model(folder, seed: int = 0, **fields) -> Path:
    """A random, tiny but compatible model (d_model 16, one layer) saved as users save one;
    ``fields`` change its ModelConfig (architecture, positions, ...)."""
    tok = MetaFeatureTokenizer(METAFEATURE_NAMES, PIPELINE_NAMES, n_bins=8).fit(
        np.random.default_rng(0).normal(size=(50, len(METAFEATURE_NAMES))))
    config = ModelConfig(
        vocab_size=tok.vocab_size, sequence_length=tok.sequence_length,
        n_pipelines=len(PIPELINE_NAMES), d_model=16, n_layers=1, n_heads=2,
        metafeature_names=list(METAFEATURE_NAMES), pipeline_names=list(PIPELINE_NAMES),
        tokenizer=tok.to_dict(),
        versions={"metafeatures": METAFEATURES_VERSION, "portfolio": PORTFOLIO_VERSION},
        **fields)
    torch.manual_seed(seed)
    SelectorTransformer(config).save_pretrained(folder)
    return Path(folder)


# ------------------------------------------------------------------------------ training


def write_corpus(path, n=60, seed=0):
    """A corpus folder like `python -m pretrain corpus` writes, with a learnable signal:
    each pipeline's score is a smooth function of a few meta-features."""
    rng = np.random.default_rng(seed)
    F, P = len(METAFEATURE_NAMES), len(PIPELINE_NAMES)
    x = rng.normal(size=(n, F))
    x[rng.random((n, F)) < 0.05] = np.nan
    split = np.array(["train"] * 40 + ["validation"] * 12 + ["test"] * (n - 52))
    x[split == "validation", 0] += 10.0  # out of the training range: visible in the bins
    weights = rng.normal(size=(4, P))
    signal = np.nan_to_num(x[:, :4]) @ weights
    scores = 0.55 + 0.4 / (1 + np.exp(-signal))
    status = np.full((n, P), "ok", dtype=object)
    status[rng.random((n, P)) < 0.03] = "failed"
    table = {"dataset": [f"toy/{i}" for i in range(n)], "source": "synthetic",
             "domain": "synthetic", "generator": "toy", "split": split,
             "n_rows": 100, "n_features": 5, "n_classes": 2}
    table.update({f"mf.{name}": x[:, j] for j, name in enumerate(METAFEATURE_NAMES)})
    for p, name in enumerate(PIPELINE_NAMES):
        table[f"score.{name}"] = scores[:, p]
        table[f"status.{name}"] = status[:, p]
        table[f"fit_time.{name}"] = np.exp(np.nan_to_num(x[:, 4]) + 0.1 * p)
    path.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(table).to_parquet(path / "corpus.parquet")
    manifest = {"datasets": n, "metafeature_names": list(METAFEATURE_NAMES),
                "pipelines": list(PIPELINE_NAMES),
                "splits": {s: [f"toy/{i}" for i in np.flatnonzero(split == s)]
                           for s in ("train", "validation", "test")},
                "versions": {"numpy": np.__version__},
                "content_hashes": {"datasets": "d0", "metafeatures": "m0", "ground_truth": "g0"}}
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def tiny(corpus, out, *, steps=40, architecture="encoder", **changes):
    """A config that trains in about a second."""
    from pretrain.config import GuardConfig, ModelOptions, OptimConfig, TrainConfig

    config = TrainConfig(
        corpus=str(corpus), out_dir=str(out), log_every=1, eval_every=20,
        checkpoint_every=10, keep_checkpoints=3,
        model=ModelOptions(architecture=architecture, d_model=16, n_layers=1, n_heads=2,
                           n_decoder_layers=1, n_bins=8),
        optim=OptimConfig(lr=1e-2, min_lr=1e-3, warmup_steps=5, max_steps=steps,
                          batch_size=8),
        guard=GuardConfig(window=10, min_history=5))
    return dataclasses.replace(config, **changes)


def losses(out):
    """``(step, loss)`` of every training row a run logged."""
    from pretrain.train import read_metrics

    return [(r["step"], r["loss"]) for r in read_metrics(out, "train") if "loss" in r]
