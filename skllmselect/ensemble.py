"""Greedy ensemble selection over the candidates ``fit`` cross-validated (Caruana et al., 2004).

``fit`` cross-validates several candidate pipelines on the same folds and, before this module,
kept only the best one. Their out-of-fold probabilities are a free validation set for an
ensemble: greedy selection with replacement (Caruana, Niculescu-Mizil, Crew and Ksikes,
"Ensemble selection from libraries of models", ICML 2004; auto-sklearn's ensemble builder)
starts from nothing and adds, round after round, the candidate whose probabilities most raise
the cross-validated score of the running average; a candidate may be added again, which raises
its weight. The ensemble kept is the best of these rounds (the earliest of equals), so it is
never worse on the folds than the single best candidate, which is its first round. Nothing is
fitted again for the selection; only the members with a weight are refitted on all rows.

The score of an ensemble is the ``scoring`` metric on each fold's test rows, averaged over the
folds, exactly like a candidate's ``mean_test_score``: for balanced accuracy and accuracy it is
computed here with numpy (the selection scores hundreds of averages), for any other scorer by
calling the scorer on a stand-in estimator that returns the averaged probabilities.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from skllmselect.calibration import decision_columns

# Rounds of greedy selection, and how many rounds without a better score end it early.
# auto-sklearn uses 50 rounds over hundreds of models; fit has at most a few dozen candidates,
# and a 25-round ensemble already resolves weights to 4 %.
ROUNDS = 25
PATIENCE = 5


# ------------------------------------------------------------------------ scoring a fold


def _fast_metric(name) -> Callable | None:
    """Balanced accuracy or accuracy of predicted label indices, as scikit-learn computes them."""

    def accuracy(target, predicted, weight):
        return float(np.sum(weight * (predicted == target)) / np.sum(weight))

    def balanced_accuracy(target, predicted, weight):
        # Recall of each class present (with a positive weight) in the true labels, averaged:
        # sklearn.metrics.balanced_accuracy_score (adjusted=False), which ignores the rest.
        n = int(max(target.max(), predicted.max())) + 1
        support = np.bincount(target, weights=weight, minlength=n)
        hits = np.bincount(target[predicted == target], weights=weight[predicted == target],
                           minlength=n)
        present = support > 0
        return float(np.mean(hits[present] / support[present]))

    return {"balanced_accuracy": balanced_accuracy, "accuracy": accuracy,
            None: accuracy}.get(name)


class _Averaged(ClassifierMixin, BaseEstimator):
    """A stand-in estimator that answers with given probabilities (for a scorer to read)."""

    def __init__(self, proba=None, classes=None):
        self.proba = proba
        self.classes = classes

    def __sklearn_is_fitted__(self):
        return True

    @property
    def classes_(self):
        return self.classes

    def predict_proba(self, X):
        if len(X) != len(self.proba):
            raise ValueError("the stand-in estimator answers for its own fold's rows only")
        return self.proba

    def predict(self, X):
        return self.classes[np.argmax(self.predict_proba(X), axis=1)]


def fold_scorer(scoring, scorer, classes, folds) -> Callable[[int, np.ndarray], float]:
    """``score(fold, proba)``: the ``scoring`` metric of probabilities on a fold's test rows.

    Parameters
    ----------
    scoring : str, callable or None
        The selector's ``scoring`` (names "balanced_accuracy", "accuracy" and None are
        computed with numpy; anything else through ``scorer``).
    scorer : callable
        ``check_scoring``'s scorer for it.
    classes : ndarray of shape (n_classes,)
    folds : list of (X_test, y_test, sample_weight_test or None)
        The test rows of each fold.
    """
    fast = _fast_metric(scoring) if isinstance(scoring, str) or scoring is None else None
    if fast is not None:
        targets = [np.searchsorted(classes, y) for _, y, _ in folds]
        weights = [np.ones(len(y)) if w is None else np.asarray(w, dtype=float)
                   for _, y, w in folds]

        def score(fold, proba):
            return fast(targets[fold], np.argmax(proba, axis=1), weights[fold])

        return score

    def score(fold, proba):
        X_test, y_test, weight = folds[fold]
        kwargs = {} if weight is None else {"sample_weight": weight}
        return float(scorer(_Averaged(proba, classes), X_test, y_test, **kwargs))

    return score


# ------------------------------------------------------------------------ the selection


def select(probabilities: Sequence[Sequence[np.ndarray]], score: Callable[[int, np.ndarray],
           float], rounds: int = ROUNDS, patience: int = PATIENCE) -> tuple[np.ndarray, float]:
    """Greedy selection with replacement; ``(counts, mean fold score)`` of the best round.

    Parameters
    ----------
    probabilities : list over candidates of lists over folds of arrays (n_test, n_classes)
        Each candidate's out-of-fold probabilities, the folds in the same order for all.
    score : callable
        ``score(fold, proba)`` (see :func:`fold_scorer`); higher is better.
    rounds, patience : int
        At most ``rounds`` additions; stop after ``patience`` rounds without a better score.

    Returns
    -------
    counts : ndarray of int, shape (n_candidates,)
        How many times each candidate was added (weights are counts / counts.sum()).
    score : float
        The ensemble's mean score over the folds (optimistic: chosen on those folds).

    Ties go to the earlier candidate, so put the candidates in ranking order.
    """
    n_candidates, n_folds = len(probabilities), len(probabilities[0])
    sums = [np.zeros_like(probabilities[0][f]) for f in range(n_folds)]
    counts = np.zeros(n_candidates, dtype=int)
    best_counts, best_score, since_best = counts, -np.inf, 0
    for round_ in range(1, rounds + 1):
        trial = [np.mean([score(f, (sums[f] + probabilities[j][f]) / round_)
                          for f in range(n_folds)]) for j in range(n_candidates)]
        pick = int(np.argmax(trial))  # first of ties
        counts = counts.copy()
        counts[pick] += 1
        for f in range(n_folds):
            sums[f] = sums[f] + probabilities[pick][f]
        if trial[pick] > best_score + 1e-12:
            best_counts, best_score, since_best = counts, float(trial[pick]), 0
        else:
            since_best += 1
            if since_best >= patience:
                break
    return best_counts, best_score


# ------------------------------------------------------------------------ the fitted ensemble


def member_proba(estimator, calibration, X, classes) -> np.ndarray:
    """One fitted pipeline's probabilities on X, one column per class of ``classes``.

    A pipeline without ``predict_proba`` has its decision values turned into probabilities
    by ``calibration`` (:class:`~skllmselect.calibration.TemperatureScaling`). A class the
    pipeline never saw gets probability 0.
    """
    if calibration is None:
        own = estimator.predict_proba(X)
    else:
        own = calibration.predict_proba(decision_columns(estimator, X))
    if np.array_equal(estimator.classes_, classes):
        return own
    proba = np.zeros((own.shape[0], len(classes)))
    proba[:, np.searchsorted(classes, estimator.classes_)] = own
    return proba


class EnsembleClassifier:
    """The weighted average of fitted pipelines' probabilities (``fit``'s ``ensemble_``).

    Parameters
    ----------
    names : list of str
        The members' pipeline names.
    estimators : list of fitted pipelines
    calibrations : list of TemperatureScaling or None
        For each member without ``predict_proba``, how its decision values become
        probabilities; None for the others.
    weights : ndarray of shape (n_members,)
        Positive, summing to 1.
    classes : ndarray of shape (n_classes,)
    """

    def __init__(self, names, estimators, calibrations, weights, classes):
        self.names = list(names)
        self.estimators = list(estimators)
        self.calibrations = list(calibrations)
        self.weights = np.asarray(weights, dtype=float)
        self.classes_ = np.asarray(classes)

    def predict_proba(self, X) -> np.ndarray:
        return sum(w * member_proba(e, c, X, self.classes_)
                   for w, e, c in zip(self.weights, self.estimators, self.calibrations,
                                      strict=True))

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __repr__(self) -> str:
        parts = ", ".join(f"{n}: {w:.2f}" for n, w in zip(self.names, self.weights, strict=True))
        return f"EnsembleClassifier({{{parts}}})"
