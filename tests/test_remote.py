"""Scoring elsewhere: regenerated synthetic tables must be the stored ones, bit for bit."""

import json

import pytest

from pretrain import remote, runs
from pretrain.collect import collect, iter_collection
from pretrain.sources.synthetic import iter_synthetic
from tests.uci_folder import UCI_PATH, needs_uci


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    if UCI_PATH is None:  # collect's leakage guard reads the benchmark
        pytest.skip(needs_uci.kwargs["reason"])
    out = tmp_path_factory.mktemp("collection")
    collect(iter_synthetic(3, seed=11), out, progress=False)
    return out


def test_todo_lists_unscored_synthetic_datasets(collection, tmp_path):
    entries = remote.todo_list(collection, tmp_path / "no_runs")
    stored = {d.id: d for d in iter_collection(collection)}
    assert [e["id"] for e in entries] == list(stored)
    for entry in entries:
        dataset = stored[entry["id"]]
        assert entry["fingerprint"] == runs.fingerprint(dataset.X, dataset.y)
    assert [e["id"] for e in remote.todo_list(collection, tmp_path, reverse=True)] == \
        [e["id"] for e in entries][::-1]


def test_regenerated_table_is_the_stored_table(collection, tmp_path):
    entry = remote.todo_list(collection, tmp_path)[0]
    dataset = remote.regenerate(entry)
    stored = next(d for d in iter_collection(collection) if d.id == entry["id"])
    assert dataset is not None
    assert dataset.X.equals(stored.X)
    assert list(dataset.y) == list(stored.y)


def test_a_table_that_differs_is_not_scored(collection, tmp_path):
    entry = dict(remote.todo_list(collection, tmp_path)[0], fingerprint="not-this-table")
    assert remote.regenerate(entry) is None
    todo = tmp_path / "todo.json"
    todo.write_text(json.dumps([entry]))
    assert remote.main(["score", "--todo", str(todo), "--out", str(tmp_path / "runs")]) == 0
    archive = tmp_path / "runs.jsonl.gz"
    assert remote.main(["pack", "--runs", str(tmp_path / "runs"), "--out", str(archive)]) == 0
    import gzip

    with gzip.open(archive, "rt") as handle:
        assert handle.read() == ""  # the mismatch is left out of what gets merged
