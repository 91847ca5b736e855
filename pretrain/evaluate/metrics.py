"""Selection metrics of a ranking: regret@k, hit@k, NDCG, Spearman, failures, cost, score
MAE, the gap closed, and the exact expectations of random choice.

Conventions
-----------
- ``scores_true`` (n, P): the protocol's score of every pipeline on every dataset (balanced
  accuracy; a failed or timed-out pipeline holds the chance level 1 / n_classes, which is
  what a user who picked it would get, so it is never masked).
- ``ranking`` (n, P) int: pipeline indices, best first (a permutation per row).
- A metric takes one dataset (1-D arrays) and returns a float, or n datasets (2-D arrays)
  and returns an (n,) array of per-dataset values; :func:`bootstrap_ci` summarises those.
- Regrets are in points of balanced accuracy: ``100 * (oracle score - best true score in
  the top k)``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import comb
from scipy.stats import rankdata

#: Two scores closer than this are a tie (a hit counts any pipeline tied with the best).
TIE_TOLERANCE = 1e-9


def _rows(scores_true, ranking=None):
    """2-D float scores (and int ranking), and whether the input was one dataset."""
    scores = np.asarray(scores_true, dtype=np.float64)
    single = scores.ndim == 1
    scores = np.atleast_2d(scores)
    if ranking is None:
        return scores, None, single
    ranking = np.atleast_2d(np.asarray(ranking))
    if ranking.shape != scores.shape:
        raise ValueError(f"ranking has shape {ranking.shape}, scores_true {scores.shape}; "
                         "pass one full ranking (P pipeline indices) per dataset.")
    return scores, ranking.astype(np.int64), single


def _out(values: np.ndarray, single: bool):
    return float(values[0]) if single else values


def _check_k(k: int, n_pipelines: int) -> None:
    if not 1 <= k <= n_pipelines:
        raise ValueError(f"k must be in [1, {n_pipelines}] (the number of pipelines), got {k}.")


def ranking_from_scores(scores) -> np.ndarray:
    """Pipelines by decreasing score, ties in portfolio order: (n, P) or (P,) int."""
    scores = np.asarray(scores, dtype=np.float64)
    return np.argsort(-scores, axis=-1, kind="stable")


def regret_at_k(scores_true, ranking, k: int = 1):
    """Points lost against the oracle by the best of the top ``k``: ``100 * (max - best@k)``."""
    scores, ranking, single = _rows(scores_true, ranking)
    _check_k(k, scores.shape[1])
    best_k = np.take_along_axis(scores, ranking[:, :k], axis=1).max(axis=1)
    return _out(100.0 * (scores.max(axis=1) - best_k), single)


def hit_at_k(scores_true, ranking, k: int = 1):
    """1.0 where the top ``k`` holds a pipeline tied with the best score, else 0.0."""
    scores, ranking, single = _rows(scores_true, ranking)
    _check_k(k, scores.shape[1])
    best_k = np.take_along_axis(scores, ranking[:, :k], axis=1).max(axis=1)
    return _out((best_k >= scores.max(axis=1) - TIE_TOLERANCE).astype(np.float64), single)


def ndcg_gains(scores_true) -> np.ndarray:
    """The NDCG gain of each pipeline: its score min-max scaled within the dataset.

    The worst pipeline gains 0 and the best 1, so NDCG measures the ordering among this
    dataset's pipelines rather than how high balanced accuracy is on it (raw scores of 0.7
    to 0.9 would put every ranking's NDCG near 1). A dataset where all scores tie gains 1
    everywhere (any ranking is ideal).
    """
    scores = np.atleast_2d(np.asarray(scores_true, dtype=np.float64))
    low, high = scores.min(axis=1, keepdims=True), scores.max(axis=1, keepdims=True)
    spread = high - low
    return np.where(spread > TIE_TOLERANCE, (scores - low) / np.where(spread > 0, spread, 1), 1.0)


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def ndcg_at_k(scores_true, ranking, k: int = 5):
    """Normalised discounted cumulative gain of the top ``k`` (gains: :func:`ndcg_gains`)."""
    scores, ranking, single = _rows(scores_true, ranking)
    _check_k(k, scores.shape[1])
    gains = ndcg_gains(scores)
    discount = _discounts(k)
    dcg = (np.take_along_axis(gains, ranking[:, :k], axis=1) * discount).sum(axis=1)
    ideal = (-np.sort(-gains, axis=1)[:, :k] * discount).sum(axis=1)
    return _out(dcg / ideal, single)


def spearman(scores_true, ranking):
    """Spearman correlation of the ranking's order with the true scores (ties averaged).

    NaN for a dataset whose true scores are all equal (no order to agree with).
    """
    scores, ranking, single = _rows(scores_true, ranking)
    n, P = scores.shape
    position = np.empty_like(ranking)
    np.put_along_axis(position, ranking, np.arange(P)[None, :].repeat(n, axis=0), axis=1)
    predicted = (P - position).astype(np.float64)  # higher = ranked better
    true = rankdata(scores, axis=1)
    values = np.full(n, np.nan)
    for i in range(n):
        if np.ptp(true[i]) > 0:
            values[i] = np.corrcoef(predicted[i], true[i])[0, 1]
    return _out(values, single)


def fail_at_k(ok, ranking, k: int = 1):
    """Share of the top ``k`` picks that failed or timed out on the dataset."""
    ok = np.asarray(ok, dtype=bool)
    single = ok.ndim == 1
    ok, ranking = np.atleast_2d(ok), np.atleast_2d(np.asarray(ranking, dtype=np.int64))
    _check_k(k, ok.shape[1])
    return _out(1.0 - np.take_along_axis(ok, ranking[:, :k], axis=1).mean(axis=1), single)


def cost_at_k(fit_times, ranking, k: int = 3):
    """Seconds the protocol spent on the top ``k`` picks (the price of trying them)."""
    times = np.atleast_2d(np.asarray(fit_times, dtype=np.float64))
    single = np.asarray(fit_times).ndim == 1
    ranking = np.atleast_2d(np.asarray(ranking, dtype=np.int64))
    _check_k(k, times.shape[1])
    return _out(np.take_along_axis(times, ranking[:, :k], axis=1).sum(axis=1), single)


def score_mae(scores_predicted, scores_true):
    """Mean absolute error of predicted scores, in points (100 x balanced accuracy)."""
    predicted = np.asarray(scores_predicted, dtype=np.float64)
    true = np.asarray(scores_true, dtype=np.float64)
    if predicted.shape != true.shape:
        raise ValueError(f"scores_predicted has shape {predicted.shape}, scores_true "
                         f"{true.shape}; they must match.")
    return _out(100.0 * np.abs(np.atleast_2d(predicted) - np.atleast_2d(true)).mean(axis=1),
                true.ndim == 1)


def _prob_max_at(P: int, k: int) -> np.ndarray:
    """P(the i-th smallest of P items is the largest of a uniform k-subset), i = 0..P-1."""
    return comb(np.arange(P), k - 1) / comb(P, k)


def expected_random_regret_at_k(scores_true, k: int = 1):
    """:func:`regret_at_k` of a uniformly random ranking, in expectation (exact)."""
    scores, _, single = _rows(scores_true)
    _check_k(k, scores.shape[1])
    expected_best = np.sort(scores, axis=1) @ _prob_max_at(scores.shape[1], k)
    return _out(100.0 * (scores.max(axis=1) - expected_best), single)


def expected_random_hit_at_k(scores_true, k: int = 1):
    """:func:`hit_at_k` of a uniformly random ranking: ``1 - C(P - m, k) / C(P, k)``."""
    scores, _, single = _rows(scores_true)
    P = scores.shape[1]
    _check_k(k, P)
    m = (scores >= scores.max(axis=1, keepdims=True) - TIE_TOLERANCE).sum(axis=1)
    return _out(1.0 - comb(P - m, k) / comb(P, k), single)


def expected_random_ndcg_at_k(scores_true, k: int = 5):
    """:func:`ndcg_at_k` of a uniformly random ranking: every slot's expected gain is the mean."""
    scores, _, single = _rows(scores_true)
    _check_k(k, scores.shape[1])
    gains, discount = ndcg_gains(scores), _discounts(k)
    ideal = (-np.sort(-gains, axis=1)[:, :k] * discount).sum(axis=1)
    return _out(gains.mean(axis=1) * discount.sum() / ideal, single)


def expected_random_spearman(scores_true):
    """:func:`spearman` of a uniformly random ranking: 0 (NaN where the scores all tie)."""
    scores, _, single = _rows(scores_true)
    return _out(np.where(np.ptp(scores, axis=1) > 0, 0.0, np.nan), single)


def expected_random_fail_at_k(ok, k: int = 1):
    """:func:`fail_at_k` of a uniformly random ranking: the share of failed pipelines."""
    ok = np.asarray(ok, dtype=bool)
    _check_k(k, ok.shape[-1])
    return _out(1.0 - np.atleast_2d(ok).mean(axis=1), ok.ndim == 1)


def expected_random_cost_at_k(fit_times, k: int = 3):
    """:func:`cost_at_k` of a uniformly random ranking: ``k`` times the mean fit time."""
    times = np.asarray(fit_times, dtype=np.float64)
    _check_k(k, times.shape[-1])
    return _out(k * np.atleast_2d(times).mean(axis=1), times.ndim == 1)

def gap_closed(regret, sbs_regret) -> float:
    """Share of the single-best-to-oracle gap a method closes: ``1 - mean(regret) /
    mean(sbs_regret)`` (1 = oracle, 0 = as good as the SBS, < 0 = worse); NaN if the SBS
    has no regret to close."""
    sbs = float(np.mean(sbs_regret))
    return 1.0 - float(np.mean(regret)) / sbs if sbs > 0 else math.nan

def put_ineligible_last(ranking, eligible) -> np.ndarray:
    """Each row of ``ranking`` with its ineligible pipelines moved to the end, order kept."""
    from skllmselect.ranking import ineligible_last

    ranking = np.asarray(ranking)
    if eligible is None:
        return ranking
    return np.stack([ineligible_last(row, ok) for row, ok in zip(ranking, eligible, strict=True)])
