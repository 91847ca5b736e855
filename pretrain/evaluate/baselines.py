"""Meta-learning baselines: random, single best, greedy portfolio, kNN, per-pipeline and
pairwise forests, and the shipped model as a scorer (:class:`ModelScorer`).

Baselines share one interface: ``fit(meta_train, scores_train)`` then ``rank(meta)`` ->
(n, P) ranking, and ``predict_scores(meta)`` -> (n, P) where the method predicts scores.
Random choice is not evaluated from sampled rankings: its expected metrics are computed
exactly (``expected_random_*``).
"""

from __future__ import annotations

import itertools

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.ensemble import ExtraTreesRegressor, RandomForestClassifier, RandomForestRegressor
from sklearn.preprocessing import RobustScaler, StandardScaler
from sklearn.utils.validation import check_is_fitted

from pretrain.evaluate.metrics import TIE_TOLERANCE, ranking_from_scores


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
    (missing values imputed with the training median). ``extra_trees``: extremely randomized
    trees instead (tried as the shipped forest's alternative, docs/decisions.md)."""

    def __init__(self, n_estimators=100, min_samples_leaf=2, random_state=0, extra_trees=False):
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.random_state = random_state
        self.extra_trees = extra_trees

    def fit(self, meta_train, scores_train, sample_weight=None):
        meta, scores = _check_training(meta_train, scores_train)
        self.median_ = _impute_median(meta)
        forest = ExtraTreesRegressor if self.extra_trees else RandomForestRegressor
        self.forest_ = forest(
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
        from skllmselect.numpy_network import as_numpy_network
        from skllmselect.prediction import predict_and_rank

        check_is_fitted(self)
        meta = np.atleast_2d(np.asarray(meta, np.float64))
        network = as_numpy_network(self.network)  # converted once, not once per vector
        rows = [None] * len(meta) if eligible is None else eligible
        return [predict_and_rank(network, self.tokenizer, self.residuals, vector, self.k,
                                 eligible=ok, forest=self.forest)
                for vector, ok in zip(meta, rows, strict=True)]

    def predict_scores(self, meta):
        return np.stack([p.scores for p in self._predictions(meta)])

    def predict_uncertainty(self, meta):
        """The model's standard deviation of each predicted score, (n, P)."""
        return np.stack([p.uncertainty for p in self._predictions(meta)])

    def rank(self, meta, eligible=None):
        return np.stack([p.order for p in self._predictions(meta, eligible)])

def cheap_baselines(random_state: int = 0) -> dict[str, BaseEstimator]:
    """The baselines trained from the corpus alone (everything but the model and oracle)."""
    return {
        "SBS": SingleBest(),
        "greedy portfolio": GreedyPortfolio(),
        "kNN (L1, k=10)": NearestDatasets(n_neighbors=10, scaling="robust"),
        "RF regression": PerPipelineForest(random_state=random_state),
        "pairwise RF": PairwiseForest(random_state=random_state),
    }
