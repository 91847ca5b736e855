"""pretrain.evaluate: metrics on hand-made cases, exact random expectations, baselines."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import torch

from pretrain import evaluate as ev
from skllmselect.metafeatures import METAFEATURE_NAMES
from skllmselect.model import ModelConfig, SelectorTransformer
from skllmselect.portfolio import PIPELINE_NAMES
from skllmselect.tokenizer import MetaFeatureTokenizer

SCORES = np.array([0.5, 0.9, 0.7, 0.9, 0.6])  # pipelines 1 and 3 tie for best


# ------------------------------------------------------------------------------- metrics


def test_regret_and_hit_on_a_known_ranking():
    ranking = np.array([2, 0, 1, 4, 3])
    assert ev.regret_at_k(SCORES, ranking, 1) == pytest.approx(20.0)
    assert ev.regret_at_k(SCORES, ranking, 2) == pytest.approx(20.0)
    assert ev.regret_at_k(SCORES, ranking, 3) == pytest.approx(0.0)
    assert ev.hit_at_k(SCORES, ranking, 1) == 0.0
    assert ev.hit_at_k(SCORES, ranking, 3) == 1.0
    # a tie counts: pipeline 3 is as good as pipeline 1
    assert ev.hit_at_k(SCORES, np.array([3, 0, 1, 2, 4]), 1) == 1.0


def test_metrics_are_vectorised_over_datasets():
    scores = np.stack([SCORES, SCORES[::-1]])
    ranking = np.stack([np.arange(5), np.arange(5)])
    regrets = ev.regret_at_k(scores, ranking, 1)
    assert regrets.shape == (2,)
    np.testing.assert_allclose(regrets, [40.0, 30.0])


def test_ndcg_known_value_and_bounds():
    ideal = ev.ranking_from_scores(SCORES)
    assert ev.ndcg_at_k(SCORES, ideal, 5) == pytest.approx(1.0)
    # gains are min-max scaled: [0, 1, .5, 1, .25]
    ranking = np.array([0, 4, 2, 1, 3])
    discount = 1 / np.log2(np.arange(2, 7))
    dcg = np.dot([0, 0.25, 0.5, 1, 1], discount)
    best = np.dot([1, 1, 0.5, 0.25, 0], discount)
    assert ev.ndcg_at_k(SCORES, ranking, 5) == pytest.approx(dcg / best)
    assert ev.ndcg_at_k(np.full(5, 0.8), ranking, 3) == pytest.approx(1.0)  # all tie


def test_spearman_known_values():
    ideal = ev.ranking_from_scores(SCORES)
    distinct = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    assert ev.spearman(distinct, np.array([4, 3, 2, 1, 0])) == pytest.approx(1.0)
    assert ev.spearman(distinct, np.array([0, 1, 2, 3, 4])) == pytest.approx(-1.0)
    assert ev.spearman(SCORES, ideal) > 0.97  # ties in the truth keep it just below 1
    assert math.isnan(ev.spearman(np.full(5, 0.5), ideal))


def test_fail_cost_and_mae():
    ok = np.array([True, False, True, True, False])
    ranking = np.array([1, 0, 4, 2, 3])
    assert ev.fail_at_k(ok, ranking, 1) == 1.0
    assert ev.fail_at_k(ok, ranking, 3) == pytest.approx(2 / 3)
    assert ev.cost_at_k(np.arange(5.0), ranking, 3) == pytest.approx(1 + 0 + 4)
    assert ev.score_mae(SCORES + 0.01, SCORES) == pytest.approx(1.0)


def test_bad_k_and_shapes_are_refused():
    with pytest.raises(ValueError, match="k must be in"):
        ev.regret_at_k(SCORES, np.arange(5), 6)
    with pytest.raises(ValueError, match="ranking has shape"):
        ev.hit_at_k(SCORES, np.arange(4), 1)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_random_expectations_are_exact(k):
    """Averaging over every permutation gives the closed forms."""
    scores = np.array([0.5, 0.9, 0.7, 0.9, 0.6])
    ok = np.array([True, True, False, True, True])
    perms = np.array(list(itertools.permutations(range(5))))
    tiled = np.tile(scores, (len(perms), 1))
    assert ev.expected_random_regret_at_k(scores, k) == pytest.approx(
        ev.regret_at_k(tiled, perms, k).mean())
    assert ev.expected_random_hit_at_k(scores, k) == pytest.approx(
        ev.hit_at_k(tiled, perms, k).mean())
    assert ev.expected_random_ndcg_at_k(scores, k) == pytest.approx(
        ev.ndcg_at_k(tiled, perms, k).mean())
    assert ev.expected_random_fail_at_k(ok, k) == pytest.approx(
        ev.fail_at_k(np.tile(ok, (len(perms), 1)), perms, k).mean())
    assert ev.expected_random_spearman(scores) == pytest.approx(
        ev.spearman(tiled, perms).mean(), abs=1e-12)


def test_bootstrap_ci_contains_the_mean_and_is_seeded():
    values = np.random.default_rng(0).normal(3.0, 1.0, 200)
    mean, low, high = ev.bootstrap_ci(values, n_resamples=500, seed=1)
    assert low < mean < high
    assert mean == pytest.approx(values.mean())
    assert ev.bootstrap_ci(values, n_resamples=500, seed=1) == (mean, low, high)
    assert ev.bootstrap_ci(values, n_resamples=500, seed=2) != (mean, low, high)
    assert ev.bootstrap_ci(np.array([np.nan, 1.0, 1.0]))[:2] == (1.0, 1.0)
    assert all(math.isnan(v) for v in ev.bootstrap_ci(np.array([np.nan])))


def test_gap_closed():
    sbs = np.array([4.0, 2.0, 0.0])
    assert ev.gap_closed(np.zeros(3), sbs) == 1.0
    assert ev.gap_closed(sbs, sbs) == 0.0
    assert ev.gap_closed(np.array([1.0, 2.0, 0.0]), sbs) == pytest.approx(0.5)
    mean, low, high = ev.gap_closed_ci(np.array([1.0, 2.0, 0.0]), sbs, n_resamples=200)
    assert low <= mean <= high
    assert math.isnan(ev.gap_closed(sbs, np.zeros(3)))


# ------------------------------------------------------------------------------- baselines


def synthetic_table(n=160, seed=0):
    """Meta-features whose first column decides which of two pipeline groups wins."""
    rng = np.random.default_rng(seed)
    P = 6
    meta = rng.normal(size=(n, 3))
    side = meta[:, 0] > np.median(meta[:, 0])
    meta[rng.random(meta.shape) < 0.05] = np.nan
    meta[:, 0] = np.where(np.isnan(meta[:, 0]), np.where(side, 1.0, -1.0), meta[:, 0])
    scores = 0.6 + 0.02 * rng.random((n, P))
    scores[side, :3] += 0.2  # pipelines 0-2 win where feature 0 is positive, 3-5 elsewhere
    scores[~side, 3:] += 0.2
    scores[:, 0] += 0.01  # and pipeline 0 a little more often than the others
    return meta, scores


@pytest.mark.parametrize("method", [
    ev.RandomChoice(), ev.SingleBest(), ev.GreedyPortfolio(),
    ev.NearestDatasets(n_neighbors=5), ev.NearestDatasets(scaling="standard"),
    ev.PerPipelineForest(n_estimators=20), ev.PairwiseForest(n_estimators=5),
], ids=lambda m: type(m).__name__)
def test_every_baseline_fits_and_ranks(method):
    meta, scores = synthetic_table()
    ranking = method.fit(meta[:120], scores[:120]).rank(meta[120:])
    assert ranking.shape == (40, 6)
    assert (np.sort(ranking, axis=1) == np.arange(6)).all()  # a permutation per row
    if hasattr(method, "predict_scores"):
        assert method.predict_scores(meta[120:]).shape == (40, 6)


@pytest.mark.parametrize("method", [
    ev.NearestDatasets(n_neighbors=5), ev.PerPipelineForest(n_estimators=20),
    ev.PairwiseForest(n_estimators=5)], ids=lambda m: type(m).__name__)
def test_learned_baselines_beat_random_and_sbs_on_an_obvious_signal(method):
    meta, scores = synthetic_table()
    train, test = slice(0, 120), slice(120, None)
    ranking = method.fit(meta[train], scores[train]).rank(meta[test])
    learned = ev.regret_at_k(scores[test], ranking, 1).mean()
    sbs = ev.SingleBest().fit(meta[train], scores[train]).rank(meta[test])
    assert learned < 0.5 * ev.expected_random_regret_at_k(scores[test], 1).mean()
    assert learned < 0.5 * ev.regret_at_k(scores[test], sbs, 1).mean()


def test_greedy_portfolio_starts_with_the_sbs_and_complements_it():
    meta, scores = synthetic_table()
    greedy = ev.GreedyPortfolio().fit(meta, scores).order_
    assert greedy[0] == ev.SingleBest().fit(meta, scores).rank(meta[:1])[0, 0] == 0
    assert greedy[1] >= 3  # the second pick covers the other side


def test_baselines_refuse_missing_scores():
    meta, scores = synthetic_table(n=10)
    scores[0, 0] = np.nan
    with pytest.raises(ValueError, match="missing values"):
        ev.SingleBest().fit(meta, scores)
    with pytest.raises(ValueError, match="scaling must be"):
        ev.NearestDatasets(scaling="minmax").fit(*synthetic_table(n=10))


# ------------------------------------------------------------------------------- driver


def corpus_frame(n=60, seed=0):
    rng = np.random.default_rng(seed)
    F, P = len(METAFEATURE_NAMES), len(PIPELINE_NAMES)
    meta = rng.normal(size=(n, F))
    scores = 0.5 + 0.4 * rng.random((n, P))
    frame = pd.DataFrame(meta, columns=[f"mf.{m}" for m in METAFEATURE_NAMES])
    for j, p in enumerate(PIPELINE_NAMES):
        frame[f"score.{p}"] = scores[:, j]
        frame[f"status.{p}"] = np.where(rng.random(n) < 0.05, "failed", "ok")
        frame[f"fit_time.{p}"] = rng.random(n)
    frame["dataset"] = [f"d{i}" for i in range(n)]
    frame["source"] = np.where(np.arange(n) % 3 == 0, "a", "b")
    frame["domain"] = "x"
    return frame


def test_evaluate_methods_and_summary_table():
    table = ev.selection_table(corpus_frame())
    train, test = table.subset(np.arange(40)), table.subset(np.arange(40, 60))
    methods = {"SBS": ev.SingleBest(), "kNN": ev.NearestDatasets(n_neighbors=3)}
    per_method, predictions = ev.evaluate_methods(train, test, methods)
    assert list(per_method) == ["random (expected)", "SBS", "kNN", "oracle"]
    assert list(predictions) == ["SBS", "kNN"]
    summary = ev.summarize(per_method, n_resamples=100)
    assert summary.loc["oracle", ("regret@1", "mean")] == 0.0
    assert summary.loc["oracle", ("gap_closed", "mean")] == 1.0
    assert summary.loc["SBS", ("gap_closed", "mean")] == 0.0
    assert summary.loc["oracle", ("cost@3_s", "mean")] == pytest.approx(
        test.fit_times.sum(axis=1).mean())
    groups = ev.leave_one_group_out(table, "source", lambda: {"SBS": ev.SingleBest()})
    assert set(groups) == {"a", "b"}
    assert len(groups["a"]["SBS"]["regret@1"]) == 20


def test_selection_table_refuses_missing_scores():
    frame = corpus_frame(n=5)
    frame.loc[0, f"score.{PIPELINE_NAMES[0]}"] = np.nan
    with pytest.raises(ValueError, match="Missing scores"):
        ev.selection_table(frame)


@pytest.fixture
def tiny_model():
    F, P = len(METAFEATURE_NAMES), len(PIPELINE_NAMES)
    meta = np.random.default_rng(0).normal(size=(50, F))
    tokenizer = MetaFeatureTokenizer(list(METAFEATURE_NAMES), list(PIPELINE_NAMES), n_bins=4)
    tokenizer.fit(meta)
    torch.manual_seed(0)
    config = ModelConfig(
        vocab_size=tokenizer.vocab_size, sequence_length=tokenizer.sequence_length,
        n_pipelines=P, pipeline_token_offset=tokenizer.pipeline_token_offset,
        pad_id=tokenizer.pad_id, mask_id=tokenizer.mask_id, cls_id=tokenizer.cls_id,
        bos_id=tokenizer.bos_id, eos_id=tokenizer.eos_id,
        metafeature_names=list(METAFEATURE_NAMES), pipeline_names=list(PIPELINE_NAMES),
        tokenizer=tokenizer.to_dict(), d_model=16, n_layers=1, n_heads=2)
    return SelectorTransformer(config), tokenizer, meta


def test_model_scorer_and_perplexity(tiny_model):
    network, tokenizer, meta = tiny_model
    scorer = ev.ModelScorer(network, tokenizer).fit()
    assert scorer.predict_scores(meta[:7]).shape == (7, len(PIPELINE_NAMES))
    assert scorer.rank(meta[:7]).shape == (7, len(PIPELINE_NAMES))
    first = ev.masked_perplexity(network, tokenizer, meta[:20], train_metafeatures=meta,
                                 seed=3)
    assert first == ev.masked_perplexity(network, tokenizer, meta[:20],
                                         train_metafeatures=meta, seed=3)
    assert first["n_masked_tokens"] > 0
    assert 1 < first["unigram_perplexity"] <= 5 + 1e-9  # 4 bins + the missing token
    assert first["perplexity"] > 1
    with pytest.raises(ValueError, match="needs network and tokenizer"):
        ev.ModelScorer().fit()
