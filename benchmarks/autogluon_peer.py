"""AutoGluon as a peer: one subprocess per (dataset, budget) in AutoGluon's own environment.

Why a separate environment: AutoGluon 1.6 (``autogluon.tabular``) requires pandas < 2.4,
while the project pins pandas 3 (constraints.txt) and the library accepts pandas 2.2.2 to 3.
One environment would hold the whole project at pandas 2 for the sake of one benchmark peer,
and would test the library at a pandas version its users are leaving; AutoGluon also brings
its own LightGBM, CatBoost, XGBoost 3, fastai and spaCy, whose pins would then constrain
FLAML's (FLAML's xgboost learners need xgboost < 3). So ``make peers-autogluon-env`` builds
``work/venv-autogluon`` from ``benchmarks/autogluon-constraints.txt`` (the versions measured
with, torch 2.13.0 its CPU build), and the harness drives it through files:

1. the split is written to a temporary folder: ``train.parquet`` (features and label),
   ``test.parquet`` (features), ``request.json`` (label column, preset, time limit);
2. ``benchmarks/autogluon_worker.py FOLDER`` runs in that environment (a fresh process:
   its imports are paid before its own timer, as the other methods' are before theirs),
   fits, predicts and writes ``result.json`` (status, fit wall time, predictions);
3. the harness scores the predictions on its own copy of the test labels; the folder,
   AutoGluon's models included, is deleted.

A worker that crashes, writes nothing or outlives ``timeout`` seconds (then killed, a hard
limit, unlike the in-process methods' soft one) is a "failed" or "timeout" record scored as
chance, like any failing peer.

Methods: ``autogluon_default`` (the default preset) and ``autogluon_best``
(``presets="best_quality"``: bagging and multi-layer stacking, the public AutoML
benchmarks' setting), each at ``time_limit=B``, ``eval_metric="balanced_accuracy"``,
``num_cpus=1`` and one BLAS/OpenMP thread. Without ``ray`` in its environment AutoGluon fits
bagged folds one after the other, which is what one CPU allows anyway (ray is left out: a
large install that only parallelises). best_quality runs with ``dynamic_stacking=False``:
its default "auto" first spends part of the budget on a held-out sub-fit to decide whether
stacking overfits, and without ray the in-process fallback of AutoGluon 1.6.3 fails
("Learner is already fit") whenever that sub-fit trains no model, which it does at budgets
of a few seconds (measured on iris at 5 s); counting those as failures would score an
environment bug, not the preset. Bagging and the stack levels its auto_stack picks are
kept. AutoGluon takes no global seed; its models use their own fixed defaults.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.peers import MethodTimeout

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "benchmarks" / "autogluon_worker.py"
#: Where ``make peers-autogluon-env`` puts the environment; SKLLMSELECT_AUTOGLUON_PYTHON
#: (or ``--autogluon-python``) names another interpreter.
DEFAULT_PYTHON = ROOT / "work" / "venv-autogluon" / "bin" / "python"
#: Each method's preset and further ``fit`` options (see the module's docstring for why
#: best_quality runs without dynamic stacking).
PRESETS = {"autogluon_default": ("default", {}),
           "autogluon_best": ("best_quality", {"dynamic_stacking": False})}
LABEL = "__label__"


class WorkerTimeout(MethodTimeout):
    """The worker ran past its timeout and was killed (recorded as a timeout)."""


def autogluon_python(path: str | os.PathLike | None = None) -> Path:
    """The interpreter of AutoGluon's environment; a clear error when it is missing."""
    chosen = Path(path or os.environ.get("SKLLMSELECT_AUTOGLUON_PYTHON") or DEFAULT_PYTHON)
    if not chosen.is_file():
        raise FileNotFoundError(
            f"AutoGluon's interpreter {chosen} does not exist: run `make peers-autogluon-env` "
            "(its own environment, work/venv-autogluon), or name one with "
            "--autogluon-python / SKLLMSELECT_AUTOGLUON_PYTHON, or leave the autogluon "
            "methods out with --methods.")
    return chosen


def write_split(folder: Path, X_train: pd.DataFrame, y_train, X_test: pd.DataFrame,
                request: dict) -> None:
    """The worker's input: parquet keeps the columns' types across pandas versions."""
    train = X_train.copy()
    if LABEL in train.columns:
        raise ValueError(f"a feature column is named {LABEL!r}, the worker's label column")
    train.columns = [str(c) for c in train.columns]
    test = X_test.copy()
    test.columns = train.columns[:test.shape[1]]
    train[LABEL] = np.asarray(y_train).astype(str)
    train.to_parquet(folder / "train.parquet", index=False)
    test.to_parquet(folder / "test.parquet", index=False)
    (folder / "request.json").write_text(json.dumps({"label": LABEL, **request}))


def run_worker(folder: Path, python: Path, timeout: float,
               worker: Path = WORKER) -> dict:
    """Run the worker on ``folder``; its ``result.json``. Raises WorkerTimeout when killed
    at ``timeout``, RuntimeError when it wrote no answer."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "LOKY_MAX_CPU_COUNT": "1",
           "PYTHONPATH": ""}  # nothing of this checkout in AutoGluon's environment
    try:
        finished = subprocess.run([str(python), str(worker), str(folder)], env=env,
                                  capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        raise WorkerTimeout(f"no result after {timeout:g} s (killed)") from error
    answer = folder / "result.json"
    if not answer.is_file():
        tail = (finished.stderr or finished.stdout or "").strip()[-1500:]
        raise RuntimeError(f"the AutoGluon worker exited {finished.returncode} without an "
                           f"answer: {tail}")
    return json.loads(answer.read_text())


def run_autogluon(X_train, y_train, X_test, *, method: str, budget: float, timeout: float,
                  python: Path, worker: Path = WORKER):
    """(test predictions, fit wall time, details), as the in-process peers return them.

    Raises on a failed, silent or killed worker (``guarded`` records it and scores chance).
    """
    preset, fit_options = PRESETS[method]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="autogluon-") as name:
        folder = Path(name)
        write_split(folder, X_train, y_train, X_test,
                    {"preset": preset, "time_limit": budget,
                     "fit_options": fit_options})
        result = run_worker(folder, python, timeout, worker)
    if result["status"] != "ok":
        error = RuntimeError(f"AutoGluon failed: {result['error']}")
        error.wall_time = float(result["wall_time"])  # its fit's time, not the process's
        raise error
    predictions = result["predictions"]
    if predictions is None or len(predictions) != len(X_test):
        raise RuntimeError(f"the worker returned {len(predictions or [])} predictions for "
                           f"{len(X_test)} test rows")
    details = {**result["details"], "process_s": round(time.perf_counter() - start, 2),
               "budget_s": budget}
    return np.asarray(predictions, dtype=object), float(result["wall_time"]), details
