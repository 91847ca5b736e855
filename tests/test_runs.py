import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pretrain import runs
from pretrain.sources import Dataset
from tests.helpers import make_mixed_frame

FAST = ("logreg", "decision_tree", "gaussian_nb")


def small_dataset(name="toy", n_rows=80, seed=0, n_classes=3):
    X, y = make_mixed_frame(n_rows=n_rows, n_classes=n_classes, seed=seed)
    return Dataset(id=f"test/{name}", X=X, y=y, provenance={"source": "test"})


def without_times(record):
    """A record minus what depends on the clock."""
    record = json.loads(json.dumps(record))
    record.pop("wall_time")
    for result in record["pipelines"].values():
        result.pop("fit_time")
        result.pop("predict_time")
    return record


def test_every_pipeline_is_recorded_with_metrics():
    record = runs.evaluate_dataset(small_dataset(), runs.Protocol(pipelines=FAST))
    assert record["error"] is None
    assert list(record["pipelines"]) == list(FAST)
    assert record["n_splits"] == 5 and record["n_rows_used"] == 80
    for result in record["pipelines"].values():
        assert result["status"] == "ok", result["error"]
        assert 0 <= result["balanced_accuracy"] <= 1
        assert result["score"] == result["balanced_accuracy"]
        assert result["log_loss"] > 0
        assert result["fit_time"] > 0 and result["n_folds_done"] == 5
    # the signal column makes this learnable: well above the 1/3 chance level
    assert record["pipelines"]["logreg"]["balanced_accuracy"] > 0.6


def test_records_are_deterministic():
    protocol = runs.Protocol(pipelines=("random_forest", "mlp"))
    first = runs.evaluate_dataset(small_dataset(), protocol)
    second = runs.evaluate_dataset(small_dataset(), protocol)
    assert without_times(first) == without_times(second)


def test_pipeline_without_predict_proba_has_no_log_loss():
    record = runs.evaluate_dataset(small_dataset(), runs.Protocol(pipelines=("ridge",)))
    result = record["pipelines"]["ridge"]
    assert result["status"] == "ok" and math.isnan(result["log_loss"])


def test_failure_is_recorded_with_reason_and_chance_score(monkeypatch):
    real = runs.make_pipeline_by_name

    def broken(name, random_state=0):
        pipeline = real(name, random_state)
        if name == "logreg":
            pipeline.set_params(model__C=-1.0)  # scikit-learn refuses C <= 0 in fit
        return pipeline

    monkeypatch.setattr(runs, "make_pipeline_by_name", broken)
    record = runs.evaluate_dataset(small_dataset(), runs.Protocol(pipelines=FAST))
    failed = record["pipelines"]["logreg"]
    assert failed["status"] == "failed"
    assert "InvalidParameterError" in failed["error"] and "'C'" in failed["error"]
    assert math.isnan(failed["balanced_accuracy"])
    assert failed["score"] == pytest.approx(1 / 3)
    assert record["pipelines"]["decision_tree"]["status"] == "ok"


def test_time_limit_stops_a_slow_pipeline():
    protocol = runs.Protocol(pipelines=("random_forest",), time_limit=1e-3)
    result = runs.evaluate_dataset(small_dataset(), protocol)["pipelines"]["random_forest"]
    assert result["status"] == "timeout"
    assert result["n_folds_done"] == 1
    assert "exceeds the 0.001s limit" in result["error"]
    assert result["score"] == pytest.approx(1 / 3)


def test_rare_class_keeps_the_folds_and_single_row_class_is_an_error():
    X, y = make_mixed_frame(n_rows=60, n_classes=2)
    y = y.copy()
    y.iloc[:2] = "rare"  # 2 rows: absent from 3 of the 5 test folds, in every training fold
    record = runs.evaluate_dataset(Dataset("test/rare", X, y), runs.Protocol(pipelines=FAST))
    assert record["error"] is None and record["n_splits"] == 5
    assert {r["status"] for r in record["pipelines"].values()} == {"ok"}
    y.iloc[1:3] = "class_0"  # one row left
    record = runs.evaluate_dataset(Dataset("test/single", X, y), runs.Protocol(pipelines=FAST))
    assert "single row" in record["error"] and record["pipelines"] == {}
    one_class = runs.evaluate_dataset(Dataset("test/one", X, pd.Series(["a"] * 60)))
    assert "at least 2 classes" in one_class["error"]
    unlabelled = make_mixed_frame(n_rows=60, n_classes=2)[1].astype(object)
    unlabelled.iloc[5:8] = None
    record = runs.evaluate_dataset(Dataset("test/nan", X, unlabelled),
                                   runs.Protocol(pipelines=FAST))
    assert record["n_rows_unlabelled"] == 3 and record["n_rows_used"] == 57


def test_rows_above_the_cap_are_subsampled_stratified():
    dataset = small_dataset(n_rows=300)
    record = runs.evaluate_dataset(dataset, runs.Protocol(pipelines=("logreg",), max_rows=90))
    assert record["n_rows"] == 300 and record["n_rows_used"] == 90


@pytest.mark.parametrize("bad, match", [
    (dict(n_splits=1), "n_splits must be at least 2"),
    (dict(time_limit=0), "time_limit must be positive"),
    (dict(pipelines=("nope",)), "Unknown or empty pipelines"),
    (dict(max_rows=3), "max_rows must be at least"),
])
def test_protocol_validates(bad, match):
    with pytest.raises(ValueError, match=match):
        runs.Protocol(**bad)


def test_run_all_writes_atomically_and_resumes(tmp_path):
    datasets = [small_dataset(f"d{i}", seed=i) for i in range(3)]
    protocol = runs.Protocol(pipelines=FAST)
    summary = runs.run_all(datasets, tmp_path, protocol, progress=False)
    assert summary["datasets"] == 3 and summary["new"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "test__d0.json", "test__d1.json", "test__d2.json"]
    again = runs.run_all(datasets, tmp_path, protocol, progress=False)
    assert again["new"] == 0 and again["skipped_already_recorded"] == 3
    table = runs.records_table(runs.read_records(tmp_path))
    assert len(table) == 9 and set(table["status"]) == {"ok"}
    with pytest.raises(ValueError, match="another protocol"):
        runs.run_all(datasets, tmp_path, runs.Protocol(pipelines=FAST, seed=1),
                     progress=False)


def _write_folder(folder: Path, count: int) -> None:
    folder.mkdir()
    for i in range(count):
        X, y = make_mixed_frame(n_rows=100, seed=i)
        X.assign(target=y).to_csv(folder / f"table{i}.csv", index=False)


@pytest.mark.slow
def test_killed_run_restarts_and_records_each_dataset_once(tmp_path):
    count = 8
    _write_folder(tmp_path / "tables", count)
    out = tmp_path / "records"
    command = [sys.executable, "-m", "pretrain", "runs", "--source", "folder",
               "--path", str(tmp_path / "tables"), "--target", "target", "--out", str(out),
               "--n-jobs", "2", "--pipelines", "logreg,random_forest,mlp", "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    process = subprocess.Popen(command, env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(list(out.glob("*.json"))) < 2 and time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the launcher and its joblib workers
    process.wait()
    finished = len(list(out.glob("*.json")))
    assert 2 <= finished < count, "the kill should land mid-way through the run"

    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"new {count - finished}" in result.stdout
    records = runs.read_records(out)
    ids = [r["dataset"] for r in records]
    assert sorted(ids) == sorted(f"folder/table{i}.csv" for i in range(count))
    assert len(set(ids)) == count
    assert not list(out.glob(".*.tmp"))


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_records(tmp_path):
    distributed = pytest.importorskip("distributed")
    datasets = [small_dataset(f"d{i}", seed=i) for i in range(3)]
    protocol = runs.Protocol(pipelines=FAST)
    runs.run_all(datasets, tmp_path / "local", protocol, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        summary = runs.run_all(datasets, tmp_path / "dask", protocol, n_jobs=2,
                               scheduler=cluster.scheduler_address, progress=False)
        assert cluster.scheduler.transition_counter > 0  # the work went through Dask
    assert summary["new"] == 3
    local = [without_times(r) for r in runs.read_records(tmp_path / "local")]
    remote = [without_times(r) for r in runs.read_records(tmp_path / "dask")]
    assert local == remote


def test_fingerprint_depends_on_content():
    dataset = small_dataset()
    same = runs.fingerprint(dataset.X.copy(), dataset.y.copy())
    assert same == runs.fingerprint(dataset.X, dataset.y)
    changed = dataset.X.copy()
    changed.iloc[0, 0] += 1
    assert runs.fingerprint(changed, dataset.y) != same


def test_summary_counts_statuses(tmp_path):
    runs.run_all([small_dataset()], tmp_path, runs.Protocol(pipelines=FAST), progress=False)
    summary = runs.summarize(runs.read_records(tmp_path))
    assert summary["per_pipeline"]["ok"].tolist() == [1, 1, 1]
    text = runs.format_summary(summary)
    assert "datasets recorded: 1" in text and "decision_tree" in text
    assert np.isfinite(summary["per_pipeline"]["mean_score"]).all()


def test_fingerprint_reads_missing_labels_one_way():
    """pd.NA and NaN labels, as given or as evaluate_dataset re-reads them, hash alike."""
    from pretrain.runs import fingerprint

    X = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    y = pd.Series(["u", pd.NA, "v"], dtype=object)
    assert fingerprint(X, y) == fingerprint(X, pd.Series(np.asarray(y), name="target"))
    assert fingerprint(X, y) != fingerprint(X, pd.Series(["u", "w", "v"]))


# ------------------------------------------------------------------------------ record files


def test_distinct_ids_get_distinct_record_files(tmp_path):
    from pretrain.parallel import read_records, record_path, write_record

    ids = ["a b", "a,b", "a/b", "a__b", "a//b", "a/_b", "a_/b", "a/b/", "a%2Fb", "a@b"]
    assert len({record_path(tmp_path, i) for i in ids}) == len(ids)
    for i in ids:
        write_record({"dataset": i}, tmp_path)
    assert [r["dataset"] for r in read_records(tmp_path)] == sorted(ids)
    assert record_path(tmp_path, "a/b").name == "a__b.json"  # readable when it can be
    assert record_path(tmp_path, "a b").name.startswith("a__b@")


def test_existing_record_names_do_not_change():
    """Every id of the committed corpus keeps the file name it was recorded under (the
    old scheme: runs of unsafe characters -> "__"), so record folders written before, and
    those ``unpack`` restores, resume as they are."""
    import gzip
    import re

    from pretrain.parallel import record_path

    corpus = Path(__file__).resolve().parents[1] / "pretrain" / "data" / "corpus"
    with gzip.open(corpus / "collection.jsonl.gz", "rt") as handle:  # every id of the packs
        ids = {json.loads(line)["dataset"] for line in handle}
    assert len(ids) > 1000
    for i in ids:
        assert record_path("r", i).name == re.sub(r"[^A-Za-z0-9._-]+", "__", i) + ".json"


def test_a_record_file_holding_another_id_is_not_overwritten(tmp_path):
    """What a case-insensitive disk does to "Iris" and "iris": one file for two ids."""
    from pretrain.parallel import record_path, write_record

    record_path(tmp_path, "iris").write_text(json.dumps({"dataset": "Iris"}))
    with pytest.raises(ValueError, match="holds the record of 'Iris', not 'iris'"):
        write_record({"dataset": "iris"}, tmp_path)


def test_folder_tables_sharing_a_name_are_two_datasets(tmp_path):
    from pretrain.sources.folder import iter_folder

    X, y = make_mixed_frame(n_rows=30, seed=0)
    X.assign(target=y).to_csv(tmp_path / "x.csv", index=False)
    X.assign(target=y).iloc[:20].to_parquet(tmp_path / "x.parquet", index=False)
    found = {d.id: len(d.y) for d in iter_folder(tmp_path, target="target")}
    assert found == {"folder/x.csv": 30, "folder/x.parquet": 20}
