"""benchmarks/peers.py end to end on two small datasets in the UCI folder layout.

The peers (FLAML, LazyPredict, LightGBM, XGBoost) come with the ``peers`` extra, which the
``test`` extra includes: without them this test fails (it does not skip), saying what to
install.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

ROOT = Path(__file__).resolve().parents[1]
PEERS = ("flaml", "lazypredict", "lightgbm", "xgboost")
COLUMNS = ["method", "datasets", "failed", "mean bal. acc.", "median bal. acc.",
           "median wall s", "median time ratio (/ top_k=3)", "top_k=3 W/T/L", "top_k=1 W/T/L"]


def write_uci_folder(folder: Path) -> None:
    """Two tables as the UCI benchmark folder holds them: gzip CSV plus a manifest entry each."""
    folder.mkdir()
    iris = load_iris(as_frame=True)
    numeric = iris.data.assign(species=iris.target_names[iris.target])
    rng = np.random.default_rng(0)
    n = 160
    label = rng.integers(0, 2, n)
    mixed = pd.DataFrame({
        "x1": label + rng.normal(0, 0.8, n),
        "x2": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
        "colour": np.where(rng.random(n) < 0.7, np.where(label == 1, "red", "blue"),
                           rng.choice(["red", "blue", "green"], n)),
        "size": np.where(rng.random(n) < 0.15, "", rng.choice(["S", "M", "L"], n)),
        "class": np.where(label == 1, "yes", "no"),
    })
    manifest = []
    for name, frame, target, categorical in (
            ("tiny.iris", numeric, "species", []),
            ("tiny.mixed", mixed, "class", ["colour", "size"])):
        with gzip.open(folder / f"{name}.csv.gz", "wt") as handle:
            frame.to_csv(handle, index=False)
        manifest.append({"name": name, "file": f"{name}.csv.gz", "target": target,
                         "n_rows": len(frame), "n_features": frame.shape[1] - 1,
                         "n_classes": int(frame[target].nunique()),
                         "categorical": categorical,
                         "missing_cells": int(frame.isna().sum().sum())})
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))


def load_peers_module(monkeypatch):
    missing = [name for name in PEERS if importlib.util.find_spec(name) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed: benchmarks/peers.py needs the peers "
                    "extra, pip install -e \".[peers]\" (the test extra includes it).")
    # The script sets these at import for its own process; keep them out of other tests.
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                 "LOKY_MAX_CPU_COUNT"):
        monkeypatch.setenv(name, "1")
    spec = importlib.util.spec_from_file_location("peers_benchmark",
                                                  ROOT / "benchmarks" / "peers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def summary_lines(out: str) -> list[str]:
    """The markdown table the script prints last."""
    lines = out.rstrip().splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("## Summary"))
    table = [line for line in lines[start + 1:] if line.strip()]
    assert table and all(line.startswith("|") for line in table), out[-2000:]
    return table


@pytest.mark.slow
def test_peers_benchmark_runs_records_and_resumes(tmp_path, monkeypatch, capsys, request):
    import torch

    threads = torch.get_num_threads()  # the script sets 1 for its own process
    request.addfinalizer(lambda: torch.set_num_threads(threads))
    peers = load_peers_module(monkeypatch)
    uci, out = tmp_path / "uci", tmp_path / "results"
    write_uci_folder(uci)
    # Every method but the 10-second budget (the 5-second one exercises the same code).
    methods = [m for m in peers.METHODS if m != "skllmselect_b10"]
    n = 2 * len(methods)
    args = ["--uci-path", str(uci), "--out", str(out), "--min-budget", "2",
            "--timeout", "300", "--methods", ",".join(methods)]

    # One method failing on one dataset is recorded with its reason; the run goes on.
    real_sbs = peers.run_sbs

    def sbs_failing_on_mixed(X_train, y_train, X_test, **kwargs):
        if "colour" in X_train.columns:
            raise RuntimeError("injected failure")
        return real_sbs(X_train, y_train, X_test, **kwargs)

    monkeypatch.setattr(peers, "run_sbs", sbs_failing_on_mixed)
    assert peers.main(args) == 0
    first = capsys.readouterr().out

    records = {p.name: json.loads(p.read_text()) for p in (out / "peers").glob("*.json")}
    assert len(records) == n, sorted(records)
    for record in records.values():
        assert record["settings"]["max_rows"] == 2000 and record["n_test"] > 0
        assert 0.0 <= record["balanced_accuracy"] <= 1.0 and record["wall_time"] >= 0
        if record["method"] == "sbs" and record["dataset"] == "uci/tiny.mixed":
            assert record["status"] == "failed" and "injected failure" in record["error"]
            assert record["balanced_accuracy"] == 0.5  # chance level of 2 classes
        else:
            assert record["status"] == "ok", record
    for dataset in ("tiny.iris", "tiny.mixed"):
        ours = records[f"uci__{dataset}__skllmselect_k3.json"]
        equal = records[f"uci__{dataset}__flaml_1x.json"]["details"]["budget_s"]
        longer = records[f"uci__{dataset}__flaml_4x.json"]["details"]["budget_s"]
        assert equal == pytest.approx(max(2.0, ours["wall_time"]))
        assert longer == pytest.approx(4 * equal)
        lazy = records[f"uci__{dataset}__lazypredict.json"]["details"]
        assert lazy["n_models"] > 10 and "XGBClassifier" not in lazy["failed_models"]

    table = summary_lines(first)
    header = [cell.strip() for cell in table[0].strip("|").split("|")]
    assert header == COLUMNS
    labels = [line.strip("|").split("|")[0].strip() for line in table[2:]]
    assert labels == [*[peers.METHODS[m] for m in methods[:-1]], "SBS (bagging_trees) alone"]
    assert f"{n} new records, 0 already recorded" in first
    ours = records["uci__tiny.iris__skllmselect_k3.json"]
    assert ours["settings"]["options"] == {"top_k": 3} and len(ours["settings"]["model"]) == 16
    budgeted = records["uci__tiny.iris__skllmselect_b5.json"]["details"]
    assert budgeted["time_budget"] == 5.0 and budgeted["search_time"] > 0
    assert "skllmselect time_budget=5: search time" in first
    assert "picks its winner on the test split" in first
    for name in ("peers.md", "peers.csv", "peers.png"):
        assert (out / name).stat().st_size > 0
    assert "## Balanced accuracy per dataset" in (out / "peers.md").read_text()

    # A rerun resumes: nothing is measured again, the kept failure included.
    stamps = {p: p.stat().st_mtime_ns for p in (out / "peers").glob("*.json")}
    monkeypatch.setattr(peers, "run_sbs", real_sbs)
    assert peers.main(args) == 0
    second = capsys.readouterr().out
    assert f"0 new records, {n} already recorded" in second
    assert {p: p.stat().st_mtime_ns for p in (out / "peers").glob("*.json")} == stamps
    assert summary_lines(second) == table

    # --retry-failed redoes only the failed record.
    assert peers.main([*args, "--retry-failed"]) == 0
    third = capsys.readouterr().out
    assert f"1 new records, {n - 1} already recorded" in third
    fixed = json.loads((out / "peers" / "uci__tiny.mixed__sbs.json").read_text())
    assert fixed["status"] == "ok"


def test_a_fit_in_a_child_returns_fails_or_is_killed_at_its_timeout(monkeypatch):
    import os
    import time

    peers = load_peers_module(monkeypatch)

    assert peers.in_child(lambda: (0.5, 1.0, {"chosen": "x"}), 30) == (0.5, 1.0, {"chosen": "x"})
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        peers.in_child(lambda: 1 / 0, 30)
    with pytest.raises(RuntimeError, match="exit code 3"):
        peers.in_child(lambda: os._exit(3), 30)
    start = time.perf_counter()
    with pytest.raises(peers.MethodTimeout, match="killed after 0.5 s"):
        peers.in_child(lambda: time.sleep(60), 0.5)  # stands for a fit stuck in C code
    assert time.perf_counter() - start < 10
