"""A raw table -> the meta-feature vector the selector network reads: one path for all.

``LLMAlgorithmSelector.fit`` and ``recommend`` describe a table with :func:`describe`, and so
does ``pretrain``'s corpus (``pretrain.corpus.metafeature_record``): the vectors a model was
trained on and the vectors it reads at inference come from the same code, step by step:

1. the checks (:mod:`skllmselect.validation`), which refuse what no model can read;
2. the table's preparation (:func:`skllmselect.tabular.plan_table`): identifier, all-missing,
   date, time-delta and numbers-as-text columns, decided on all rows;
3. the rows described: at most ``CORPUS_MAX_ROWS`` labelled rows, a seeded stratified
   subsample keeping ``CORPUS_N_SPLITS`` rows per class (:mod:`skllmselect.sampling`; the
   ground-truth protocol scores the very same rows);
4. the meta-features (:func:`skllmselect.metafeatures.extract`, no time budget).

An earlier corpus skipped step 2 and the benchmark rebuilt inference from those vectors: on
real tables the two disagreed by 0.46 points of top-1 regret. ``tests/test_describe.py``
checks on every UCI table that the corpus path and the fitted estimator give the same vector.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from skllmselect.metafeatures import extract
from skllmselect.sampling import (
    CORPUS_EXTRACT_ARGS,
    CORPUS_MAX_ROWS,
    CORPUS_N_SPLITS,
    CORPUS_SEED,
    stratified_subsample,
)
from skllmselect.tabular import TablePlan, plan_table
from skllmselect.validation import check_finite, check_X, check_y


@dataclass
class Description:
    """A checked and prepared table; its meta-feature vector is computed on first use."""

    X_checked: pd.DataFrame | np.ndarray
    """The table as the checks passed it (before preparation): what ``fit`` records."""
    X: pd.DataFrame | np.ndarray
    """The prepared table (``plan.transform(X_checked)``): what the pipelines and the
    meta-features read."""
    y: np.ndarray
    """Class labels, one per row."""
    plan: TablePlan
    """What was done to each column, with notes for the user."""

    @cached_property
    def vector(self) -> np.ndarray:
        """The meta-feature vector (``METAFEATURE_NAMES`` order) of :attr:`X`, :attr:`y`."""
        return metafeature_vector(self.X, self.y)


def describe(X, y, *, estimator_name: str = "LLMAlgorithmSelector") -> Description:
    """Check and prepare a raw table (``Description.vector`` gives its meta-features).

    Parameters
    ----------
    X : array-like or pandas.DataFrame of shape (n_samples, n_features)
        Features as a user loads them.
    y : array-like of shape (n_samples,)
        Class labels: at least two classes, none missing.
    estimator_name : str, default="LLMAlgorithmSelector"
        Named in error messages.

    Returns
    -------
    Description

    Raises
    ------
    ValueError, TypeError
        What :mod:`skllmselect.validation` and :func:`~skllmselect.tabular.plan_table` refuse.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True, as_frame=True)
    >>> description = describe(X, y)
    >>> description.vector.shape
    (73,)
    """
    X = check_X(X)
    y = check_y(y, X.shape[0], estimator_name)
    check_finite(X)
    plan = plan_table(X)
    return Description(X_checked=X, X=plan.transform(X), y=y, plan=plan)


def metafeature_vector(X, y) -> np.ndarray:
    """The meta-features of a prepared table: the corpus's row cap, then ``extract``."""
    y = np.asarray(y)
    if X.shape[0] > CORPUS_MAX_ROWS:
        rows = stratified_subsample(y, CORPUS_MAX_ROWS, min_per_class=CORPUS_N_SPLITS,
                                    random_state=CORPUS_SEED)
        X = X.iloc[rows].reset_index(drop=True) if isinstance(X, pd.DataFrame) else X[rows]
        y = y[rows]
    return extract(X, y, **CORPUS_EXTRACT_ARGS)
