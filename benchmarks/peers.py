"""Peer benchmark: skllmselect against FLAML AutoML and LazyPredict, same data, same clock.

    python -m benchmarks.peers [--uci-path FOLDER] [--datasets iris,glass]
        [--methods skllmselect_k1,skllmselect_k3,skllmselect_k3_single,skllmselect_b5,
                   skllmselect_b10,flaml_1x,flaml_4x,lazypredict,sbs]
        [--max-rows 2000] [--seed 0] [--min-budget 10] [--timeout 1800] [--out DIR]

The peers are benchmark-only dependencies, never imported by the package: install them with
``pip install -e ".[peers]"`` (the ``peers`` extra of pyproject.toml pins FLAML, LightGBM,
XGBoost as ``xgboost-cpu`` and LazyPredict at versions that install beside the project's
pins of numpy, pandas, scipy, scikit-learn and torch).

Protocol, per dataset of the UCI benchmark folder:

- Rows: the labelled rows, capped at ``--max-rows`` (default 2,000, the corpus cap
  ``CORPUS_MAX_ROWS``) by the seeded stratified subsample of the ground-truth protocol
  (``pretrain.runs.protocol_rows``: every class keeps at least 5 rows), so these are the very
  rows ``benchmarks/results/uci_ground_truth.csv`` scored.
- One stratified 75/25 split, seed ``--seed`` (default 0). Every method sees only the 75 % and
  is scored by balanced accuracy of its predictions on the 25 %.
- Methods (``--methods``, keys in brackets):

  - [skllmselect_k1], [skllmselect_k3]: ``LLMAlgorithmSelector(top_k=k, random_state=seed)``,
    constructed and fitted (recommend, 5-fold CV of the top k, refit of the winner, and the
    default ensemble of the candidates with its members' refits) inside the timer: their
    wall time T; skllmselect_k3 is the estimator's default fit;
  - [skllmselect_k3_single]: the same with ``ensemble=False`` (what the ensemble adds);
  - [skllmselect_b5], [skllmselect_b10]: ``time_budget=5`` and ``10`` (the anytime search:
    the top-3 set, then down the ranking by predicted gain per second, then the budget's
    rest tuning the best candidates), with how their search time compares with the budget;
  - [flaml_1x], [flaml_4x]: ``flaml.AutoML().fit(task="classification", time_budget=B)``
    with B = max(--min-budget, T of skllmselect top_k=3) and 4 B, balanced accuracy as its
    metric (a custom metric function: 1 - balanced accuracy on FLAML's own validation
    folds), its default learners (with the pinned packages: lgbm, rf, xgboost, extra_tree,
    xgb_limitdepth, sgd, lrl1; catboost is not installed, and FLAML leaves it out then),
    its default evaluation (CV or holdout by data size) and final retrain on all the 75 %;
  - [lazypredict]: ``LazyClassifier()`` over all its classifiers (scikit-learn's, XGBoost's,
    LightGBM's), each fitted on the 75 % and scored on the 25 %; its winner is the top of its
    own table, sorted by balanced accuracy **on the test split**: it picks on the data it
    is scored on, so its number is optimistic (an upper bound of what its pick would give
    on new data). Its wall time is the whole ``fit`` call. It gets the classes as integer
    codes (its XGBClassifier refuses string labels);
  - [sbs]: the single best pipeline of the portfolio, fitted alone: the pipeline with the
    best mean ground-truth score over the corpus TRAIN split (``SingleBest`` of
    ``pretrain/evaluate.py``, the SBS of ``benchmarks/selection.py``; ``bagging_trees`` with
    the committed corpus). It does not look at the UCI datasets.

- One thread per method: ``OMP_NUM_THREADS=1`` (and MKL, OpenBLAS) before any import,
  ``torch.set_num_threads(1)``, FLAML ``n_jobs=1``, LazyPredict's models at their default
  ``n_jobs`` (1, one OpenMP thread, or for LightGBM ``joblib.cpu_count()``, made 1 by
  ``LOKY_MAX_CPU_COUNT=1``). Methods run one after the other, never in parallel.
- Timers (``time.perf_counter``) wrap only the fit. One-time costs are paid before any
  timer: the imports of every library, the load of the bundled model and one ``recommend``
  call on a tiny table (pymfe's lazy imports). Predicting the test split is not timed
  (LazyPredict's is, being inside its ``fit``; it is a few ms per model).
- A failing method on a dataset is recorded with its reason (``status`` "failed" or
  "timeout" past ``--timeout`` seconds, a soft limit that takes effect when Python regains
  control, and a kill for LazyPredict, which runs in a forked child because its SVC or label
  propagation can stay in C code for hours) and scores chance level there (balanced
  accuracy of a constant prediction, 1 / number of classes), as in the ground truth; the run
  goes on.

Resumable: one JSON record per (dataset, method) under ``OUT/peers/``, written atomically as
soon as it is measured; a rerun skips every record already there with the same settings
(for skllmselect these include its options and a hash of the bundled weights)
(``--retry-failed`` redoes failed ones). Writes ``OUT/peers.md`` (settings, summary,
per-dataset tables, failures), ``OUT/peers.csv`` (the long table) and ``OUT/peers.png``
(balanced accuracy against wall time); prints the summary table last. OUT defaults to
``benchmarks/results``. Wall times depend on the machine and its load; the report records the
load average. About 50 minutes for all 55 datasets (3,025 s on 2026-12-06; FLAML alone
takes at least 50 s per dataset, 10 s + 40 s).
"""

from __future__ import annotations

import os

# One thread everywhere, before numpy, torch, scikit-learn, LightGBM or XGBoost start a pool.
# LOKY_MAX_CPU_COUNT: joblib.cpu_count() answers 1, which is what LightGBM's n_jobs=None
# (LazyPredict's LGBMClassifier) asks for; otherwise it runs one thread per physical core.
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
              "LOKY_MAX_CPU_COUNT"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import importlib.metadata  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import balanced_accuracy_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from pretrain.markdown import markdown_table  # noqa: E402
from pretrain.parallel import write_json_atomic  # noqa: E402
from pretrain.sources.uci import iter_uci, read_manifest, resolve_uci_path  # noqa: E402
from skllmselect.sampling import CORPUS_MAX_ROWS, CORPUS_SEED  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

RESULTS = ROOT / "benchmarks" / "results"
CORPUS = ROOT / "pretrain" / "data" / "corpus"
RECORDS = "peers"
TEST_SIZE = 0.25
FLAML_MULTIPLIER = 4
#: Two balanced accuracies closer than this (0.5 points) are a tie.
TIE = 0.005
#: Seconds one method may take on one dataset (``--timeout``; curves.py's ``--once-timeout``).
TIMEOUT = 1800.0
METHODS = {
    "skllmselect_k1": "skllmselect top_k=1",
    "skllmselect_k3": "skllmselect top_k=3",
    "skllmselect_k3_single": "skllmselect top_k=3, no ensemble",
    "skllmselect_b5": "skllmselect time_budget=5",
    "skllmselect_b10": "skllmselect time_budget=10",
    "flaml_1x": "FLAML, equal time",
    "flaml_4x": f"FLAML, {FLAML_MULTIPLIER}x time",
    "lazypredict": "LazyPredict (picks on test)",
    "sbs": "SBS alone",
}
#: Which installed package each method needs (import name, distribution for versions).
NEEDS = {"flaml_1x": ["flaml", "lightgbm", "xgboost"],
         "flaml_4x": ["flaml", "lightgbm", "xgboost"],
         "lazypredict": ["lazypredict", "lightgbm", "xgboost"]}
DISTRIBUTIONS = ["numpy", "pandas", "scipy", "scikit-learn", "torch", "pymfe", "flaml",
                 "lightgbm", "xgboost-cpu", "xgboost", "lazypredict"]
OURS = "skllmselect_k3"
#: LLMAlgorithmSelector's options for each skllmselect method (random_state=seed in all);
#: anything not given is the estimator's default (skllmselect_k3: the default fit).
SKLLMSELECT = {
    "skllmselect_k1": {"top_k": 1},
    "skllmselect_k3": {"top_k": 3},
    "skllmselect_k3_single": {"top_k": 3, "ensemble": False},
    "skllmselect_b5": {"time_budget": 5.0},
    "skllmselect_b10": {"time_budget": 10.0},
}

SEARCH_REVISION = 3
"""Bumped when ``fit``'s search under ``time_budget`` changes behaviour, so that skllmselect's
budgeted records (here and in ``benchmarks/curves.py``) are measured again (2: the first
candidate is abandoned too when its next fold and its own refit would end past the budget;
3: the budget's rest tunes the best candidates, ``tune=True``)."""


# ------------------------------------------------------------------------------ records


def record_path(records: Path, dataset: str, method: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "__", dataset)
    return records / f"{safe}__{method}.json"


def write_record(record: dict, records: Path) -> Path:
    """Write ``record`` atomically (temporary file, then ``os.replace``)."""
    return write_json_atomic(record, record_path(records, record["dataset"], record["method"]))


def read_record(records: Path, dataset: str, method: str) -> dict | None:
    path = record_path(records, dataset, method)
    return json.loads(path.read_text()) if path.is_file() else None


def versions() -> dict:
    out = {"python": platform.python_version()}
    for name in DISTRIBUTIONS:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out



# ------------------------------------------------------------------------------ data


def prepare(dataset, max_rows: int, seed: int):
    """The capped rows, split 75/25 (stratified, seeded); and the data's fingerprint."""
    from pretrain import runs

    X, y, _ = runs.protocol_rows(dataset.X, dataset.y,
                                 runs.Protocol(max_rows=max_rows, seed=seed))
    y = y.astype(str).to_numpy(dtype=object)
    # Missing categories as NaN, the common currency: the UCI loader gives pd.NA, which some
    # peers' imputers cannot compare ("boolean value of NA is ambiguous").
    for column in X.columns:
        if pd.api.types.is_object_dtype(X[column]) or pd.api.types.is_string_dtype(X[column]):
            X[column] = X[column].astype(object).where(X[column].notna(), np.nan)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, stratify=y, random_state=seed)
    return (X_train.reset_index(drop=True), X_test.reset_index(drop=True), y_train, y_test,
            runs.fingerprint(X, y))


def sbs_pipeline(corpus: Path = CORPUS) -> str:
    """The SBS of benchmarks/selection.py: best mean score over the corpus train split."""
    from pretrain import evaluate as ev
    from skllmselect.portfolio import PIPELINE_NAMES

    table = ev.selection_table(pd.read_parquet(corpus / "corpus.parquet"))
    train = table.subset(table.groups["split"].to_numpy() == "train")
    best = ev.SingleBest().fit(train.metafeatures, train.scores)
    return PIPELINE_NAMES[int(best.rank(train.metafeatures[:1])[0, 0])]


# ------------------------------------------------------------------------------ methods


class MethodTimeout(BaseException):
    """Raised by the alarm; a BaseException so that libraries' ``except Exception`` let it by."""


def _alarm(signum, frame):
    raise MethodTimeout


def balanced_accuracy(y_true, y_pred) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "y_pred contains classes not in y_true"
        return float(balanced_accuracy_score(np.asarray(y_true).astype(str),
                                             np.asarray(y_pred).astype(str)))


def flaml_balanced_accuracy(X_val, y_val, estimator, labels, X_train, y_train,
                            weight_val=None, weight_train=None, *args, **kwargs):
    """FLAML custom metric: (loss to minimise, metrics to log) on its validation data."""
    score = balanced_accuracy(y_val, estimator.predict(X_val))
    return 1.0 - score, {"balanced_accuracy": score}


def run_skllmselect(X_train, y_train, X_test, *, options: dict, seed: int):
    from skllmselect.selector import LLMAlgorithmSelector

    start = time.perf_counter()
    model = LLMAlgorithmSelector(**options, random_state=seed).fit(X_train, y_train)
    elapsed = time.perf_counter() - start
    tried = list(model.cv_results_["pipeline"])
    ensemble = model.ensemble_
    details = {"chosen": model.best_pipeline_ if ensemble is None else "ensemble",
               "best_pipeline": model.best_pipeline_, "cv_score": float(model.best_score_),
               "tried": tried,
               "status": [str(s) for s in model.cv_results_["status"]],
               "ensemble": None if ensemble is None else dict(zip(
                   ensemble.names, ensemble.weights.tolist(), strict=True)),
               "ranking_time": model.ranking_time_, "search_time": model.search_time_,
               "time_budget": model.time_budget, "skipped": list(model.skipped_)}
    return model.predict(X_test), elapsed, details


def bundled_model_id() -> str:
    """A hash of the bundled weights: skllmselect's records are redone when they change."""
    import hashlib

    from skllmselect import loading

    digest = hashlib.sha256()
    folder = Path(loading.resolve(loading.BUNDLED))
    for path in sorted(folder.glob("*.safetensors")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def run_flaml(X_train, y_train, X_test, *, budget: float, seed: int):
    from flaml import AutoML

    # LightGBM refuses column names with JSON's special characters (spambase's
    # "char_freq_;" and the like) and FLAML's lgbm learner fails on them: plain names
    # instead, the same information.
    if isinstance(X_train, pd.DataFrame):
        names = [f"x{i}" for i in range(X_train.shape[1])]
        X_train, X_test = X_train.set_axis(names, axis=1), X_test.set_axis(names, axis=1)
    start = time.perf_counter()
    automl = AutoML()
    automl.fit(X_train, y_train, task="classification", metric=flaml_balanced_accuracy,
               time_budget=budget, n_jobs=1, seed=seed, verbose=0, log_file_name="")
    elapsed = time.perf_counter() - start
    config = automl.best_config or {}
    details = {"chosen": automl.best_estimator, "budget_s": budget,
               "validation_score": float(1.0 - automl.best_loss),
               "learners": list(automl.estimator_list),
               "best_config": {k: (v if isinstance(v, int | float | str | bool) else str(v))
                               for k, v in config.items()}}
    return automl.predict(X_test), elapsed, details


def run_lazypredict(X_train, y_train, X_test, y_test, *, seed: int):
    from lazypredict.Supervised import LazyClassifier

    # Integer class codes (balanced accuracy does not depend on them): its XGBClassifier
    # refuses string labels and would drop out.
    _, codes = np.unique(np.concatenate([y_train, y_test]), return_inverse=True)
    codes_train, codes_test = codes[:len(y_train)], codes[len(y_train):]
    start = time.perf_counter()
    lazy = LazyClassifier(verbose=0, ignore_warnings=True, random_state=seed, n_jobs=1)
    scores = lazy.fit(X_train, X_test, codes_train, codes_test)
    elapsed = time.perf_counter() - start
    scores = scores[0] if isinstance(scores, tuple) else scores
    if not len(scores):
        raise RuntimeError(f"every LazyPredict model failed: {dict(list(lazy.errors.items())[:3])}")
    top = scores.head(5)["Balanced Accuracy"]
    details = {"chosen": str(scores.index[0]), "n_models": int(len(scores)),
               "failed_models": sorted(map(str, lazy.errors)),
               "top5": {str(k): round(float(v), 4) for k, v in top.items()}}
    return float(scores["Balanced Accuracy"].iloc[0]), elapsed, details


def run_sbs(X_train, y_train, X_test, *, pipeline: str, seed: int):
    from skllmselect.portfolio import make_pipeline_by_name

    start = time.perf_counter()
    model = make_pipeline_by_name(pipeline, random_state=seed).fit(X_train, y_train)
    elapsed = time.perf_counter() - start
    return model.predict(X_test), elapsed, {"chosen": pipeline}


def measure(method: str, data, *, seed: int, timeout: float, budget: float | None,
            sbs: str | None) -> dict:
    """Fit ``method`` on the training part, score it on the test part; never raises."""
    X_train, X_test, y_train, y_test = data

    def call():
        if method.startswith("skllmselect"):
            return run_skllmselect(X_train, y_train, X_test, options=SKLLMSELECT[method],
                                   seed=seed)
        if method.startswith("flaml"):
            return run_flaml(X_train, y_train, X_test, budget=budget, seed=seed)
        if method == "lazypredict":
            return in_child(lambda: run_lazypredict(X_train, y_train, X_test, y_test,
                                                    seed=seed), timeout)
        if method == "sbs":
            return run_sbs(X_train, y_train, X_test, pipeline=sbs, seed=seed)
        raise ValueError(f"unknown method {method!r}")

    # LazyPredict's child is killed at `timeout`; the soft alarm is a margin behind it
    return guarded(call, y_test, timeout + 30 if method == "lazypredict" else timeout)


def in_child(call, timeout: float):
    """``call()`` in a forked child, killed at ``timeout``: a fit stuck in C code (LazyPredict's
    SVC or label propagation on 30,000 rows) never returns to Python for the soft alarm."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def child():
        try:
            send.send(("ok", call()))
        except BaseException as error:  # sent back and raised in the parent
            send.send(("failed", "".join(traceback.format_exception_only(type(error), error))))

    process = context.Process(target=child, daemon=True)
    process.start()
    send.close()
    try:
        if not receive.poll(timeout):
            raise MethodTimeout(f"killed after {timeout:g} s without a result")
        try:
            kind, value = receive.recv()
        except EOFError:  # the child died without a word: killed for memory, or a crash
            process.join()
            raise RuntimeError(f"the fit's process died (exit code {process.exitcode})") from None
        if kind != "ok":
            raise RuntimeError(value.strip())
        return value
    finally:
        if process.is_alive():
            process.kill()
        process.join()


def guarded(call, y_test, timeout: float) -> dict:
    """Run ``call()``, which fits and returns (test predictions, or the score itself as a
    float, as LazyPredict gives; the fit's wall time; details), under the soft ``timeout``;
    score it by balanced accuracy. Never raises: a failure or timeout is recorded with its
    reason and scores chance level (1 / number of classes)."""
    result = {"status": "ok", "error": None, "details": {}}
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            predicted, elapsed, details = call()
        signal.setitimer(signal.ITIMER_REAL, 0)
        score = (float(predicted) if isinstance(predicted, float)
                 else balanced_accuracy(y_test, predicted))
        result.update(balanced_accuracy=score, wall_time=elapsed, details=details)
    except MethodTimeout as error:  # the alarm's, or a subprocess killed at its own limit
        result.update(status="timeout",
                      error=str(error) or f"no result after {timeout:g} s (--timeout)",
                      wall_time=time.perf_counter() - start)
    except Exception as error:  # one failing method must not stop the run
        signal.setitimer(signal.ITIMER_REAL, 0)
        lines = traceback.format_exception_only(type(error), error)
        # a subprocess's own clock, where it says when its fit failed (AutoGluon's worker)
        result.update(status="failed", error="".join(lines).strip()[-2000:],
                      wall_time=getattr(error, "wall_time", time.perf_counter() - start))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if result["status"] != "ok":
        result["balanced_accuracy"] = 1.0 / len(np.unique(y_test))  # chance level
    return result


def warm_up(methods: list[str]) -> None:
    """Pay the one-time costs before any timer: imports, the model, pymfe's first call."""
    import torch

    torch.set_num_threads(1)
    if any(m.startswith("skllmselect") for m in methods):
        from skllmselect.selector import LLMAlgorithmSelector, load_network

        load_network()
        rng = np.random.default_rng(0)
        X = pd.DataFrame({"a": rng.normal(size=40), "b": rng.choice(["u", "v"], 40)})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            LLMAlgorithmSelector(top_k=1).recommend(X, np.repeat([0, 1], 20))
    if any(m.startswith("flaml") for m in methods):
        import flaml.automl  # noqa: F401
        import lightgbm  # noqa: F401
        import xgboost  # noqa: F401
    if "lazypredict" in methods:
        import lazypredict.Supervised  # noqa: F401


def check_peers(methods: list[str]) -> None:
    missing = sorted({name for m in methods for name in NEEDS.get(m, [])
                      if importlib.util.find_spec(name) is None})
    if missing:
        raise SystemExit(
            f"peers.py: {', '.join(missing)} not installed. The peers are benchmark-only "
            "dependencies: pip install -e \".[peers]\" (pyproject.toml's `peers` extra), or "
            "leave their methods out with --methods.")


# ------------------------------------------------------------------------------ the run


def settings_for(method: str, common: dict, args) -> dict:
    settings = dict(common)
    if method.startswith("flaml"):
        settings.update(min_budget=args.min_budget,
                        multiplier=FLAML_MULTIPLIER if method == "flaml_4x" else 1)
    if method in SKLLMSELECT:
        settings.update(options=SKLLMSELECT[method], model=bundled_model_id())
        if "time_budget" in SKLLMSELECT[method]:
            settings.update(search_revision=SEARCH_REVISION)
    return settings


def is_done(record: dict | None, settings: dict, retry_failed: bool) -> bool:
    if record is None or record.get("settings") != settings:
        return False
    return record["status"] == "ok" or not retry_failed


def flaml_budget(records: Path, dataset: str, method: str, min_budget: float):
    ours = read_record(records, dataset, OURS)
    if ours is not None and ours["status"] == "ok":
        base, source = max(min_budget, ours["wall_time"]), OURS
    else:
        base, source = min_budget, f"--min-budget ({OURS} has no time here)"
    factor = FLAML_MULTIPLIER if method == "flaml_4x" else 1
    return factor * base, source


def run(args, methods: list[str]) -> tuple[int, int, str | None]:
    """Measure every (dataset, method) not recorded yet. Returns (new, skipped, sbs)."""
    records = args.out / RECORDS
    records.mkdir(parents=True, exist_ok=True)
    for stale in records.glob(".*.tmp"):  # left by a run killed mid-write
        stale.unlink()
    names = args.datasets or [e["name"] for e in read_manifest(args.uci_path)]
    new = skipped = 0
    sbs = None
    warmed = False
    for dataset in iter_uci(args.uci_path, names=names):
        try:
            X_train, X_test, y_train, y_test, fingerprint = prepare(dataset, args.max_rows,
                                                                    args.seed)
        except ValueError as error:
            print(f"{dataset.id}: skipped, {error}", flush=True)
            continue
        common = {"max_rows": args.max_rows, "seed": args.seed, "test_size": TEST_SIZE,
                  "fingerprint": fingerprint}
        for method in methods:
            settings = settings_for(method, common, args)
            if is_done(read_record(records, dataset.id, method), settings, args.retry_failed):
                skipped += 1
                continue
            if not warmed:
                warm_up(methods)
                warmed = True
            if method == "sbs" and sbs is None:
                sbs = args.sbs or sbs_pipeline()
            budget = source = None
            if method.startswith("flaml"):
                budget, source = flaml_budget(records, dataset.id, method, args.min_budget)
            result = measure(method, (X_train, X_test, y_train, y_test), seed=args.seed,
                             timeout=args.timeout, budget=budget, sbs=sbs)
            if source is not None:
                result["details"]["budget_s"] = budget
                result["details"]["budget_from"] = source
            record = {"dataset": dataset.id, "method": method, **result,
                      "n_train": len(y_train), "n_test": len(y_test),
                      "n_features": int(X_train.shape[1]),
                      "n_classes": int(len(np.unique(y_train))),
                      "settings": settings, "versions": versions(),
                      "load_average": list(np.round(os.getloadavg(), 2)),
                      "date": time.strftime("%Y-%m-%d %H:%M:%S")}
            write_record(record, records)
            new += 1
            chosen = result["details"].get("chosen", "")
            print(f"{dataset.id:32s} {method:15s} {result['status']:7s} "
                  f"{result['balanced_accuracy']:.3f} {result['wall_time']:7.1f} s  "
                  f"{chosen if result['status'] == 'ok' else result['error'][:80]}", flush=True)
    return new, skipped, sbs


# ------------------------------------------------------------------------------ main


def main(argv=None) -> int:
    # Imported here: the report module reads this one's constants and records.
    from benchmarks.peers_report import load_table, plot, summarize, target_lines, write_markdown

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uci-path", type=Path, default=None,
                        help="UCI benchmark folder (default: $SKLLMSELECT_UCI)")
    parser.add_argument("--datasets", type=lambda s: [n for n in s.split(",") if n],
                        help="comma-separated dataset names (default: all in the manifest)")
    parser.add_argument("--methods", default=",".join(METHODS),
                        help=f"comma-separated, of {', '.join(METHODS)}")
    parser.add_argument("--max-rows", type=int, default=CORPUS_MAX_ROWS)
    parser.add_argument("--seed", type=int, default=CORPUS_SEED)
    parser.add_argument("--min-budget", type=float, default=10.0,
                        help="FLAML's smallest equal-time budget, seconds")
    parser.add_argument("--timeout", type=float, default=TIMEOUT,
                        help="seconds one method may take on one dataset (soft; a kill "
                             "for LazyPredict, which runs in a forked child)")
    parser.add_argument("--sbs", default=None,
                        help="portfolio pipeline of the SBS row (default: from the corpus)")
    parser.add_argument("--retry-failed", action="store_true",
                        help="redo failed and timed-out records instead of keeping them")
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help="records go to OUT/peers/, the report to OUT/peers.{md,csv,png}")
    args = parser.parse_args(argv)
    try:
        args.uci_path = resolve_uci_path(args.uci_path)
    except ValueError as error:
        parser.error(str(error))
    methods = [m for m in args.methods.split(",") if m]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown or not methods:
        parser.error(f"unknown methods {unknown}; choose from {', '.join(METHODS)}")
    if any(m.startswith("flaml") for m in methods) and OURS not in methods:
        print(f"note: FLAML's budget is {OURS}'s wall time; using its records where they "
              f"exist, else --min-budget", flush=True)
    methods = [m for m in METHODS if m in methods]  # fixed order: FLAML after its clock
    check_peers(methods)
    if args.sbs is not None:
        from skllmselect.portfolio import PIPELINE_NAMES

        if args.sbs not in PIPELINE_NAMES:
            parser.error(f"--sbs {args.sbs!r} is not a portfolio pipeline")

    start = time.perf_counter()
    new, skipped, sbs = run(args, methods)
    elapsed = time.perf_counter() - start
    # The report covers every method with records, not only the ones run now: a run of one
    # method must not shrink peers.md to it.
    table = load_table(args, list(METHODS))
    if not len(table):
        print("no records to summarise")
        return 1
    methods = [m for m in METHODS if m in set(table["method"])]
    if sbs is None:
        sbs_rows = table.loc[table["method"] == "sbs", "chosen"].dropna()
        sbs = sbs_rows.iloc[0] if len(sbs_rows) else None
    labels = {**METHODS, "sbs": f"SBS ({sbs}) alone" if sbs else METHODS["sbs"]}
    names = args.datasets or [e["name"] for e in read_manifest(args.uci_path)]
    skipped_datasets = sorted(set(names) - set(table["dataset"]))
    summary = summarize(table, methods, labels)
    targets = target_lines(table)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "peers.csv", index=False, float_format="%.6g")
    plot(table, methods, labels, args.out / "peers.png")
    write_markdown(args.out / "peers.md", summary=summary, table=table, methods=methods,
                   labels=labels, targets=targets, args=args, sbs=sbs, elapsed=elapsed,
                   skipped_datasets=skipped_datasets)

    failures = table[table["status"] != "ok"]
    print(f"\n{new} new records, {skipped} already recorded; {elapsed:.0f} s. Wrote "
          f"{args.out / 'peers.md'}, peers.csv and peers.png.")
    for row in failures.itertuples():
        print(f"failed: {row.dataset} / {row.method}: {row.status}: {str(row.error)[:200]}")
    print("\nLazyPredict picks its winner on the test split: its number is optimistic.")
    print("\n".join(targets))
    print(f"\n## Summary ({table['dataset'].nunique()} datasets)\n")
    print(markdown_table(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
