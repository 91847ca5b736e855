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

import logging
import time
from collections.abc import Callable, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.metrics import get_scorer

from skllmselect import candidates
from skllmselect.calibration import TemperatureScaling, decision_columns, in_class_columns

# fit's steps are logged under the estimator's logger name, wherever their code lives.
_log = logging.getLogger("skllmselect.selector")

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
    return in_class_columns(own, estimator.classes_, classes, 0.0)


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


# ------------------------------------------------------------------------ forming it in fit


def form(tried, best, winner, X, y, cv, sample_weight, scoring, classes, *,
         deadline=None, clock=time.perf_counter):
    """Greedy ensemble selection over the tried candidates' out-of-fold probabilities.

    ``tried``: fit's candidate records (``skllmselect.candidates``); ``best``: the winner's
    record, and ``winner`` its ``(estimator, calibration)``, refitted already. The members
    other than the winner are refitted on all rows (one whose refit fails is left out, with
    a note, and the score recomputed without it). With a ``deadline`` (a reading of
    ``clock``: ``time_budget``), an ensemble whose refits, each as long as the member's fold
    fits scaled to all rows, would end past it is not formed.

    Returns ``(ensemble, score, weights, refit_time)``: the :class:`EnsembleClassifier` and
    its cross-validated score (None, None when the selection keeps the winner alone), each
    tried candidate's weight in ``tried`` order, and the seconds the members' refits took.
    """
    ok = [i for i, r in enumerate(tried) if r["status"] == "ok" and r.get("fold_proba")]
    weights, refit_time = np.zeros(len(tried)), 0.0
    if len(ok) < 2:
        return None, None, weights, refit_time
    calibrations = {i: None if tried[i]["proba_kind"] == "proba" else
                    TemperatureScaling(classes).fit(*tried[i]["out_of_fold"]) for i in ok}
    probabilities = [tried[i]["fold_proba"] if calibrations[i] is None else
                     [calibrations[i].predict_proba(d) for d in tried[i]["fold_proba"]]
                     for i in ok]
    folds = [(candidates.rows(X, test), y[test],
              None if sample_weight is None else sample_weight[test])
             for _, test in cv.split(X, y)]
    scorer = get_scorer(scoring) if isinstance(scoring, str) else scoring
    score = fold_scorer(scoring, scorer, classes, folds)
    counts, ensemble_score = select(probabilities, score)
    if deadline is not None:
        n_splits = len(folds)
        refits = sum(candidates.refit_reserve([tried[ok[j]]], n_splits)
                     for j in np.flatnonzero(counts) if tried[ok[j]] is not best)
        if clock() + refits > deadline:
            return None, None, weights, refit_time
    members = {}
    for j in np.flatnonzero(counts):
        record = tried[ok[j]]
        if record is best:
            members[j] = winner
            continue
        _log.info("refitting %s on all rows (ensemble member)", record["pipeline"])
        tick = clock()
        try:
            estimator = candidates.fit_pipeline(clone(record["estimator"]), X, y,
                                                sample_weight)
        except Exception as err:  # leave it out, say why
            record["note"] = (f"left out of the ensemble: its refit on all rows failed: "
                              f"{type(err).__name__}: {err}")
            counts[j] = 0
            continue
        refit_time += clock() - tick
        members[j] = (estimator, calibrations[ok[j]])
    if len(members) < 2:
        return None, None, weights, refit_time
    if counts.sum() != sum(counts[j] for j in members):  # a member was left out: rescore
        kept = [probabilities[j] for j in members]
        mixed = [sum(counts[j] * p[f] for j, p in zip(members, kept, strict=True))
                 / counts.sum() for f in range(len(folds))]
        ensemble_score = float(np.mean([score(f, mixed[f]) for f in range(len(folds))]))
    share = counts / counts.sum()
    ensemble = EnsembleClassifier(
        [tried[ok[j]]["pipeline"] for j in members], [m[0] for m in members.values()],
        [m[1] for m in members.values()], [share[j] for j in members], classes)
    weights[[ok[j] for j in members]] = [share[j] for j in members]
    return ensemble, float(ensemble_score), weights, refit_time
