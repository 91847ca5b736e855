import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from skllmselect.metafeatures import METAFEATURE_NAMES
from skllmselect.portfolio import PIPELINE_NAMES
from skllmselect.tokenizer import SPECIAL_TOKENS, TOKENIZER_VERSION, MetaFeatureTokenizer

CORPUS = Path(__file__).resolve().parents[1] / "pretrain" / "data" / "corpus" / "corpus.parquet"
FEATURES = ("size", "ratio", "flag")
PIPELINES = ("logreg", "knn")


def make_values(n=200, seed=0):
    """A heavy-tailed, a uniform and a 3-valued feature, with some NaN and inf."""
    rng = np.random.default_rng(seed)
    values = np.column_stack([
        rng.lognormal(0, 2, n),
        rng.uniform(-1, 1, n),
        rng.integers(0, 3, n).astype(float),
    ])
    values[rng.random((n, 3)) < 0.1] = np.nan
    values[::17, 0] = np.inf
    values[::23, 1] = -np.inf
    return values


@pytest.fixture
def tokenizer():
    return MetaFeatureTokenizer(FEATURES, PIPELINES, n_bins=8).fit(make_values())


def test_layout_is_fixed_by_the_counts_before_fit():
    tok = MetaFeatureTokenizer(FEATURES, PIPELINES, n_bins=4)  # unfitted: layout still known
    assert tok.vocab_size == 5 + 2 + 3 * (1 + 4) == 22
    assert (tok.n_features, tok.n_pipelines, tok.sequence_length) == (3, 2, 4)
    assert [tok.pad_id, tok.mask_id, tok.cls_id, tok.bos_id, tok.eos_id] == [0, 1, 2, 3, 4]
    assert tok.pipeline_token_offset == 5
    np.testing.assert_array_equal(tok.pipeline_token_ids, [5, 6])
    assert tok.pipeline_token_id("knn") == 6
    np.testing.assert_array_equal(tok.block_starts, [7, 12, 17])
    np.testing.assert_array_equal(tok.missing_token_ids, [7, 12, 17])
    assert [tok.feature_block(j) for j in range(3)] == [(7, 12), (12, 17), (17, 22)]
    strings = tok.token_strings
    assert len(strings) == tok.vocab_size == len(set(strings))
    assert strings[:7] == [*SPECIAL_TOKENS, "[PIPE:logreg]", "[PIPE:knn]"]
    assert strings[12:17] == ["ratio:nan", "ratio:b00", "ratio:b01", "ratio:b02", "ratio:b03"]


def test_vocab_size_does_not_depend_on_collapsed_edges():
    discrete = np.tile([[0.0, 1.0, 5.0]], (10, 1))  # constant columns: everything collapses
    tok = MetaFeatureTokenizer(FEATURES, PIPELINES, n_bins=8)
    before = tok.vocab_size
    tok.fit(discrete)
    assert tok.vocab_size == before == 5 + 2 + 3 * 9
    assert all(len(edges) == 0 for edges in tok.bin_edges_)
    assert MetaFeatureTokenizer(METAFEATURE_NAMES, PIPELINE_NAMES).vocab_size == 5 + 20 + 73 * 33


def test_every_id_lies_in_its_feature_block(tokenizer):
    ids = tokenizer.encode(make_values(500, seed=1))
    assert ids.dtype == np.int64 and ids.shape == (500, 4)
    assert (ids[:, 0] == tokenizer.cls_id).all()
    assert ((ids >= 0) & (ids < tokenizer.vocab_size)).all()
    for j in range(tokenizer.n_features):
        start, stop = tokenizer.feature_block(j)
        assert stop - start == 1 + tokenizer.n_bins
        assert ((ids[:, 1 + j] >= start) & (ids[:, 1 + j] < stop)).all()


def test_nan_and_inf_become_the_missing_token(tokenizer):
    values = make_values(300, seed=2)
    ids = tokenizer.encode(values)
    missing = tokenizer.is_missing(ids[:, 1:])
    np.testing.assert_array_equal(missing, ~np.isfinite(values))
    assert not tokenizer.is_missing(ids[:, 0]).any()
    row = tokenizer.encode([np.nan, np.inf, -np.inf])
    np.testing.assert_array_equal(row[1:], tokenizer.missing_token_ids)


def test_out_of_range_values_fall_in_the_first_and_last_bin(tokenizer):
    starts = tokenizer.block_starts
    last_bin = np.array([len(edges) for edges in tokenizer.bin_edges_])
    low = tokenizer.encode(tokenizer.train_min_ - 1e6)
    high = tokenizer.encode(tokenizer.train_max_ + 1e6)
    np.testing.assert_array_equal(low[1:], starts + 1)
    np.testing.assert_array_equal(high[1:], starts + 1 + last_bin)
    # The training extremes themselves sit in the same end bins.
    np.testing.assert_array_equal(tokenizer.encode(tokenizer.train_min_), low)
    np.testing.assert_array_equal(tokenizer.encode(tokenizer.train_max_), high)


def test_larger_value_never_gets_a_smaller_bin():
    rng = np.random.default_rng(3)
    train = rng.lognormal(0, 3, (400, 1))
    tok = MetaFeatureTokenizer(["x"], PIPELINES, n_bins=16).fit(train)
    probe = np.sort(np.concatenate([train[:, 0], rng.lognormal(0, 4, 2000), [-1.0, 0.0]]))
    ids = tok.encode(probe[:, None])[:, 1]
    assert (np.diff(ids) >= 0).all()
    assert ids.min() == tok.block_starts[0] + 1 and ids.max() == tok.block_starts[0] + 16


def test_bins_hold_equal_training_mass_and_ignore_monotone_transforms():
    x = np.random.default_rng(4).normal(size=(320, 1))
    tok = MetaFeatureTokenizer(["x"], PIPELINES, n_bins=32).fit(x)
    counts = np.bincount(tok.encode(x)[:, 1] - tok.block_starts[0] - 1, minlength=32)
    np.testing.assert_array_equal(counts, np.full(32, 10))
    assert tok.train_largest_bin_share_[0] == pytest.approx(10 / 320)
    # Quantile bins depend on order only: exp(x) tokenizes exactly like x.
    tok_exp = MetaFeatureTokenizer(["x"], PIPELINES, n_bins=32).fit(np.exp(x))
    np.testing.assert_array_equal(tok_exp.encode(np.exp(x)), tok.encode(x))


def test_edges_come_only_from_the_data_given_to_fit():
    rng = np.random.default_rng(5)
    train, shifted = rng.uniform(0, 1, (300, 1)), rng.uniform(10, 20, (300, 1))
    tok = MetaFeatureTokenizer(["x"], PIPELINES, n_bins=8).fit(train)
    edges = tok.bin_edges_[0].copy()
    assert 0 < edges.min() and edges.max() < 1
    # Values from another distribution are clipped into the last bin, not re-binned ...
    assert set(tok.encode(shifted)[:, 1]) == {tok.block_starts[0] + 8}
    np.testing.assert_array_equal(tok.bin_edges_[0], edges)  # ... and encode learns nothing.
    # Fitting on them instead spreads them over every bin.
    refit = MetaFeatureTokenizer(["x"], PIPELINES, n_bins=8).fit(shifted)
    assert len(set(refit.encode(shifted)[:, 1])) == 8


def test_discrete_feature_collapses_edges_and_encodes_consistently():
    values = np.repeat([0.0, 1.0, 2.0], [50, 30, 20])[:, None]
    tok = MetaFeatureTokenizer(["n_classes"], PIPELINES, n_bins=32).fit(values)
    np.testing.assert_array_equal(tok.bin_edges_[0], [0.5, 1.5])  # halfway, never on a value
    start = tok.block_starts[0]
    probe = np.array([[-3.0], [0.0], [1.0 - 1e-9], [1.0], [1.0 + 1e-9], [2.0], [7.0]])
    np.testing.assert_array_equal(tok.encode(probe)[:, 1], start + 1 + np.array(
        [0, 0, 1, 1, 1, 2, 2]))
    report = tok.vocabulary_report()
    assert report.loc[0, "effective_bins"] == 3
    assert report.loc[0, "largest_bin_share"] == pytest.approx(0.5)


def test_all_nan_feature_gets_no_edges():
    values = make_values(50)
    values[:, 1] = np.nan
    tok = MetaFeatureTokenizer(FEATURES, PIPELINES, n_bins=8).fit(values)
    assert tok.bin_edges_[1].size == 0
    start = tok.block_starts[1]
    assert tok.encode(values)[:, 2].tolist() == [start] * 50  # all missing
    assert tok.encode([1.0, 123.0, 1.0])[2] == start + 1  # a present value: bin 0
    row = tok.vocabulary_report().iloc[1]
    assert row["effective_bins"] == 1 and row["missing_share"] == 1.0
    assert np.isnan(row["min"]) and np.isnan(row["max"]) and np.isnan(row["largest_bin_share"])
    assert tok.to_dict()["train_min"][1] is None
    restored = MetaFeatureTokenizer.from_dict(json.loads(json.dumps(tok.to_dict())))
    np.testing.assert_array_equal(restored.encode(values), tok.encode(values))


def test_value_positions_lie_in_their_bins_and_leave_the_ids_alone(tokenizer):
    values = make_values(300, seed=8)
    ids_before = tokenizer.encode(values)
    positions = tokenizer.encode_values(values)
    assert positions.shape == ids_before.shape and positions.dtype == np.float64
    np.testing.assert_array_equal(tokenizer.encode(values), ids_before)  # ids unchanged
    assert ((positions >= 0) & (positions <= 1)).all()
    assert (positions[:, 0] == 0).all()  # [CLS]
    missing = ~np.isfinite(values)
    assert missing.any() and (positions[:, 1:][missing] == 0).all()
    # Present values really spread over the bin (not all at one end).
    present = positions[:, 1:][~missing]
    assert 0.1 < present.mean() < 0.9 and present.std() > 0.1
    # One dataset as 1-D gives a 1-D row, the same as in a batch.
    np.testing.assert_array_equal(tokenizer.encode_values(values[3]), positions[3])


def test_value_positions_interpolate_between_the_edges():
    values = np.repeat([0.0, 1.0, 2.0], [50, 30, 20])[:, None]  # edges 0.5 and 1.5
    tok = MetaFeatureTokenizer(["n"], PIPELINES, n_bins=32).fit(values)
    probe = np.array([[-3.0], [0.0], [0.25], [0.5], [1.0], [1.25], [2.0], [7.0], [np.nan]])
    np.testing.assert_allclose(tok.encode_values(probe)[:, 1],
                               [0, 0, 0.5, 0, 0.5, 0.75, 1, 1, 0])  # ends clipped; NaN 0
    # A feature with one distinct training value: its only bin has no width, the middle.
    constant = MetaFeatureTokenizer(["c"], PIPELINES, n_bins=4).fit(np.full((5, 1), 3.0))
    assert constant.encode_values([[3.0], [9.0]])[:, 1].tolist() == [0.5, 0.5]


def test_value_positions_rise_with_the_value_inside_each_bin():
    rng = np.random.default_rng(9)
    train = rng.lognormal(0, 3, (400, 1))
    tok = MetaFeatureTokenizer(["x"], PIPELINES, n_bins=16).fit(train)
    probe = np.sort(np.concatenate([train[:, 0], rng.lognormal(0, 4, 2000)]))[:, None]
    ids, positions = tok.encode(probe)[:, 1], tok.encode_values(probe)[:, 1]
    # (bin, position) never decreases as the value grows: monotone within the feature.
    same_bin = np.diff(ids) == 0
    assert (np.diff(positions)[same_bin] >= 0).all()
    assert (np.diff(ids) >= 0).all()
    # Scale-free: a change of units moves the edges and the training range with the values.
    tok_scaled = MetaFeatureTokenizer(["x"], PIPELINES, n_bins=16).fit(train * 1000.0)
    np.testing.assert_allclose(tok_scaled.encode_values(probe * 1000.0), tok.encode_values(probe),
                               atol=1e-12)


def test_value_positions_survive_save_and_load(tokenizer, tmp_path):
    values = make_values(100, seed=10)
    restored = MetaFeatureTokenizer.load(tokenizer.save(tmp_path).parent)
    np.testing.assert_array_equal(restored.encode_values(values), tokenizer.encode_values(values))


def test_save_load_round_trip_is_exact(tokenizer, tmp_path):
    values = make_values(300, seed=6)
    path = tokenizer.save(tmp_path / "model")
    assert path == tmp_path / "model" / "tokenizer.json"
    text = path.read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    loaded = MetaFeatureTokenizer.load(tmp_path / "model")
    assert loaded.to_dict() == tokenizer.to_dict()
    assert loaded.to_dict()["version"] == TOKENIZER_VERSION
    for ours, theirs in zip(tokenizer.bin_edges_, loaded.bin_edges_, strict=True):
        assert ours.tobytes() == theirs.tobytes()  # bit-exact floats, not just close
    np.testing.assert_array_equal(loaded.encode(values), tokenizer.encode(values))
    pd.testing.assert_frame_equal(loaded.vocabulary_report(), tokenizer.vocabulary_report())


def test_load_from_a_directory_without_tokenizer_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="No tokenizer.json"):
        MetaFeatureTokenizer.load(tmp_path)


def test_from_dict_refuses_other_versions_and_broken_structure(tokenizer):
    d = tokenizer.to_dict()
    with pytest.raises(ValueError, match=r"version '0' is not supported.*reads version '1'"):
        MetaFeatureTokenizer.from_dict({**d, "version": "0"})
    with pytest.raises(ValueError, match="lacks keys.*'bin_edges'"):
        MetaFeatureTokenizer.from_dict({k: v for k, v in d.items() if k != "bin_edges"})
    with pytest.raises(ValueError, match="'bin_edges' must be a list of 3"):
        MetaFeatureTokenizer.from_dict({**d, "bin_edges": d["bin_edges"][:2]})
    with pytest.raises(ValueError, match="strictly increasing"):
        MetaFeatureTokenizer.from_dict({**d, "bin_edges": [[2.0, 1.0], [], []]})
    with pytest.raises(ValueError, match="'train_min' must be a list of 3"):
        MetaFeatureTokenizer.from_dict({**d, "train_min": [0.0]})


def test_methods_before_fit_raise_not_fitted():
    tok = MetaFeatureTokenizer(FEATURES, PIPELINES)
    for method in (lambda: tok.encode(np.zeros(3)), tok.to_dict, tok.vocabulary_report):
        with pytest.raises(NotFittedError):
            method()


def test_wrong_feature_count_names_both_counts(tokenizer):
    with pytest.raises(ValueError, match="Expected 3 features.*received 2"):
        tokenizer.encode(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="Expected 3 features.*received 5"):
        tokenizer.encode(np.zeros(5))
    with pytest.raises(ValueError, match="Expected 3 features.*received 4"):
        MetaFeatureTokenizer(FEATURES, PIPELINES).fit(np.zeros((10, 4)))


def test_bad_inputs_and_parameters_raise_at_use_not_at_construction():
    with pytest.raises(ValueError, match=r"shape \(n_datasets, n_features\), got shape \(3,\)"):
        MetaFeatureTokenizer(FEATURES, PIPELINES).fit(np.zeros(3))
    with pytest.raises(ValueError, match="at least one dataset"):
        MetaFeatureTokenizer(FEATURES, PIPELINES).fit(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="must be numeric"):
        MetaFeatureTokenizer(["a"], PIPELINES).fit([["x"]])
    bad = MetaFeatureTokenizer(["a", "a"], PIPELINES, n_bins=1)  # __init__ only stores
    assert bad.get_params()["n_bins"] == 1
    with pytest.raises(ValueError, match=r"feature_names must be unique.*\['a'\]"):
        bad.fit(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="n_bins must be an int >= 2.*got 1"):
        MetaFeatureTokenizer(["a"], PIPELINES, n_bins=1).fit(np.zeros((3, 1)))
    with pytest.raises(ValueError, match="sequence of str"):
        MetaFeatureTokenizer("abc", PIPELINES).fit(np.zeros((3, 3)))
    assert clone(MetaFeatureTokenizer(FEATURES, PIPELINES, n_bins=8)).n_bins == 8


def test_one_dataset_as_1d_gives_1d_ids(tokenizer):
    values = make_values(5, seed=7)
    row = tokenizer.encode(values[3])
    assert row.shape == (4,) and row.dtype == np.int64
    np.testing.assert_array_equal(row, tokenizer.encode(values)[3])


def test_decode(tokenizer):
    ids = tokenizer.encode(np.array([[np.nan, -1e9, 2.0]]))
    assert tokenizer.decode(ids[0]) == ["[CLS]", "size:nan", "ratio:b00", "flag:b02"]
    assert tokenizer.decode(ids) == [tokenizer.decode(ids[0])]
    assert tokenizer.decode(tokenizer.pipeline_token_id("knn")) == ["[PIPE:knn]"]
    assert tokenizer.decode([0, 1, 2, 3, 4]) == list(SPECIAL_TOKENS)
    with pytest.raises(ValueError, match=r"must lie in \[0, 33\].*got \[34, 99\]"):
        tokenizer.decode([3, 34, 99])
    with pytest.raises(ValueError, match=r"must lie in \[0, 33\].*got \[-1\]"):
        tokenizer.decode([-1])
    with pytest.raises(ValueError, match="must be integers"):
        tokenizer.decode([1.5])


def test_vocabulary_report_on_a_known_example():
    values = np.array([
        [1.0, 0.0, np.nan],
        [2.0, 0.0, np.nan],
        [3.0, 1.0, np.nan],
        [4.0, np.nan, np.nan],
    ])
    tok = MetaFeatureTokenizer(["a", "b", "c"], PIPELINES, n_bins=4).fit(values)
    report = tok.vocabulary_report()
    assert list(report.columns) == [
        "feature", "effective_bins", "missing_share", "min", "max", "largest_bin_share"]
    assert report["feature"].tolist() == ["a", "b", "c"]
    assert report["effective_bins"].tolist() == [4, 2, 1]
    np.testing.assert_allclose(report["missing_share"], [0.0, 0.25, 1.0])
    np.testing.assert_allclose(report["min"], [1.0, 0.0, np.nan])
    np.testing.assert_allclose(report["max"], [4.0, 1.0, np.nan])
    np.testing.assert_allclose(report["largest_bin_share"], [0.25, 2 / 3, np.nan])


def test_unknown_pipeline_name_lists_the_valid_ones(tokenizer):
    with pytest.raises(ValueError, match="Unknown pipeline 'svm'. Known pipelines: logreg, knn"):
        tokenizer.pipeline_token_id("svm")


def test_feature_block_rejects_bad_indices(tokenizer):
    for j in (-1, 3, 1.0):
        with pytest.raises(ValueError, match=r"int in \[0, 2\]"):
            tokenizer.feature_block(j)


def test_module_does_not_import_torch_or_pretrain():
    code = ("import sys, skllmselect.tokenizer; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'pretrain'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_real_corpus_train_split():
    columns = [f"mf.{name}" for name in METAFEATURE_NAMES]
    corpus = pd.read_parquet(CORPUS, columns=[*columns, "split"])
    train = corpus.loc[corpus["split"] == "train", columns].to_numpy(dtype=float)
    tok = MetaFeatureTokenizer(METAFEATURE_NAMES, PIPELINE_NAMES).fit(train)
    report = tok.vocabulary_report()
    assert len(report) == 73
    assert report["feature"].tolist() == list(METAFEATURE_NAMES)
    # Continuous meta-features fill the 32 bins; only counts and shares collapse.
    assert (report["effective_bins"] >= 16).mean() >= 0.8
    assert report["effective_bins"].median() >= 28
    assert (report["largest_bin_share"] < 0.75).all()
    ids = tok.encode(corpus[columns].to_numpy(dtype=float))
    assert ids.shape == (len(corpus), 74) and ids.max() < tok.vocab_size
