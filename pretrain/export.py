"""A finished run -> the shipped model: safetensors + config.json + model card (+ training log).

``python -m pretrain export --run runs/small`` copies the run's best-validation model (or its
final one) into ``skllmselect/weights/``, checks it against the installed code and the size
limit, writes the model card from the run's own summary, and copies the training log and a
loss/perplexity plot into ``pretrain/data/training/`` so the record of how the shipped
weights were made is committed beside them. Then it reloads the copy through
``skllmselect.loading`` and checks that it computes what the run's model computes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

MAX_MEGABYTES = 20
MODEL_FILES = ("model.safetensors", "config.json")
LOG_FILES = ("metrics.jsonl", "train.csv", "eval.csv", "summary.json")


def export(run_dir, weights_dir="skllmselect/weights", log_dir="pretrain/data/training", *,
           max_megabytes: float = MAX_MEGABYTES, use_best: bool = True,
           corpus="pretrain/data/corpus", forest_weight: float | None = None) -> dict:
    """Ship the model of ``run_dir``; return what was written and checked.

    With ``forest_weight``, the forest meta-learner (``pretrain.forest``) is trained on the
    corpus train and validation splits and shipped beside the network, blended at that
    weight; without it, a stale ``forest.safetensors`` in ``weights_dir`` is removed.
    """
    from skllmselect.loading import check_compatible

    run_dir, weights_dir, log_dir = Path(run_dir), Path(weights_dir), Path(log_dir)
    summary_path = run_dir / "summary.json"
    if not summary_path.is_file():
        raise FileNotFoundError(f"{run_dir} has no summary.json: the run did not finish. "
                                "Resume it with the same `python -m pretrain train` command.")
    summary = json.loads(summary_path.read_text())
    source = run_dir / ("best_model" if use_best and (run_dir / "best_model").is_dir()
                        else "model")
    config = json.loads((source / "config.json").read_text())
    check_compatible(config, source=f"The model in {source}")
    size = (source / "model.safetensors").stat().st_size / 2**20
    if size > max_megabytes:
        raise ValueError(f"{source}/model.safetensors is {size:.1f} MB, over the "
                         f"{max_megabytes} MB limit for bundled weights; train a smaller "
                         "preset or publish it to the Hub instead.")

    weights_dir.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        shutil.copyfile(source / name, weights_dir / name)
    (weights_dir / "README.md").write_text(model_card(summary, config, source.name, size))
    log_dir.mkdir(parents=True, exist_ok=True)
    for name in LOG_FILES:
        if (run_dir / name).is_file():
            shutil.copyfile(run_dir / name, log_dir / name)
    plot = plot_training(run_dir, log_dir / "training.png")
    write_vocabulary(config, log_dir / "vocabulary.md")
    _check_reload(source, weights_dir)
    residuals = write_residuals(weights_dir, corpus)
    from skllmselect.loading import FOREST_NAME

    forest = None
    if forest_weight is not None:
        from pretrain.forest import REAL_WEIGHT, write_forest

        forest = write_forest(weights_dir, corpus, weight=forest_weight)
        card = weights_dir / "README.md"
        bullet = (f"- `forest.safetensors`: a random-forest meta-learner on the same "
                  f"meta-features ({forest['nodes']:,} nodes; trained on the corpus's train "
                  f"and validation datasets, real tables weighted {REAL_WEIGHT:g}x), "
                  f"blended with the network's scores at weight {forest_weight:g} "
                  f"(`skllmselect/forest.py`, chosen on the decision protocol).\n")
        text = card.read_text(encoding="utf-8")
        anchor = "- Corpus: "
        card.write_text(text.replace(anchor, bullet + anchor, 1), encoding="utf-8")
    elif (weights_dir / FOREST_NAME).is_file():
        (weights_dir / FOREST_NAME).unlink()
    return {"forest": forest, "source": str(source), "weights_dir": str(weights_dir),
            "megabytes": size,
            "log_dir": str(log_dir), "plot": str(plot) if plot else None,
            "residuals": residuals}


def write_residuals(model_dir, corpus="pretrain/data/corpus", split: str = "train") -> dict:
    """Write ``residuals.safetensors`` into ``model_dir``: measured minus predicted scores.

    One row per dataset of the corpus ``split`` (the data the model was trained on: its
    validation split chose how to use them, see :mod:`skllmselect.ranking`), float32. The
    metadata names the corpus (content hashes) and the split, so the file says what it is.
    """
    import numpy as np
    import pandas as pd
    import safetensors.numpy
    import torch

    from pretrain.evaluate import ModelScorer, selection_table
    from skllmselect.loading import RESIDUALS_NAME, load

    model_dir, corpus = Path(model_dir), Path(corpus)
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    table = selection_table(pd.read_parquet(corpus / "corpus.parquet"))
    table = table.subset(table.groups["split"].to_numpy() == split)
    if not len(table):
        raise ValueError(f"The corpus {corpus} has no {split!r} datasets to measure the "
                         "model's residuals on.")
    network, tokenizer = load(model_dir)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same arithmetic on every machine
    try:
        predicted = ModelScorer(network, tokenizer).fit().predict_scores(table.metafeatures)
    finally:
        torch.set_num_threads(threads)
    residuals = (table.scores - predicted).astype(np.float32)
    metadata = {"split": split, "n_datasets": str(len(table)),
                "corpus_content_hashes": json.dumps(manifest.get("content_hashes", {}),
                                                    sort_keys=True)}
    path = model_dir / RESIDUALS_NAME
    safetensors.numpy.save_file({"residuals": residuals}, str(path), metadata=metadata)
    return {"path": str(path), "n_datasets": len(table),
            "mean_abs": float(np.abs(residuals).mean())}


def _check_reload(source: Path, weights_dir: Path) -> None:
    """The shipped copy, loaded as users load it, computes what the run's model computes."""
    import torch

    from skllmselect.loading import load
    from skllmselect.model import SelectorTransformer

    original = SelectorTransformer.from_pretrained(source).eval()
    shipped, tokenizer = load(weights_dir)
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, tokenizer.vocab_size, (8, tokenizer.sequence_length),
                        generator=generator)
    ids[:, 0] = tokenizer.cls_id
    with torch.no_grad():
        if not torch.equal(original(ids).scores, shipped(ids).scores):
            raise RuntimeError(f"The model copied to {weights_dir} does not reproduce "
                               f"{source}; the copy is broken.")


def write_vocabulary(config: dict, path) -> Path:
    """The tokenizer's vocabulary report (bins per meta-feature, missing shares) as markdown."""
    from pretrain.markdown import markdown_table
    from skllmselect.tokenizer import MetaFeatureTokenizer

    tokenizer = MetaFeatureTokenizer.from_dict(config["tokenizer"])
    report = tokenizer.vocabulary_report().set_index("feature")
    text = (f"# Vocabulary of the shipped tokenizer\n\n{tokenizer.vocab_size:,} tokens: "
            f"{len(tokenizer.token_strings) - tokenizer.n_features * (1 + tokenizer.n_bins):,}"
            f" special and pipeline tokens, then per meta-feature one missing-value token and "
            f"{tokenizer.n_bins} quantile bins learnt on the training split. Features whose "
            "values repeat get fewer distinct bins (`effective_bins`).\n\n"
            + markdown_table(report.round(4)) + "\n")
    Path(path).write_text(text)
    return Path(path)


def plot_training(run_dir, path) -> Path | None:
    """Training loss and validation perplexity against step (PNG); None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    from pretrain.train import read_metrics

    train_rows = [r for r in read_metrics(run_dir, "train") if r.get("loss") is not None]
    eval_rows = [r for r in read_metrics(run_dir, "eval") if r.get("n_datasets")]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.plot([r["step"] for r in train_rows], [r["loss"] for r in train_rows],
              lw=0.8, label="train loss (total)")
    if eval_rows:
        left.plot([r["step"] for r in eval_rows], [r["val_loss"] for r in eval_rows],
                  "o-", ms=3, label="validation loss")
        right.plot([r["step"] for r in eval_rows], [r["val_perplexity"] for r in eval_rows],
                   "o-", ms=3, color="C2", label="validation perplexity (masked tokens)")
        twin = right.twinx()
        twin.plot([r["step"] for r in eval_rows], [r["val_regret"] for r in eval_rows],
                  "s--", ms=3, color="C3", label="validation top-1 regret")
        twin.axhline(eval_rows[-1]["baseline_regret"], color="C3", lw=0.8, ls=":",
                     label="regret of the single best pipeline")
        twin.set_ylabel("top-1 regret (balanced accuracy)")
        twin.legend(loc="upper right", fontsize=8)
    left.set_xlabel("step")
    left.set_ylabel("loss")
    left.legend(fontsize=8)
    right.set_xlabel("step")
    right.set_ylabel("perplexity (log scale)")
    right.set_yscale("log")
    right.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def model_card(summary: dict, config: dict, which: str, megabytes: float) -> str:
    """The weights' README.md, from the run's own numbers."""
    best = summary.get("best_eval") if which == "best_model" else None
    best = best or summary.get("eval") or {}
    versions = config.get("versions", {})
    arch = (f"{config['architecture']}, d_model {config['d_model']}, {config['n_layers']} "
            f"layers, {config['n_heads']} heads, {config['norm']} ({config['norm_position']}-"
            f"norm), {config['activation']}, {config['positions']} positions")

    shipped = (f"the run's best model on validation top-1 regret (step {summary.get('best_step')}"
               f" of {summary['steps']})" if which == "best_model"
               else f"the run's final model (step {summary['steps']})")
    hashes = ", ".join(f"{k[7:]} {v}" for k, v in versions.items() if k.startswith("corpus_"))
    libraries = ", ".join(f"{k} {v}" for k, v in versions.items() if not k.startswith("corpus_"))

    def metric(key):
        value = best.get(key)
        return "n/a" if value is None else f"{value:.4f}"

    return f"""---
library_name: skllmselect
tags: [algorithm-selection, meta-learning, tabular]
---

# skllmselect bundled model

A small transformer trained from scratch that reads a classification dataset's
{len(config['metafeature_names'])} meta-features (as tokens) and predicts the 5-fold
cross-validated balanced accuracy, its uncertainty and the fit time of each of
{len(config['pipeline_names'])} scikit-learn pipelines.
`skllmselect.LLMAlgorithmSelector` uses it to rank the pipelines before fitting the best few.

- Network: {arch}; {summary['n_parameters']:,} parameters
  ({summary['n_parameters_non_embedding']:,} without embeddings); {megabytes:.1f} MB.
- Shipped weights: {shipped}.
- Training: {summary['steps']:,} steps, {summary['tokens']:,} tokens, on {summary['device']}
  in {summary['precision']}, {summary['elapsed_s']:.0f} s; {summary['skips']} skipped steps,
  {summary['rollbacks']} rollbacks. Log and plot: `pretrain/data/training/` in
  the source repository (not installed with the package).
- `residuals.safetensors`: the model's measured minus predicted scores on the train split
  (`python -m pretrain residuals`); the selector chooses its top k as a set from them.
- Corpus: {' / '.join(f'{n:,} {k}' for k, n in summary['n_datasets'].items())} datasets
  (split by dataset, fixed in the corpus manifest); content hashes {hashes}.
- Versions: {libraries}.

## Validation metrics

The model was selected on these, so they are optimistic; the benchmarks give held-out numbers.

| metric | model | single best pipeline on train |
| --- | --- | --- |
| top-1 regret (balanced accuracy) | {metric('val_regret')} | {metric('baseline_regret')} |
| Spearman correlation with the true ranking | {metric('val_spearman')} | {
metric('baseline_spearman')} |
| top-1 hit rate | {metric('val_top1')} | {metric('baseline_top1')} |
| masked-token perplexity | {metric('val_perplexity')} | |

## Intended use and limits

For choosing among the bundled portfolio on tabular classification data. The meta-features
and the portfolio it was trained on are named in `config.json`; loading refuses an
installation whose lists differ. Trained on synthetic priors and R/Python-bundled datasets;
the 55 UCI benchmark datasets (and content-matched copies) were excluded by the leakage guard.
Reproduce from a checkout of the source repository:
`python -m pretrain train --preset {_preset_name(summary)}` then
`python -m pretrain export`.
"""


def _preset_name(summary: dict) -> str:
    out = Path(summary.get("out_dir", "runs/small")).name
    return out if out in ("debug", "small", "full") else "small"
