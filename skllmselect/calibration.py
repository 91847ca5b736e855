"""Probabilities for a winner that has none: temperature scaling of its out-of-fold decision values.

Ridge, LinearSVC and SVC have a ``decision_function`` but no ``predict_proba``. The candidates'
cross-validation already computed each fold's decision values on rows the fold did not train
on; fitting one temperature ``T`` to those (out-of-fold values, true labels) by log loss, and
applying ``softmax(decision / T)`` to the refitted winner's decision values, gives calibrated
probabilities without any extra fit (as ``CalibratedClassifierCV(ensemble=False)`` would, but
it would cross-validate the winner again).

Why one temperature rather than a sigmoid per class (Platt): a single positive scale keeps the
order of the decision values, so ``argmax(predict_proba) == predict`` for every winner whose
``predict`` is the argmax of its decision values (the linear models, and SVC save vote ties);
per-class sigmoids with intercepts can disagree with ``predict``, which scikit-learn's
estimator checks (and users) expect to agree.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

# Bounds of log(1 / T): a scale from about 1/3000 to 3000 of the decision values.
_LOG_SCALE_BOUNDS = (-8.0, 8.0)


def decision_columns(estimator, X) -> np.ndarray:
    """``estimator.decision_function(X)`` as one column per class of ``estimator.classes_``.

    A binary decision function gives one value (positive means ``classes_[1]``): it becomes
    the columns ``[0, d]``, whose softmax is ``sigmoid(d)``.
    """
    values = np.asarray(estimator.decision_function(X), dtype=float)
    if values.ndim == 1:
        values = np.column_stack([np.zeros_like(values), values])
    return values


def in_class_columns(values, own_classes, classes, fill) -> np.ndarray:
    """Columns of ``own_classes`` placed among those of ``classes`` (the rest ``fill``).

    For a model fitted on fewer classes than the data has (a fold without some class): its
    probabilities get 0, its decision values -inf, for the classes it never saw.
    """
    if np.array_equal(own_classes, classes):
        return np.asarray(values, dtype=float)
    out = np.full((len(values), len(classes)), fill, dtype=float)
    out[:, np.searchsorted(classes, own_classes)] = values
    return out


class TemperatureScaling:
    """``softmax(decision / temperature_)``, the temperature fitted by weighted log loss.

    Parameters
    ----------
    classes : ndarray of shape (n_classes,)
        The labels, in the order of the decision columns.
    """

    def __init__(self, classes):
        self.classes = np.asarray(classes)

    def fit(self, decision, y, sample_weight=None) -> TemperatureScaling:
        """Fit the temperature on decision columns (n, n_classes) and labels y (n,)."""
        decision = np.asarray(decision, dtype=float)
        target = np.searchsorted(self.classes, y)
        weight = np.ones(len(target)) if sample_weight is None else np.asarray(sample_weight,
                                                                                 dtype=float)
        rows = np.arange(len(target))

        def loss(log_scale):
            log_proba = log_softmax(decision * np.exp(log_scale), axis=1)
            return -np.sum(weight * log_proba[rows, target]) / max(weight.sum(), 1e-300)

        if len(target) == 0 or weight.sum() <= 0:
            self.temperature_ = 1.0  # nothing to learn from: the raw decision values
        else:
            best = minimize_scalar(loss, bounds=_LOG_SCALE_BOUNDS, method="bounded")
            self.temperature_ = float(np.exp(-best.x))
        return self

    def predict_log_proba(self, decision) -> np.ndarray:
        return log_softmax(np.asarray(decision, dtype=float) / self.temperature_, axis=1)

    def predict_proba(self, decision) -> np.ndarray:
        return np.exp(self.predict_log_proba(decision))

    def __repr__(self) -> str:
        temperature = getattr(self, "temperature_", None)
        return f"TemperatureScaling(temperature_={temperature})"
