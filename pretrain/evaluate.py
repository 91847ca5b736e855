"""Selection quality: ranking metrics, meta-learning baselines, perplexity, generalisation.

Everything here is a small function or estimator; ``benchmarks/selection.py`` strings them
together on the 55 UCI datasets and on the corpus test split.

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

Baselines share one interface: ``fit(meta_train, scores_train)`` then ``rank(meta)`` ->
(n, P) ranking, and ``predict_scores(meta)`` -> (n, P) where the method predicts scores.
Random choice is not evaluated from sampled rankings: its expected metrics are computed
exactly (``expected_random_*``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import comb
from scipy.stats import rankdata
from sklearn.base import BaseEstimator
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.preprocessing import RobustScaler, StandardScaler
from sklearn.utils.validation import check_is_fitted

from skllmselect.metafeatures import METAFEATURE_NAMES
from skllmselect.portfolio import PIPELINE_NAMES

#: Two scores closer than this are a tie (a hit counts any pipeline tied with the best).
TIE_TOLERANCE = 1e-9


# ---------------------------------------------------------------------------------- arrays


@dataclass
class SelectionTable:
    """One benchmark's arrays, rows in table order (see :func:`selection_table`)."""

    datasets: list[str]
    groups: pd.DataFrame
    """Per dataset: ``source``, ``domain`` (and ``split`` where the table has one)."""
    metafeatures: np.ndarray
    """(n, F) float64, NaN where a meta-feature is missing."""
    scores: np.ndarray
    """(n, P) the protocol's score (chance level where the pipeline failed)."""
    ok: np.ndarray
    """(n, P) bool, True where the pipeline's status is "ok"."""
    fit_times: np.ndarray
    """(n, P) seconds the protocol spent on the pipeline (0 where none was measured)."""
    eligible: np.ndarray | None = None
    """(n, P) bool, False where a pipeline cannot fit the protocol's folds (known from the
    labels, :func:`skllmselect.portfolio.unmet_requirements`); None when the labels are not
    at hand. Every method's ranking puts those pipelines last, as the selector does."""

    def __len__(self) -> int:
        return len(self.datasets)

    def subset(self, rows) -> SelectionTable:
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        return SelectionTable(
            datasets=[self.datasets[i] for i in rows],
            groups=self.groups.iloc[rows].reset_index(drop=True),
            metafeatures=self.metafeatures[rows], scores=self.scores[rows],
            ok=self.ok[rows], fit_times=self.fit_times[rows],
            eligible=None if self.eligible is None else self.eligible[rows])


def selection_table(frame: pd.DataFrame) -> SelectionTable:
    """Read a table in corpus layout (``corpus.parquet`` or ``corpus.benchmark_table``).

    Raises
    ------
    ValueError
        If a column is missing or a score is missing (the protocol always gives one).
    """
    needed = ([f"mf.{n}" for n in METAFEATURE_NAMES]
              + [f"{kind}.{p}" for kind in ("score", "status", "fit_time")
                 for p in PIPELINE_NAMES])
    missing = [c for c in ["dataset", *needed] if c not in frame.columns]
    if missing:
        raise ValueError(f"The table lacks the columns {missing[:5]} ({len(missing)} in all); "
                         "expected the corpus layout of pretrain/corpus.py.")
    scores = frame[[f"score.{p}" for p in PIPELINE_NAMES]].to_numpy(dtype=np.float64)
    if not np.isfinite(scores).all():
        bad = frame["dataset"].to_numpy()[~np.isfinite(scores).all(axis=1)]
        raise ValueError(f"Missing scores for {list(bad[:5])}: the protocol gives every "
                         "(dataset, pipeline) a score (chance level when it failed).")
    meta = frame[[f"mf.{n}" for n in METAFEATURE_NAMES]].to_numpy(dtype=np.float64, copy=True)
    meta[~np.isfinite(meta)] = np.nan
    seconds = frame[[f"fit_time.{p}" for p in PIPELINE_NAMES]].to_numpy(dtype=np.float64)
    group_columns = [c for c in ("source", "domain", "split") if c in frame.columns]
    return SelectionTable(
        datasets=frame["dataset"].astype(str).tolist(),
        groups=frame[group_columns].astype(str).reset_index(drop=True),
        metafeatures=meta, scores=scores,
        ok=frame[[f"status.{p}" for p in PIPELINE_NAMES]].to_numpy() == "ok",
        fit_times=np.nan_to_num(seconds, nan=0.0))


# ---------------------------------------------------------------------------------- metrics


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


# ------------------------------------------------------------- random choice, exactly


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


# ---------------------------------------------------------------------- summaries


def bootstrap_indices(n: int, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """(n_resamples, n) row indices drawn with replacement; the same for the same seed,
    so statistics bootstrapped with one seed are paired across methods."""
    if n < 1:
        raise ValueError("Cannot bootstrap an empty sample.")
    return np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))


def bootstrap_ci(values, n_resamples: int = 1000, confidence: float = 0.95,
                 seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``values`` (NaN ignored) and its percentile bootstrap interval.

    Returns
    -------
    (mean, low, high) : tuple of float
        NaN everywhere if no value is finite.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}.")
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if not len(values):
        return math.nan, math.nan, math.nan
    means = values[bootstrap_indices(len(values), n_resamples, seed)].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(values.mean()), float(low), float(high)


def gap_closed(regret, sbs_regret) -> float:
    """Share of the single-best-to-oracle gap a method closes: ``1 - mean(regret) /
    mean(sbs_regret)`` (1 = oracle, 0 = as good as the SBS, < 0 = worse); NaN if the SBS
    has no regret to close."""
    sbs = float(np.mean(sbs_regret))
    return 1.0 - float(np.mean(regret)) / sbs if sbs > 0 else math.nan


def gap_closed_ci(regret, sbs_regret, n_resamples: int = 1000, confidence: float = 0.95,
                  seed: int = 0) -> tuple[float, float, float]:
    """:func:`gap_closed` and its paired bootstrap interval (datasets resampled jointly)."""
    regret, sbs = np.asarray(regret, np.float64), np.asarray(sbs_regret, np.float64)
    if regret.shape != sbs.shape:
        raise ValueError("regret and sbs_regret must be per-dataset values of the same datasets.")
    index = bootstrap_indices(len(regret), n_resamples, seed)
    sbs_means = sbs[index].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(sbs_means > 0, 1 - regret[index].mean(axis=1) / sbs_means, np.nan)
    ratios = ratios[np.isfinite(ratios)]
    alpha = (1 - confidence) / 2
    if not len(ratios):
        return gap_closed(regret, sbs), math.nan, math.nan
    low, high = np.quantile(ratios, [alpha, 1 - alpha])
    return gap_closed(regret, sbs), float(low), float(high)


#: Per-dataset metrics, in table order (regrets and MAE in points, costs in seconds).
METRICS = ("regret@1", "regret@3", "hit@1", "hit@3", "ndcg@5", "spearman", "fail@1",
           "fail@3", "cost@3_s", "mae")


def per_dataset_metrics(table: SelectionTable, ranking, predicted=None) -> dict[str, np.ndarray]:
    """Every metric of one method's ``ranking`` (and predicted scores) on ``table``."""
    s = table.scores
    values = {
        "regret@1": regret_at_k(s, ranking, 1), "regret@3": regret_at_k(s, ranking, 3),
        "hit@1": hit_at_k(s, ranking, 1), "hit@3": hit_at_k(s, ranking, 3),
        "ndcg@5": ndcg_at_k(s, ranking, 5), "spearman": spearman(s, ranking),
        "fail@1": fail_at_k(table.ok, ranking, 1), "fail@3": fail_at_k(table.ok, ranking, 3),
        "cost@3_s": cost_at_k(table.fit_times, ranking, 3),
        "mae": (score_mae(predicted, s) if predicted is not None
                else np.full(len(table), np.nan)),
    }
    return values


def random_per_dataset_metrics(table: SelectionTable) -> dict[str, np.ndarray]:
    """The exact expectation of :func:`per_dataset_metrics` under a uniform random ranking."""
    s = table.scores
    return {
        "regret@1": expected_random_regret_at_k(s, 1),
        "regret@3": expected_random_regret_at_k(s, 3),
        "hit@1": expected_random_hit_at_k(s, 1), "hit@3": expected_random_hit_at_k(s, 3),
        "ndcg@5": expected_random_ndcg_at_k(s, 5), "spearman": expected_random_spearman(s),
        "fail@1": expected_random_fail_at_k(table.ok, 1),
        "fail@3": expected_random_fail_at_k(table.ok, 3),
        "cost@3_s": expected_random_cost_at_k(table.fit_times, 3),
        "mae": np.full(len(table), np.nan),
    }


def oracle_per_dataset_metrics(table: SelectionTable) -> dict[str, np.ndarray]:
    """The virtual best: the true ranking; its cost is every pipeline's fit time."""
    values = per_dataset_metrics(table, ranking_from_scores(table.scores))
    values["cost@3_s"] = table.fit_times.sum(axis=1)  # it must run all of them to know
    return values


def summarize(per_method: dict[str, dict[str, np.ndarray]], *, sbs: str = "SBS",
              n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """One row per method: each metric's mean, CI low and CI high, plus the gap closed.

    Columns are a two-level index ``(metric, "mean" | "low" | "high")``; every interval is a
    percentile bootstrap over datasets with the same resamples for every method.
    """
    rows = {}
    for method, values in per_method.items():
        row = {}
        for metric in METRICS:
            mean, low, high = bootstrap_ci(values[metric], n_resamples, seed=seed)
            row[(metric, "mean")], row[(metric, "low")], row[(metric, "high")] = mean, low, high
        if sbs in per_method:
            mean, low, high = gap_closed_ci(values["regret@1"], per_method[sbs]["regret@1"],
                                            n_resamples, seed=seed)
            row[("gap_closed", "mean")], row[("gap_closed", "low")] = mean, low
            row[("gap_closed", "high")] = high
        row[("n", "mean")] = int(len(values["regret@1"]))
        rows[method] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame


# ---------------------------------------------------------------------------------- baselines


def _impute_median(meta_train: np.ndarray) -> np.ndarray:
    median = np.nanmedian(np.where(np.isfinite(meta_train), meta_train, np.nan), axis=0)
    return np.where(np.isfinite(median), median, 0.0)  # an all-missing column gets 0


def _fill(meta: np.ndarray, median: np.ndarray) -> np.ndarray:
    """Missing values -> the training median; magnitudes beyond float32 (in which
    scikit-learn's trees compute, and which a few real tables' meta-features reach) clipped."""
    from skllmselect.forest import as_tree_input

    meta = np.asarray(meta, dtype=np.float64)
    return as_tree_input(np.where(np.isfinite(meta), meta, median[None, :]))


def _check_training(meta, scores) -> tuple[np.ndarray, np.ndarray]:
    meta, scores = np.asarray(meta, np.float64), np.asarray(scores, np.float64)
    if meta.ndim != 2 or scores.ndim != 2 or len(meta) != len(scores) or not len(meta):
        raise ValueError(f"Expected meta (n, F) and scores (n, P) with the same n >= 1, got "
                         f"{meta.shape} and {scores.shape}.")
    if not np.isfinite(scores).all():
        raise ValueError("scores_train has missing values; every (dataset, pipeline) needs a "
                         "score (chance level where the pipeline failed).")
    return meta, scores


class RandomChoice(BaseEstimator):
    """A uniformly random ranking per dataset (sampled; the benchmark uses the exact
    expectation, :func:`random_per_dataset_metrics`)."""

    def __init__(self, random_state=0):
        self.random_state = random_state

    def fit(self, meta_train, scores_train):
        _, scores = _check_training(meta_train, scores_train)
        self.n_pipelines_ = scores.shape[1]
        return self

    def rank(self, meta):
        check_is_fitted(self)
        rng = np.random.default_rng(self.random_state)
        return np.argsort(rng.random((len(meta), self.n_pipelines_)), axis=1)


class SingleBest(BaseEstimator):
    """The same ranking everywhere: pipelines by mean training score (SBS first)."""

    def fit(self, meta_train, scores_train):
        _, scores = _check_training(meta_train, scores_train)
        self.mean_scores_ = scores.mean(axis=0)
        return self

    def predict_scores(self, meta):
        check_is_fitted(self)
        return np.tile(self.mean_scores_, (len(meta), 1))

    def rank(self, meta):
        return ranking_from_scores(self.predict_scores(meta))


class GreedyPortfolio(BaseEstimator):
    """A static portfolio built greedily: each next pipeline maximises the mean over training
    datasets of the best score among those picked so far (its first pick is the SBS)."""

    def fit(self, meta_train, scores_train):
        _, scores = _check_training(meta_train, scores_train)
        n, P = scores.shape
        order, best = [], np.full(n, -np.inf)
        for _ in range(P):
            gains = np.maximum(best[:, None], scores).mean(axis=0)
            gains[order] = -np.inf
            pick = int(np.argmax(gains))  # ties: the first in portfolio order
            order.append(pick)
            best = np.maximum(best, scores[:, pick])
        self.order_ = np.asarray(order)
        return self

    def rank(self, meta):
        check_is_fitted(self)
        return np.tile(self.order_, (len(meta), 1))


class NearestDatasets(BaseEstimator):
    """Average scores of the ``n_neighbors`` nearest training datasets (auto-sklearn 1.0's
    warm start): NaN meta-features imputed with the training median, scaled, L1 distance.

    Parameters
    ----------
    n_neighbors : int
    scaling : {"robust", "standard"}
    """

    def __init__(self, n_neighbors=10, scaling="robust"):
        self.n_neighbors = n_neighbors
        self.scaling = scaling

    def fit(self, meta_train, scores_train):
        meta, scores = _check_training(meta_train, scores_train)
        if self.scaling not in ("robust", "standard"):
            raise ValueError(f"scaling must be 'robust' or 'standard', got {self.scaling!r}.")
        if self.n_neighbors < 1:
            raise ValueError(f"n_neighbors must be >= 1, got {self.n_neighbors}.")
        self.median_ = _impute_median(meta)
        scaler = RobustScaler() if self.scaling == "robust" else StandardScaler()
        self.scaler_ = scaler.fit(_fill(meta, self.median_))
        self.points_ = self.scaler_.transform(_fill(meta, self.median_))
        self.scores_ = scores
        return self

    def neighbors(self, meta) -> np.ndarray:
        """(n, k) indices of the nearest training datasets, nearest first."""
        check_is_fitted(self)
        points = self.scaler_.transform(_fill(meta, self.median_))
        k = min(self.n_neighbors, len(self.points_))
        distance = np.abs(points[:, None, :] - self.points_[None, :, :]).sum(axis=2)
        return np.argsort(distance, axis=1, kind="stable")[:, :k]

    def predict_scores(self, meta):
        return self.scores_[self.neighbors(meta)].mean(axis=1)

    def rank(self, meta):
        return ranking_from_scores(self.predict_scores(meta))


class PerPipelineForest(BaseEstimator):
    """One multi-output random forest regressing every pipeline's score on the meta-features
    (missing values imputed with the training median)."""

    def __init__(self, n_estimators=100, min_samples_leaf=2, random_state=0):
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.random_state = random_state

    def fit(self, meta_train, scores_train, sample_weight=None):
        meta, scores = _check_training(meta_train, scores_train)
        self.median_ = _impute_median(meta)
        self.forest_ = RandomForestRegressor(
            n_estimators=self.n_estimators, min_samples_leaf=self.min_samples_leaf,
            max_features=0.5, random_state=self.random_state, n_jobs=1,
        ).fit(_fill(meta, self.median_), scores, sample_weight=sample_weight)
        return self

    def predict_scores(self, meta):
        check_is_fitted(self)
        return np.atleast_2d(self.forest_.predict(_fill(meta, self.median_)))

    def rank(self, meta):
        return ranking_from_scores(self.predict_scores(meta))


class PairwiseForest(BaseEstimator):
    """SATzilla-style pairwise cost-sensitive forests: for every pair of pipelines a random
    forest predicts which wins, each training dataset weighted by the score difference;
    pipelines are ranked by votes (ties broken by summed win probabilities)."""

    def __init__(self, n_estimators=10, min_samples_leaf=2, random_state=0):
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.random_state = random_state

    def fit(self, meta_train, scores_train):
        meta, scores = _check_training(meta_train, scores_train)
        self.median_ = _impute_median(meta)
        X = _fill(meta, self.median_)
        self.n_pipelines_ = scores.shape[1]
        self.models_ = {}
        for seed, (i, j) in enumerate(itertools.combinations(range(self.n_pipelines_), 2)):
            difference = scores[:, i] - scores[:, j]
            keep = np.abs(difference) > TIE_TOLERANCE  # a tie teaches nothing (weight 0)
            wins = difference[keep] > 0
            if not keep.any() or wins.all() or not wins.any():
                self.models_[(i, j)] = float(wins.mean()) if keep.any() else 0.5
                continue
            self.models_[(i, j)] = RandomForestClassifier(
                n_estimators=self.n_estimators, min_samples_leaf=self.min_samples_leaf,
                random_state=None if self.random_state is None else self.random_state + seed,
                n_jobs=1,
            ).fit(X[keep], wins, sample_weight=np.abs(difference[keep]))
        return self

    def win_probabilities(self, meta) -> np.ndarray:
        """(n, P, P): probability that pipeline i beats j (``p[:, j, i] = 1 - p[:, i, j]``)."""
        check_is_fitted(self)
        X = _fill(meta, self.median_)
        P = self.n_pipelines_
        p = np.full((len(X), P, P), 0.5)
        for (i, j), model in self.models_.items():
            if isinstance(model, float):
                win = np.full(len(X), model)
            else:
                win = model.predict_proba(X)[:, list(model.classes_).index(True)]
            p[:, i, j], p[:, j, i] = win, 1 - win
        return p

    def rank(self, meta):
        p = self.win_probabilities(meta)
        P = p.shape[1]
        off_diagonal = ~np.eye(P, dtype=bool)
        votes = ((p > 0.5) & off_diagonal).sum(axis=2)
        soft = np.where(off_diagonal, p, 0).sum(axis=2)
        # lexsort: last key first; best = most votes, then most probability mass
        return np.stack([np.lexsort((np.arange(P), -s, -v)) for v, s in zip(votes, soft,
                                                                              strict=True)])


class ModelScorer(BaseEstimator):
    """The pretrained transformer as a method: ``fit`` learns nothing (the model was trained
    on the corpus); scores and rankings come from
    :func:`skllmselect.prediction.predict_and_rank`, the estimator's own inference, one
    dataset (meta-feature vector) at a time.

    With ``residuals`` (the model's errors on its training datasets), the first ``k`` of each
    ranking are chosen as a set, as the selector does (:mod:`skllmselect.ranking`); without
    them, the ranking is by predicted score."""

    def __init__(self, network=None, tokenizer=None, residuals=None, k=3, forest=None):
        self.network = network
        self.tokenizer = tokenizer
        self.residuals = residuals
        self.k = k
        self.forest = forest

    def fit(self, meta_train=None, scores_train=None):
        if self.network is None or self.tokenizer is None:
            raise ValueError("ModelScorer needs network and tokenizer, e.g. "
                             "ModelScorer(*skllmselect.loading.load('bundled')).")
        self.is_fitted_ = True
        return self

    def _predictions(self, meta, eligible=None):
        from skllmselect.prediction import predict_and_rank

        check_is_fitted(self)
        meta = np.atleast_2d(np.asarray(meta, np.float64))
        self.network.eval()
        rows = [None] * len(meta) if eligible is None else eligible
        return [predict_and_rank(self.network, self.tokenizer, self.residuals, vector, self.k,
                                 eligible=ok, forest=self.forest)
                for vector, ok in zip(meta, rows, strict=True)]

    def predict_scores(self, meta):
        return np.stack([p.scores for p in self._predictions(meta)])

    def predict_uncertainty(self, meta):
        """The model's standard deviation of each predicted score, (n, P)."""
        return np.stack([p.uncertainty for p in self._predictions(meta)])

    def rank(self, meta, eligible=None):
        return np.stack([p.order for p in self._predictions(meta, eligible)])


def put_ineligible_last(ranking, eligible) -> np.ndarray:
    """Each row of ``ranking`` with its ineligible pipelines moved to the end, order kept."""
    from skllmselect.ranking import ineligible_last

    ranking = np.asarray(ranking)
    if eligible is None:
        return ranking
    return np.stack([ineligible_last(row, ok) for row, ok in zip(ranking, eligible, strict=True)])


def _rank(method, table: SelectionTable) -> np.ndarray:
    """The method's ranking of ``table``, pipelines that cannot fit its folds last."""
    if isinstance(method, ModelScorer):
        return method.rank(table.metafeatures, eligible=table.eligible)
    return put_ineligible_last(method.rank(table.metafeatures), table.eligible)


def cheap_baselines(random_state: int = 0) -> dict[str, BaseEstimator]:
    """The baselines trained from the corpus alone (everything but the model and oracle)."""
    return {
        "SBS": SingleBest(),
        "greedy portfolio": GreedyPortfolio(),
        "kNN (L1, k=10)": NearestDatasets(n_neighbors=10, scaling="robust"),
        "RF regression": PerPipelineForest(random_state=random_state),
        "pairwise RF": PairwiseForest(random_state=random_state),
    }


def evaluate_methods(train: SelectionTable, test: SelectionTable, methods: dict,
                     *, with_random: bool = True, with_oracle: bool = True,
                     weights: dict | None = None) -> tuple[dict, dict]:
    """Fit each method on ``train``, score it on ``test``.

    ``weights`` maps a method name to per-training-dataset weights for its ``fit``
    (``sample_weight``), e.g. to count real tables more than synthetic ones.

    Returns
    -------
    per_method : dict
        method -> :func:`per_dataset_metrics` (random choice and oracle included by default).
    predictions : dict
        method -> (n, P) predicted scores, for the methods that predict them (the SBS
        "predicts" the training mean of each pipeline: the reference for the score MAE).
    """
    per_method, predictions = {}, {}
    if with_random:
        per_method["random (expected)"] = random_per_dataset_metrics(test)
    for name, method in methods.items():
        if weights and name in weights:
            method.fit(train.metafeatures, train.scores, sample_weight=weights[name])
        else:
            method.fit(train.metafeatures, train.scores)
        predicted = None
        if hasattr(method, "predict_scores"):
            predicted = method.predict_scores(test.metafeatures)
            predictions[name] = predicted
        per_method[name] = per_dataset_metrics(test, _rank(method, test), predicted)
    if with_oracle:
        per_method["oracle"] = oracle_per_dataset_metrics(test)
    return per_method, predictions


def leave_one_group_out(table: SelectionTable, column: str, methods_factory,
                        *, min_size: int = 1) -> dict[str, dict]:
    """Train on every other group of ``table.groups[column]``, test on the held-out one.

    Returns ``{group: per_method}`` (see :func:`evaluate_methods`), for groups with at least
    ``min_size`` datasets; ``methods_factory()`` gives fresh, unfitted methods for each fold.
    """
    labels = table.groups[column].to_numpy()
    out = {}
    for group in sorted(set(labels)):
        held = labels == group
        if held.sum() < min_size or held.all():
            continue
        out[group], _ = evaluate_methods(table.subset(~held), table.subset(held),
                                         methods_factory())
    return out


# ---------------------------------------------------------------------------------- perplexity


def masked_perplexity(network, tokenizer, metafeatures, *, train_metafeatures=None,
                      mlm_probability: float = 0.15, seed: int = 0) -> dict:
    """Masked-token perplexity of the model's token head on held-out datasets.

    The mask comes from :class:`pretrain.data.Collator` (the training code's masking) with a
    fixed ``seed``; the loss is the cross-entropy of ``token_logits`` at the masked
    positions. With ``train_metafeatures``, the same masked tokens are also scored by a
    per-position unigram (each feature's bin frequencies on train, add-one smoothed within
    the feature's block), the perplexity of a model that ignores the other meta-features.
    """
    import torch

    from pretrain.batches import Collator, Split

    meta = np.asarray(metafeatures, np.float64)
    n, P = len(meta), tokenizer.n_pipelines
    empty = np.zeros((n, P))
    split = Split(name="heldout", datasets=[str(i) for i in range(n)], metafeatures=meta,
                  scores=empty, score_mask=empty.astype(bool), log_fit_times=empty,
                  fit_time_mask=empty.astype(bool), input_ids=tokenizer.encode(meta))
    collator = Collator(tokenizer, architecture=network.config.architecture,
                        mlm_probability=mlm_probability, mask_missing=network.config.mask_missing)
    batch = collator(split, np.arange(n), seed=seed)
    network.eval()
    with torch.no_grad():
        out = network(batch["masked_input_ids"], batch["attention_mask"])
    labels = batch["token_labels"]
    chosen = labels != -100
    nll = torch.nn.functional.cross_entropy(
        out.token_logits.float()[chosen], labels[chosen], reduction="sum")
    count = int(chosen.sum())
    result = {"n_datasets": n, "n_masked_tokens": count,
              "mlm_probability": mlm_probability, "seed": seed,
              "perplexity": math.exp(float(nll) / count) if count else math.nan}
    if train_metafeatures is not None and count:
        train_ids = tokenizer.encode(np.asarray(train_metafeatures, np.float64))
        rows, positions = np.nonzero(chosen.numpy())
        total = 0.0
        for row, position in zip(rows, positions, strict=True):
            start, stop = tokenizer.feature_block(int(position) - 1)
            column = train_ids[:, position]
            counts = np.bincount(column - start, minlength=stop - start) + 1.0
            total -= math.log(counts[int(labels[row, position]) - start] / counts.sum())
        result["unigram_perplexity"] = math.exp(total / count)
    return result
