"""The one ground-truth protocol: cross-validate every portfolio pipeline on a dataset.

Corpus records and benchmark ground truth both come from :func:`evaluate_dataset`, so a
selection metric always compares like with like. The protocol, step by step:

1. Rows whose class is missing are dropped (counted in ``n_rows_unlabelled``): they can be
   neither learnt from nor scored. Rows above ``Protocol.max_rows`` are then cut to a
   stratified subsample (seeded; every class keeps at least ``n_splits`` rows when it has
   them).
2. Stratified k-fold with ``n_splits`` folds, shuffled with ``Protocol.seed``. A class with
   fewer rows than folds is missing from some test folds but present in every training fold
   (each fold holds out at most one of its rows), so the folds stay at ``n_splits`` and the
   training sets keep their size; per-fold balanced accuracy averages over the classes
   present. A dataset whose smallest class has a single row is recorded with a
   dataset-level error (that class could not be learnt in the fold that holds it out).
3. Each pipeline is cloned per fold, fitted, and scored on the held-out fold: balanced
   accuracy (the primary metric), accuracy, and log loss when it has ``predict_proba``.
   Fit and predict seconds are summed over folds.
4. Time limit: after each fold, a pipeline whose projected total (mean fold time x folds)
   exceeds ``Protocol.time_limit`` stops and is recorded as ``"timeout"``. The check runs
   between folds, so one fold is never interrupted; ``max_rows`` keeps folds short.
5. A pipeline that raises is recorded as ``"failed"`` with the exception's type and message.
   Failed and timed-out pipelines are never dropped: their metrics are NaN and their
   ``score`` is the chance level of balanced accuracy, ``1 / n_classes`` (what a constant
   prediction earns), so that selecting them is penalised like a useless model.

Records are plain JSON, one file per dataset, written atomically (temporary file, then
``os.replace``) by the process that launched the run; a rerun skips datasets already
recorded. Work runs in parallel over datasets with joblib: local processes by default, a
Dask cluster when given a scheduler address.
"""

from __future__ import annotations

import platform
import time
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.base import clone
from sklearn.metrics import accuracy_score, balanced_accuracy_score, log_loss
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from pretrain.parallel import map_to_records, read_records
from pretrain.sources import Dataset
from skllmselect.portfolio import PIPELINE_NAMES, PORTFOLIO_VERSION, make_pipeline_by_name
from skllmselect.sampling import CORPUS_MAX_ROWS, CORPUS_N_SPLITS, CORPUS_SEED, stratified_subsample
from skllmselect.tabular import plan_table

PROTOCOL_VERSION = "1"
STATUSES = ("ok", "failed", "timeout")


@dataclass(frozen=True)
class Protocol:
    """How ground truth is measured; stored in every record and checked on resume."""

    n_splits: int = CORPUS_N_SPLITS
    """Folds of the stratified k-fold, always this many (a rarer class misses some test folds)."""
    seed: int = CORPUS_SEED
    """Seed of the row subsample, the fold shuffle and every pipeline's ``random_state``."""
    max_rows: int = CORPUS_MAX_ROWS
    """Rows above this are cut to a stratified subsample before cross-validation."""
    time_limit: float = 60.0
    """Seconds a pipeline may take over all its folds (projected after each fold)."""
    pipelines: tuple[str, ...] = PIPELINE_NAMES
    """Which portfolio pipelines to score, by stable name."""
    version: str = field(default=PROTOCOL_VERSION)
    """Protocol version; records of another version are not mixed with these."""

    def __post_init__(self):
        if self.n_splits < 2:
            raise ValueError(f"n_splits must be at least 2, got {self.n_splits}.")
        if self.max_rows < 2 * self.n_splits:
            raise ValueError(
                f"max_rows must be at least 2 * n_splits = {2 * self.n_splits}, "
                f"got {self.max_rows}."
            )
        if not self.time_limit > 0:
            raise ValueError(f"time_limit must be positive seconds, got {self.time_limit}.")
        unknown = sorted(set(self.pipelines) - set(PIPELINE_NAMES))
        if unknown or not self.pipelines:
            raise ValueError(
                f"Unknown or empty pipelines {unknown or '()'}; choose from {PIPELINE_NAMES}."
            )
        object.__setattr__(self, "pipelines", tuple(self.pipelines))

    def to_dict(self) -> dict:
        return {**asdict(self), "pipelines": list(self.pipelines)}


def library_versions() -> dict:
    """Versions that change results; stored in every record."""
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "portfolio": PORTFOLIO_VERSION,
    }


def fingerprint(X: pd.DataFrame, y) -> str:
    """Hash of the table's exact content (values, column names, labels), in row order."""
    hashed = pd.util.hash_pandas_object(X, index=False).to_numpy()
    # Through a Series first, as evaluate_dataset reads labels: pandas turns a pd.NA label
    # into NaN there, and "<NA>" and "nan" would otherwise hash the same labels two ways
    # (UCI bridges' two missing labels made its records look stale on every run).
    labels = np.asarray(pd.Series(np.asarray(y)))
    hashed_y = pd.util.hash_pandas_object(pd.Series(labels.astype(str)), index=False)
    digest = joblib.hash((list(map(str, X.columns)), hashed, hashed_y.to_numpy()))
    return str(digest)


def evaluate_dataset(dataset: Dataset, protocol: Protocol = Protocol()) -> dict:
    """Score every pipeline of ``protocol`` on ``dataset``; return one JSON-ready record.

    Never raises for a problem of the data or of a pipeline: such problems are recorded
    (``record["error"]`` for the dataset, ``status``/``error`` per pipeline).
    """
    start = time.perf_counter()
    X, y = dataset.X, pd.Series(np.asarray(dataset.y), name="target")
    record = {
        "dataset": dataset.id,
        "provenance": dataset.provenance,
        "fingerprint": fingerprint(X, y),
        **dataset.shape_summary(),
        "protocol": protocol.to_dict(),
        "versions": library_versions(),
        "error": None,
        "pipelines": {},
    }
    try:
        # The columns LLMAlgorithmSelector.fit would cross-validate on: a curated table
        # already is (curate.estimator_prepared; then this is the same object), a benchmark
        # table loses the identifier and all-missing columns the estimator drops.
        X = plan_table(X).transform(X)
        X, y, n_unlabelled = protocol_rows(X, y, protocol)
    except (ValueError, TypeError) as error:
        record["error"] = str(error)
        return _finish(record, start)
    record.update(n_rows_unlabelled=n_unlabelled, n_rows_used=len(y),
                  n_splits=protocol.n_splits)
    labels = np.unique(y)
    # One thread per process: we parallelise over datasets (measured:
    # HistGradientBoosting under thread contention ran 7-14x slower).
    with threadpool_limits(1), warnings.catch_warnings():
        # Convergence and small-class warnings are expected over thousands of datasets;
        # what matters (failures) is recorded per pipeline.
        warnings.simplefilter("ignore")
        folds = _PreprocessedFolds(X, y, protocol_folds(X, y, protocol))
        for name in protocol.pipelines:
            record["pipelines"][name] = _evaluate_pipeline(name, folds, labels, protocol)
    return _finish(record, start)


def protocol_folds(X, y, protocol: Protocol) -> list:
    """The protocol's (train, test) index pairs of the rows :func:`protocol_rows` keeps."""
    splitter = StratifiedKFold(protocol.n_splits, shuffle=True, random_state=protocol.seed)
    return list(splitter.split(X, y))


def protocol_rows(X: pd.DataFrame, y, protocol: Protocol):
    """The rows the protocol scores: labelled, and capped by a seeded stratified subsample.

    The corpus computes meta-features on exactly these rows, so that a dataset's
    meta-features and its scores describe the same data.

    Returns
    -------
    X, y, n_unlabelled
        The rows kept (fresh 0..n-1 index) and how many rows had no label.

    Raises
    ------
    ValueError
        When fewer than 2 classes remain, or a class has a single row.
    """
    y = pd.Series(np.asarray(y), name="target")
    labelled = y.notna().to_numpy()
    X, y = X[labelled], y[labelled]
    counts = y.value_counts()
    if len(counts) < 2:
        raise ValueError(f"needs at least 2 classes, found {len(counts)}")
    if counts.min() < 2:
        raise ValueError(
            f"class {counts.idxmin()!r} has a single row; stratified CV needs at least 2"
        )
    rows = stratified_subsample(
        y.to_numpy(), protocol.max_rows, min_per_class=protocol.n_splits,
        random_state=protocol.seed,
    )
    X, y = X.iloc[rows].reset_index(drop=True), y.iloc[rows].reset_index(drop=True)
    return X, y, int((~labelled).sum())


class _PreprocessedFolds:
    """Each fold's preprocessing, fitted once and shared by the pipelines that use it.

    Portfolio pipelines are ``preprocess`` followed by ``model``, and only a few distinct
    preprocessing steps exist; fitting one per pipeline would repeat the same work 20 times
    per fold (about a quarter of the protocol's cost on small tables). The result is the
    same as fitting each whole pipeline, because preprocessing does not depend on the model.
    The preprocessing's measured seconds are added to the fit and predict times of every
    pipeline that uses it, so times still describe fitting that pipeline alone.
    """

    def __init__(self, X, y, folds):
        self.X, self.y, self.folds = X, y, folds
        self.cache = {}

    def get(self, fold: int, preprocess):
        key = (fold, joblib.hash(preprocess))
        if key not in self.cache:
            train, test = self.folds[fold]
            try:
                fitted = clone(preprocess)
                tick = time.perf_counter()
                X_train = fitted.fit_transform(self.X.iloc[train], self.y.iloc[train])
                fit_seconds = time.perf_counter() - tick
                tick = time.perf_counter()
                X_test = fitted.transform(self.X.iloc[test])
                self.cache[key] = (X_train, X_test, fit_seconds, time.perf_counter() - tick)
            except Exception as error:  # noqa: BLE001 - recorded for each pipeline using it
                self.cache[key] = error
        cached = self.cache[key]
        if isinstance(cached, Exception):
            raise cached
        return cached


def _evaluate_pipeline(name, folds: _PreprocessedFolds, labels, protocol) -> dict:
    chance = 1.0 / len(labels)
    result = {"status": "ok", "error": None, "n_folds_done": 0}
    fold_scores = {"balanced_accuracy": [], "accuracy": [], "log_loss": []}
    fit_time = predict_time = 0.0
    pipeline = make_pipeline_by_name(name, random_state=protocol.seed)
    n_folds = len(folds.folds)
    try:
        for done, (train, test) in enumerate(folds.folds, start=1):
            X_train, X_test, prep_fit, prep_transform = folds.get(
                done - 1, pipeline.named_steps["preprocess"]
            )
            model = clone(pipeline.named_steps["model"])
            tick = time.perf_counter()
            model.fit(X_train, folds.y.iloc[train])
            fit_time += time.perf_counter() - tick + prep_fit
            tick = time.perf_counter()
            predicted = model.predict(X_test)
            proba = model.predict_proba(X_test) if hasattr(model, "predict_proba") else None
            predict_time += time.perf_counter() - tick + prep_transform
            truth = folds.y.iloc[test]
            fold_scores["balanced_accuracy"].append(balanced_accuracy_score(truth, predicted))
            fold_scores["accuracy"].append(accuracy_score(truth, predicted))
            if proba is not None:
                fold_scores["log_loss"].append(
                    log_loss(truth, proba, labels=model.classes_)
                )
            result["n_folds_done"] = done
            projected = (fit_time + predict_time) * n_folds / done
            if done < n_folds and projected > protocol.time_limit:
                result["status"] = "timeout"
                result["error"] = (
                    f"projected {projected:.1f}s over {n_folds} folds exceeds the "
                    f"{protocol.time_limit:g}s limit"
                )
                break
    except Exception as error:  # noqa: BLE001 - any pipeline failure is data, not a crash
        result["status"] = "failed"
        result["error"] = f"{type(error).__name__}: {error}"[:500]

    ok = result["status"] == "ok"
    for metric, values in fold_scores.items():
        result[metric] = float(np.mean(values)) if ok and values else float("nan")
    result["score"] = result["balanced_accuracy"] if ok else chance
    result["fit_time"] = fit_time
    result["predict_time"] = predict_time
    return result


def _finish(record: dict, start: float) -> dict:
    record["wall_time"] = time.perf_counter() - start
    return record


# --------------------------------------------------------------------------- records


def records_table(records: Iterable[dict]) -> pd.DataFrame:
    """Long table: one row per (dataset, pipeline) with status, metrics and times."""
    rows = []
    for record in records:
        for name, result in record["pipelines"].items():
            rows.append({"dataset": record["dataset"], "pipeline": name, **result})
    columns = ["dataset", "pipeline", "status", "score", "balanced_accuracy", "accuracy",
               "log_loss", "fit_time", "predict_time", "n_folds_done", "error"]
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------- running many


def run_all(
    datasets: Iterable[Dataset],
    out_dir: str | Path,
    protocol: Protocol = Protocol(),
    *,
    n_jobs: int = 1,
    scheduler: str | None = None,
    progress: bool = True,
    total: int | None = None,
) -> dict:
    """Evaluate every dataset not yet recorded in ``out_dir``; return a summary dict.

    Parameters
    ----------
    datasets : iterable of Dataset
        Consumed lazily; datasets whose record exists are skipped before any work.
    out_dir : path
        Folder of records, one JSON per dataset. Records made under another protocol
        make this raise: mixing them would make the ground truth incomparable.
    protocol : Protocol
        The measurement protocol.
    n_jobs : int, default=1
        Datasets evaluated at once (joblib processes, or Dask tasks in flight).
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:8786``); work then runs on that cluster
        and records are still written here, by this process.
    progress : bool, default=True
        Show a progress bar.
    total : int, optional
        Number of datasets, for the progress bar when ``datasets`` has no length.
    """
    recorded = {}
    for record in read_records(out_dir) if Path(out_dir).is_dir() else []:
        if record["protocol"] != protocol.to_dict():
            raise ValueError(
                f"{out_dir} holds records made with another protocol "
                f"({record['protocol']} vs {protocol.to_dict()}); write to a new folder."
            )
        recorded[record["dataset"]] = record["fingerprint"]

    def done(dataset) -> bool:
        # A record counts only for the very table it measured: a dataset whose content
        # changed since (new curation rules, new source version) is measured again.
        if dataset.id not in recorded:
            return False
        return isinstance(dataset, Dataset) and recorded[dataset.id] == fingerprint(
            dataset.X, dataset.y)
    if total is None and hasattr(datasets, "__len__"):
        total = len(datasets)
    start = time.perf_counter()
    new, skipped = map_to_records(
        partial(evaluate_dataset, protocol=protocol), datasets, out_dir,
        done=done,
        n_jobs=n_jobs, scheduler=scheduler, progress=progress, total=total, desc="runs",
    )
    return summarize(read_records(out_dir), wall_time=time.perf_counter() - start, new=new,
                     skipped=skipped)


def summarize(records: list[dict], *, wall_time: float = float("nan"), new: int = 0,
              skipped: int = 0) -> dict:
    """Counts and per-pipeline statistics over ``records``."""
    table = records_table(records)
    per_pipeline = pd.DataFrame()
    if len(table):
        per_pipeline = table.groupby("pipeline").agg(
            ok=("status", lambda s: int((s == "ok").sum())),
            failed=("status", lambda s: int((s == "failed").sum())),
            timeout=("status", lambda s: int((s == "timeout").sum())),
            mean_score=("score", "mean"),
            mean_fit_time=("fit_time", "mean"),
        ).reindex([p for p in PIPELINE_NAMES if p in set(table["pipeline"])])
    return {
        "datasets": len(records),
        "new": new,
        "skipped_already_recorded": skipped,
        "dataset_errors": {r["dataset"]: r["error"] for r in records if r["error"]},
        "wall_time": wall_time,
        "per_pipeline": per_pipeline,
    }


def format_summary(summary: dict) -> str:
    """Human-readable text of :func:`summarize`'s result."""
    lines = [
        f"datasets recorded: {summary['datasets']} (new {summary['new']}, "
        f"already recorded {summary['skipped_already_recorded']}), "
        f"wall time {summary['wall_time']:.1f}s",
    ]
    for dataset, error in summary["dataset_errors"].items():
        lines.append(f"  dataset error: {dataset}: {error}")
    if len(summary["per_pipeline"]):
        lines.append(summary["per_pipeline"].round(3).to_string())
    return "\n".join(lines)
