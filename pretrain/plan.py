"""Scaling heuristics applied to a corpus: model size and step count (`python -m pretrain plan`).

Three rules of thumb from language-model scaling work, applied to our sequences (one dataset
= ``[CLS]`` + one token per meta-feature):

- compute-optimal size: about 20 training tokens per parameter (Hoffmann et al. 2022);
- training compute: ``C = 6 N D`` FLOPs for N parameters and D tokens (forward + backward);
- growth: at the optimum N and D grow together, so 10x the parameters asks for 10x the tokens
  and ~100x the compute.

With a few thousand datasets the corpus is tiny by these standards, so repeating it is the
only way to feed any transformer; repeated tokens are worth almost as much as fresh ones for
about 4 epochs and much less after ~16 (Muennighoff et al. 2023). The plan prints the model
each epoch budget implies, and each preset's departure from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

TOKENS_PER_PARAMETER = 20


REFERENCE_BATCH = 64
"""Datasets per optimizer step used to turn a token budget into a step count."""


@dataclass
class Budget:
    epochs: int
    tokens: int
    parameters: int
    flops: float
    steps: int = 0
    shape: str = ""


def count_parameters(options, vocab_size: int, sequence_length: int, n_pipelines: int,
                     exclude_embeddings: bool = False) -> int:
    """Exact parameter count of the network ``options`` (a ``NetworkOptions``) describes."""
    from skllmselect.model import ModelConfig, SelectorTransformer

    config = ModelConfig(vocab_size=vocab_size, sequence_length=sequence_length,
                         n_pipelines=n_pipelines, **options.network_options())
    return SelectorTransformer(config).num_parameters(exclude_embeddings=exclude_embeddings)


def budgets(n_train: int, sequence_length: int, epochs=(1, 4, 16, 64)) -> list[Budget]:
    """The compute-optimal model for each number of passes over the training split."""
    out = []
    for e in epochs:
        tokens = n_train * sequence_length * e
        parameters = tokens // TOKENS_PER_PARAMETER
        steps = -(-n_train * e // REFERENCE_BATCH)
        out.append(Budget(e, tokens, parameters, 6.0 * parameters * tokens, steps))
    return out


def nearest_shape(parameters: int, vocab_size: int, sequence_length: int,
                  n_pipelines: int) -> str:
    """The (d_model, layers) of a default-option encoder closest to ``parameters``."""
    from pretrain.config import ModelOptions

    best = None
    for d_model in (8, 16, 32, 64, 128, 256):
        for n_layers in (1, 2, 4, 6, 8):
            options = ModelOptions(d_model=d_model, n_layers=n_layers,
                                   n_heads=max(1, d_model // 32))
            count = count_parameters(options, vocab_size, sequence_length, n_pipelines)
            gap = abs(count - parameters)
            if best is None or gap < best[0]:
                best = (gap, f"d_model {d_model}, {n_layers} layers ({count:,})")
    return best[1]


def plan(corpus_dir) -> dict:
    """Everything ``python -m pretrain plan`` prints, as a dict."""
    from pretrain import presets
    from skllmselect.metafeatures import METAFEATURE_NAMES
    from skllmselect.portfolio import PIPELINE_NAMES

    corpus_dir = Path(corpus_dir)
    manifest = json.loads((corpus_dir / "manifest.json").read_text())
    splits = pd.read_parquet(corpus_dir / "corpus.parquet", columns=["split"])["split"]
    n_train = int((splits == "train").sum())
    sequence_length = 1 + len(METAFEATURE_NAMES)
    n_pipelines = len(PIPELINE_NAMES)
    plan_budgets = budgets(n_train, sequence_length)
    default_vocab = 5 + n_pipelines + len(METAFEATURE_NAMES) * 33
    for budget in plan_budgets:
        budget.shape = nearest_shape(budget.parameters, default_vocab, sequence_length,
                                     n_pipelines)
    rows = []
    for name, make in presets.PRESETS.items():
        config = make()
        n_bins = config.model.n_bins
        vocab = 5 + n_pipelines + len(METAFEATURE_NAMES) * (1 + n_bins)
        n_params = count_parameters(config.model, vocab, sequence_length, n_pipelines)
        n_body = count_parameters(config.model, vocab, sequence_length, n_pipelines,
                                  exclude_embeddings=True)
        sequences = _sequences_seen(config.optim)
        tokens = sequences * sequence_length
        rows.append({
            "preset": name, "parameters": n_params, "non_embedding": n_body,
            "steps": config.optim.max_steps, "tokens": tokens,
            "tokens_per_parameter": tokens / n_params,
            "epochs": sequences / max(n_train, 1),
            "flops": 6.0 * n_params * tokens,
            "optimal_parameters_for_these_tokens": tokens // TOKENS_PER_PARAMETER,
        })
    return {"corpus": str(corpus_dir), "datasets": manifest["datasets"], "train": n_train,
            "sequence_length": sequence_length,
            "budgets": [b.__dict__ for b in plan_budgets],
            "presets": rows}


def _sequences_seen(optim) -> int:
    """Sequences over the whole run, counting the batch-size ramp and accumulation."""
    schedule = getattr(optim, "batch_size_schedule", None)
    accum = getattr(optim, "grad_accum_steps", 1)
    total = 0
    for step in range(optim.max_steps):
        size = optim.batch_size
        if schedule:
            start, ramp = schedule
            if step < ramp:
                size = int(round(start + (optim.batch_size - start) * step / ramp))
        total += size * accum
    return total


def format_plan(result: dict) -> str:
    lines = [
        f"corpus {result['corpus']}: {result['datasets']} datasets, {result['train']} in the "
        f"train split; {result['sequence_length']} tokens per dataset",
        "",
        "compute-optimal model (20 tokens per parameter, C = 6ND) per number of epochs:",
        f"{'epochs':>7} {'tokens':>12} {'parameters':>11} {'FLOPs':>10} "
        f"{'steps@' + str(REFERENCE_BATCH):>9}  nearest shape (32 bins)",
    ]
    for b in result["budgets"]:
        lines.append(f"{b['epochs']:>7} {b['tokens']:>12,} {b['parameters']:>11,} "
                     f"{b['flops']:>10.2e} {b['steps']:>9,}  {b['shape']}")
    lines += ["", "10x the parameters -> 10x the tokens -> ~100x the compute.", "",
              "presets against the heuristic:",
              f"{'preset':>7} {'params':>10} {'non-emb':>9} {'steps':>7} {'tokens':>12} "
              f"{'tok/param':>9} {'epochs':>8} {'FLOPs':>9}  optimal params for its tokens"]
    for r in result["presets"]:
        lines.append(
            f"{r['preset']:>7} {r['parameters']:>10,} {r['non_embedding']:>9,} "
            f"{r['steps']:>7,} {r['tokens']:>12,} {r['tokens_per_parameter']:>9.1f} "
            f"{r['epochs']:>8.0f} {r['flops']:>9.2e}  "
            f"{r['optimal_parameters_for_these_tokens']:,}")
    lines += ["", "Every preset repeats the training split far beyond the ~4 epochs where "
              "repetition is nearly free: the data, not compute, limits this model. They "
              "rely on fresh token masks per pass, dropout, weight decay and validation-"
              "based selection; see pretrain/presets.py."]
    return "\n".join(lines)
