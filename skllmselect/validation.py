"""Input checks shared by every entry point: X and y as scikit-learn would check them, with
messages that name the column, the class or the fix.

One place for validation (scikit-learn keeps its own in ``sklearn/utils/validation.py``):
:func:`check_X`, :func:`check_y` and :func:`check_finite` run in ``fit``, ``recommend`` and
``predict``, and in :func:`skllmselect.describe.describe`, the path the training corpus uses.
The checks of ``fit`` alone (its parameters, its folds) and of ``predict``'s X follow them.
"""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from skllmselect.tabular import LARGEST_VALUE, check_unique_columns, fill_missing_categories


def check_X(X):
    """Return X as a DataFrame (kept as it is, dtypes intact) or a 2-D numpy array.

    Nothing is converted to numbers here: the portfolio's preprocessing and the meta-features
    both read numeric, categorical, boolean and missing values themselves.
    """
    if isinstance(X, pd.DataFrame):
        n_rows, n_cols = X.shape
        if n_cols == 0:
            raise ValueError(
                f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 is "
                "required. X has no columns: pass at least one feature column."
            )
        if n_rows == 0:
            raise ValueError(
                f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is "
                "required. X has no rows: pass a non-empty table."
            )
        check_unique_columns(X)
        return X
    # dtype=None keeps object and string arrays (categorical columns) as they are; NaN is
    # allowed (imputed), +-inf is refused by check_finite with a message naming the column.
    return check_array(X, accept_sparse=False, dtype=None, ensure_all_finite=False,
                       ensure_2d=True, allow_nd=False, input_name="X")


# Beyond float32's range (tabular.LARGEST_VALUE), in which scikit-learn's trees compute (the
# scalers' squares overflow from about 1e154 on, and liblinear then loops on the unscaled
# values), a number is refused as infinity is.


def _magnitude(values: np.ndarray) -> float:
    """The largest magnitude among a column's numbers (inf for infinity, 0 for none).

    Text is not a number here: the string "inf" is a category, not infinity.
    """
    if values.dtype.kind in "fc":
        with np.errstate(invalid="ignore"):
            return float(np.nanmax(np.abs(values), initial=0.0))
    if values.dtype.kind != "O":
        return 0.0
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("floating", "mixed-integer-float", "integer", "decimal"):
        numbers = [v for v in values if not pd.isna(v)]
    elif kind == "mixed":  # numbers among other objects: look at each value
        numbers = [v for v in values if isinstance(v, int | float | np.integer | np.floating)
                   and not isinstance(v, bool | np.bool_) and not pd.isna(v)]
    else:
        return 0.0
    largest = 0.0
    for v in numbers:
        try:
            largest = max(largest, abs(float(v)))
        except (OverflowError, TypeError, ValueError):  # an int beyond float64
            return math.inf
    return largest


def check_finite(X) -> None:
    """Refuse +-inf and magnitudes beyond float32 in feature columns, naming them.

    NaN is a missing value (imputed); infinity, or a number no model can compute with, is
    not. The same check runs in fit, recommend and predict.
    """
    if isinstance(X, pd.DataFrame):
        columns = []
        for position, label in enumerate(X.columns):
            col = X.iloc[:, position]
            if pd.api.types.is_bool_dtype(col.dtype):
                continue
            if pd.api.types.is_numeric_dtype(col.dtype):
                if pd.api.types.is_complex_dtype(col.dtype):
                    values = col.to_numpy()
                else:
                    values = col.to_numpy(dtype=np.float64, na_value=np.nan)
            elif col.dtype == object:
                values = col.to_numpy(dtype=object)
            else:  # category, string, datetime: no infinity to find
                continue
            columns.append((label, values))
    elif X.dtype.kind in "fcO":
        columns = [(j, X[:, j]) for j in range(X.shape[1])]
    else:
        columns = []
    sizes = [(label, _magnitude(values)) for label, values in columns]
    infinite = [label for label, size in sizes if math.isinf(size)]
    large = [(label, size) for label, size in sizes if LARGEST_VALUE < size < math.inf]
    if infinite:
        shown = ", ".join(repr(plain(b)) for b in infinite[:10]) + (
            " ..." if len(infinite) > 10 else "")
        raise ValueError(
            f"X contains infinite values (inf or -inf) in {len(infinite)} column(s): {shown}. "
            "Missing values are fine as NaN (they are imputed), infinity is not: replace it, "
            "e.g. X = X.replace([np.inf, -np.inf], np.nan) for a DataFrame or "
            "X[np.isinf(X)] = np.nan for an array, or clip it to a finite value."
        )
    if large:
        shown = ", ".join(f"{plain(b)!r} (up to {size:.3g})" for b, size in large[:10]) + (
            " ..." if len(large) > 10 else "")
        raise ValueError(
            f"X contains values too large to learn from in {len(large)} column(s): {shown}. "
            "Beyond about 3.4e38 (float32's range, in which scikit-learn's tree models "
            "compute; the scalers overflow sooner) a number behaves like infinity: rescale "
            "such a column, e.g. X[c] = np.sign(X[c]) * np.log10(1 + X[c].abs()), or "
            "replace those values with NaN."
        )


def check_y(y, n_rows: int, estimator_name: str) -> np.ndarray:
    """Return y as a 1-D array of class labels with at least two classes."""
    if y is None:
        raise ValueError(
            f"This {estimator_name} estimator requires y to be passed, but the target y is "
            "None. Pass the class labels too: fit(X, y) or recommend(X, y)."
        )
    y = column_or_1d(y, warn=True)
    if len(y) != n_rows:
        raise ValueError(
            f"X and y have inconsistent numbers of samples: {n_rows} rows in X but {len(y)} "
            "labels in y. Pass exactly one class label per row of X."
        )
    missing = pd.isna(y)
    if missing.any():
        raise ValueError(
            f"y has {int(missing.sum())} missing label(s) (NaN/None) among {len(y)}; every "
            "row needs a class. Drop those rows first, e.g. keep = pd.notna(y); "
            "X, y = X[keep], y[keep]."
        )
    check_classification_targets(y)  # "continuous" (non-integer floats): a regression target
    check_not_regression(y)
    classes = pd.unique(y)
    if len(classes) < 2:
        raise ValueError(
            f"y has 1 class ({plain(classes[0])!r}), but a classifier needs at least 2 classes. "
            "Check that y is the target column and that no filtering removed the other "
            "classes."
        )
    return y


# A float target with more distinct values than this, and more than one per
# _ROWS_PER_CLASS rows, is taken for a regression target (sklearn's diabetes: 214 in 442).
_MAX_FLOAT_CLASSES = 20
_ROWS_PER_CLASS = 10


def check_not_regression(y) -> None:
    """Refuse a float y of whole numbers that looks like a quantity rather than classes.

    scikit-learn refuses non-integer floats as "continuous", but takes a float target of
    whole numbers (a count, a price in dollars, a disease score) as that many classes; such
    a y with more than 20 distinct values, and more than one for every 10 rows, is a
    regression target. Integer, text and categorical labels are never refused here.
    """
    if np.asarray(y).dtype.kind != "f":
        return
    n_distinct = len(np.unique(y))
    if n_distinct > _MAX_FLOAT_CLASSES and n_distinct * _ROWS_PER_CLASS > len(y):
        raise ValueError(
            f"y looks like a regression target: it holds floats with {n_distinct} distinct "
            f"values in {len(y)} rows, and LLMAlgorithmSelector is a classifier. For a "
            "quantity, use a regressor; to classify it, bin it first (e.g. "
            "y = pd.qcut(y, 5, labels=False)); if these really are class labels, pass them "
            "as integers or strings (y.astype(int))."
        )


def plain(value):
    """A numpy scalar as the Python value it holds (for messages: 'a', not np.str_('a'))."""
    return value.item() if isinstance(value, np.generic) else value


# ------------------------------------------------------------------------------ fit's own checks


def check_fit_params(params: dict) -> None:
    """Refuse any parameter of fit's ``**params`` other than ``sample_weight``."""
    unknown = sorted(set(params) - {"sample_weight"})
    if unknown:
        raise TypeError(
            f"fit() got unexpected parameter(s) {unknown}: it takes X, y, groups and "
            "sample_weight."
        )


def check_sample_weight(sample_weight, X):
    """fit's ``sample_weight`` checked against X (None stays None).

    Refused: weights that are negative, of the wrong length, or zero for every row.
    """
    if sample_weight is None:
        return None
    sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
    if not sample_weight.any():
        raise ValueError("sample_weight is zero for every row: there is nothing to "
                         "fit. Give some rows a positive weight.")
    return sample_weight


def stratified_folds(cv, y) -> tuple[int | None, str | None]:
    """Folds of an int ``cv`` for this y, and a note when they had to be lowered.

    A StratifiedKFold wants every class in every fold: with a class of fewer rows than
    folds, the folds are lowered to its row count, and to 2 for a class of a single row
    (which then is in one test fold only, and missing from that fold's training rows).
    ``(None, None)`` for a splitter or an iterable ``cv``, which is used as it is.
    """
    if not isinstance(cv, Integral):
        return None, None
    counts = pd.Series(y).value_counts(sort=True, ascending=True)
    smallest = int(counts.iloc[0])
    if counts.iloc[-1] < 2:
        raise ValueError(
            f"Every one of the {len(counts)} classes in y has a single row, so no "
            "cross-validation can test a class it also trained on. Pass more rows (at "
            "least two of some class), or call recommend(X, y), which needs no "
            "cross-validation."
        )
    if smallest >= cv:
        return cv, None
    rare = [plain(label) for label in counts.index[counts.to_numpy() < cv]]
    shown = ", ".join(repr(label) for label in rare[:10]) + (
        f", ... ({len(rare)} in all)" if len(rare) > 10 else "")
    n_splits = max(smallest, 2)
    note = (f"cv={cv} lowered to {n_splits} folds: the smallest class has only "
            f"{smallest} row(s) (classes with fewer than {cv}: {shown}), and "
            "stratified cross-validation wants each class in every fold.")
    if smallest < 2:
        note += (" A class with a single row is tested in one fold only, and that "
                 "fold's candidates are trained without it: drop or merge such classes "
                 "for a fairer comparison.")
    return n_splits, note


def split_folds(cv, X, y, groups) -> list:
    """The (train, test) folds of ``cv``, with ``groups`` for a group splitter."""
    try:
        return list(cv.split(X, y, groups))
    except ValueError as err:
        if groups is None and "groups" in str(err):
            raise ValueError(
                f"cv={cv!r} splits by groups, but fit got none: pass them as "
                "fit(X, y, groups=...), one group label per row."
            ) from err
        raise


def check_training_folds(X, y, cv) -> None:
    """Refuse folds whose training rows have no value in any column (nothing to learn).

    The portfolio's imputers drop a column without a value, so a fold in which every column
    is missing on the training rows would fail every candidate, deep inside scikit-learn.
    """
    present = X.notna().to_numpy() if isinstance(X, pd.DataFrame) else ~pd.isna(X)
    if present.all():
        return
    n_splits = cv.get_n_splits(X, y)
    for i, (train, _) in enumerate(cv.split(X, y)):
        if present[train].any():
            continue
        counts = present.sum(axis=0)
        best = int(np.argmax(counts))
        label = X.columns[best] if isinstance(X, pd.DataFrame) else best
        raise ValueError(
            f"In cross-validation fold {i + 1} of {n_splits}, no column of X has a value on "
            f"the {len(train)} training rows: every candidate would have nothing to learn "
            f"from. The most complete column, {plain(label)!r}, has values in only "
            f"{int(counts[best])} of {X.shape[0]} rows. Pass more complete columns or more "
            "rows, or fewer folds (cv=2)."
        )


# ------------------------------------------------------------------------------ predict's X


def check_X_predict(estimator, X, columns, plan):
    """Validate X like fit did, and return it in the form the pipelines were fitted on.

    ``columns``: the labels of fit's DataFrame (None for an array); ``plan``: fit's
    :class:`skllmselect.tabular.TablePlan` (None for a selector saved before it had one).
    """
    check_is_fitted(estimator)
    X = check_X(X)
    validate_data(estimator, X, reset=False, skip_check_array=True)
    check_finite(X)
    # The pipelines name columns by the table's labels (positions for an array): give
    # them the labels they were fitted with, whichever container comes now.
    if columns is None and isinstance(X, pd.DataFrame):
        X = X.set_axis(range(X.shape[1]), axis=1)
    if columns is not None and not isinstance(X, pd.DataFrame):
        X = pd.DataFrame(X, columns=columns).infer_objects()
    return fill_missing_categories(X if plan is None else plan.transform(X))
