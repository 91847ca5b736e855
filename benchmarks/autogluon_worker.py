"""Fit AutoGluon on one split and write its test predictions: run in AutoGluon's own environment.

    work/venv-autogluon/bin/python benchmarks/autogluon_worker.py FOLDER

The other half of :mod:`benchmarks.autogluon_peer`, which writes ``FOLDER`` and reads the
answer back. It runs as a script in the environment ``make peers-autogluon-env`` creates
(AutoGluon 1.6 needs pandas < 3; the project pins pandas 3), so it imports nothing of this
repository: only the standard library, pandas and AutoGluon.

``FOLDER`` holds ``train.parquet`` (the features and the label column), ``test.parquet``
(the features) and ``request.json`` (``label``, ``preset``: ``"default"`` or a preset name
such as ``"best_quality"``, ``time_limit`` in seconds, ``fit_options``: more keyword
arguments of ``fit``). The worker pays the imports, then times
``TabularPredictor(label=..., eval_metric="balanced_accuracy", verbosity=0,
path=FOLDER/models).fit(train, time_limit=..., presets=..., num_cpus=1, num_gpus=0,
**fit_options)``
alone, predicts the test rows, and writes ``result.json``: ``status`` ("ok" or "failed"),
``error``, ``wall_time`` (the fit), ``predictions`` (strings, in test-row order) and
``details`` (the best model, how many models it fitted, versions). Any failure inside is
caught and written as "failed"; a crash or a kill leaves no ``result.json``, which the
caller records as failed or timed out. One thread: ``OMP_NUM_THREADS`` and friends are set
before any import (the caller sets them too), ``torch.set_num_threads(1)``, ``num_cpus=1``.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
              "LOKY_MAX_CPU_COUNT"):
    os.environ[_name] = "1"

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402


def write_json(path: Path, payload: dict) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(payload))
    os.replace(temporary, path)


def fit_and_predict(folder: Path, request: dict) -> dict:
    import pandas as pd
    from autogluon.tabular import TabularPredictor

    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # AutoGluon without its neural networks
        pass
    train = pd.read_parquet(folder / "train.parquet")
    test = pd.read_parquet(folder / "test.parquet")
    label = request["label"]
    train[label] = train[label].astype(str)
    presets = None if request["preset"] == "default" else request["preset"]
    start = time.perf_counter()
    predictor = TabularPredictor(label=label, eval_metric="balanced_accuracy", verbosity=0,
                                 path=str(folder / "models"))
    predictor.fit(train, time_limit=request["time_limit"], presets=presets, num_cpus=1,
                  num_gpus=0, **request.get("fit_options", {}))
    elapsed = time.perf_counter() - start
    predictions = predictor.predict(test).astype(str).tolist()
    names = predictor.model_names()
    return {"status": "ok", "error": None, "wall_time": elapsed, "predictions": predictions,
            "details": {"chosen": predictor.model_best, "n_models": len(names),
                        "models": names[:40], "preset": request["preset"],
                        "fit_options": request.get("fit_options", {}),
                        "time_limit": request["time_limit"], "versions": versions()}}


def versions() -> dict:
    import importlib.metadata

    out = {"python": sys.version.split()[0]}
    for name in ("autogluon.tabular", "pandas", "numpy", "scikit-learn", "torch", "lightgbm",
                 "catboost", "xgboost-cpu", "fastai"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.splitlines()[2].strip(), file=sys.stderr)
        return 2
    folder = Path(argv[0])
    request = json.loads((folder / "request.json").read_text())
    start = None
    try:
        import autogluon.tabular  # noqa: F401 (paid before the timer, as the harness's are)

        start = time.perf_counter()
        result = fit_and_predict(folder, request)
    except Exception as error:  # written back: the caller scores it as chance
        lines = traceback.format_exception_only(type(error), error)
        result = {"status": "failed", "error": "".join(lines).strip()[-2000:],
                  "wall_time": 0.0 if start is None else time.perf_counter() - start,
                  "predictions": None,
                  "details": {"preset": request.get("preset"),
                              "time_limit": request.get("time_limit")}}
    write_json(folder / "result.json", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
