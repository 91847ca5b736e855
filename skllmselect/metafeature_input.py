"""The table as the meta-features read it: encoded columns, target codes, row order, rows.

:func:`skllmselect.metafeatures.extract` turns any X and y into plain arrays here before
pymfe runs: :func:`as_frame` (a DataFrame and its categorical columns), :func:`encode_target`
(class codes), :func:`canonical_row_order` (rows in an order fixed by their content),
:func:`subsample_rows` (the stratified subsample), :func:`encode_columns` (each column
imputed and coded, with its content hash and the shape features that read the columns) and
:func:`split_cap` (how many numeric and categorical columns a capped group sees). Nothing
here imports pymfe.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd
from scipy import sparse

from skllmselect.sampling import stratified_subsample

# Categorical columns keep their most frequent levels (missing counts as a level); the rest
# share one code. This bounds the one-hot width pymfe builds for statistical, model-based and
# landmarking features (an ID-like column would otherwise add a column per row).
_MAX_LEVELS = 10
_MISSING_LEVEL = "\x00missing"


def as_frame(X) -> tuple[pd.DataFrame, np.ndarray]:
    """Return X as a DataFrame and a boolean mask of its categorical columns."""
    if sparse.issparse(X):
        raise ValueError(
            f"X is a scipy sparse matrix ({X.shape[0]} x {X.shape[1]}); meta-features need "
            "dense data. Pass X.toarray() or a pandas DataFrame."
        )
    if isinstance(X, pd.DataFrame):
        frame = X
        is_cat = np.array(
            [
                pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype)
                for dtype in frame.dtypes
            ],
            dtype=bool,
        )
    else:
        try:
            array = np.asarray(X)
        except ValueError as err:  # ragged nested lists
            raise ValueError(
                f"X could not be read as a 2-D table ({err}). Pass a 2-D numpy array or a "
                "pandas DataFrame of shape (n_samples, n_features)."
            ) from err
        if array.ndim != 2:
            raise ValueError(
                f"X must be 2-D, of shape (n_samples, n_features); got a {array.ndim}-D "
                f"input of shape {array.shape}. Reshape a single feature with "
                "X.reshape(-1, 1), or a single sample with X.reshape(1, -1)."
            )
        frame = pd.DataFrame(array, copy=False)
        if array.dtype.kind in "iuf":
            is_cat = np.zeros(array.shape[1], dtype=bool)
        elif array.dtype.kind == "O":
            # A column is numeric when its non-missing values are all numbers (ints, floats,
            # decimals); strings, booleans and mixtures make it categorical.
            is_cat = np.array(
                [
                    pd.api.types.infer_dtype(frame.iloc[:, j], skipna=True)
                    not in ("integer", "floating", "mixed-integer-float", "decimal", "empty")
                    for j in range(array.shape[1])
                ],
                dtype=bool,
            )
        else:  # strings, booleans, datetimes, ...
            is_cat = np.ones(array.shape[1], dtype=bool)
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError(
            f"X is empty: got {frame.shape[0]} rows and {frame.shape[1]} columns. "
            "Meta-features need at least one row and one column."
        )
    return frame, is_cat


def encode_target(y, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Return integer class codes of y and the row count of each class."""
    if isinstance(y, pd.DataFrame) and y.shape[1] == 1:
        y = y.iloc[:, 0]
    labels = y.to_numpy(dtype=object) if isinstance(y, pd.Series | pd.Index) else np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels.ravel()
    if labels.ndim != 1:
        raise ValueError(
            f"y must be 1-D, of shape (n_samples,); got shape {labels.shape}. "
            "Pass a single column of class labels."
        )
    if len(labels) != n_rows:
        raise ValueError(
            f"X and y must have the same number of rows; got {n_rows} rows in X and "
            f"{len(labels)} labels in y."
        )
    missing = pd.isna(labels)
    if missing.any():
        raise ValueError(
            f"y has {int(missing.sum())} missing label(s) (NaN/None/pd.NA); every row needs a "
            "class. Drop those rows first, e.g. keep = pd.notna(y); X, y = X[keep], y[keep]."
        )
    try:
        classes, codes, counts = np.unique(labels, return_inverse=True, return_counts=True)
    except TypeError:  # labels of mixed types (1 and "a") do not sort: compare as text
        classes, codes, counts = np.unique(
            labels.astype(str), return_inverse=True, return_counts=True
        )
    if len(classes) < 2:
        raise ValueError(
            f"y must hold at least 2 classes; got {len(classes)} ({classes[0]!r}). "
            "Meta-features describe a classification task: pass labels of two or more classes."
        )
    return codes.ravel(), counts


def numeric_values(col: pd.Series) -> np.ndarray:
    """A numeric column as float64, missing (NaN, None, ``pd.NA``, +/-inf) as NaN."""
    try:
        values = col.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):  # object column of numbers and None/pd.NA
        values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64,
                                                              na_value=np.nan)
    values = values + 0.0  # -0.0 as 0.0
    values[~np.isfinite(values)] = np.nan
    return values


def standardized(values: np.ndarray) -> np.ndarray:
    """The column centred on its mean and divided by its standard deviation (version 4), on
    the full data, NaN kept: the meta-features then read no unit. Version 3 gave pymfe raw
    values, so rescaling one column (metres to millimetres) moved the nearest-neighbour
    landmarks and the scale descriptors, and with them the ranking; the scale-sensitive
    pipelines of the portfolio standardize their inputs, so the unit tells them nothing."""
    # sorted: the sums must not depend on the row order, down to the last bit
    present = np.sort(values[~np.isnan(values)])
    if present.size == 0:
        return values.copy()
    centred = values - present.mean()
    scale = present.std()
    return centred / scale if scale > 0 and np.isfinite(scale) else centred


def dense_ranks(values: np.ndarray) -> np.ndarray:
    """1, 2, ... for the distinct values in increasing order, 0 for missing: what an
    increasing transform of the column (a unit, a log, a shift) leaves unchanged.

    ``scipy.stats.rankdata(method="dense")`` on the present values gives the same numbers,
    but importing ``scipy.stats`` costs the first ``recommend`` about 0.3 s (issue 17's cold
    start), and nothing else on that path imports it."""
    ranks = np.zeros(len(values), dtype=np.int64)
    present = ~np.isnan(values)
    ranks[present] = np.unique(values[present], return_inverse=True)[1].ravel() + 1
    return ranks


def canonical_row_order(frame: pd.DataFrame, codes: np.ndarray,
                        is_cat: np.ndarray) -> np.ndarray:
    """A permutation of the rows that depends on their content alone.

    Rows are sorted by a key built from their cells and class that ignores row order, column
    order and names. A plain sum of cell hashes (version 2) is not enough: in a 0/1 table it
    only counts a row's ones, so most rows tied and kept the caller's order. Here each cell's
    hash is salted with its column's key, and column and row keys refine each other for
    ``_REFINE_ROUNDS`` rounds (Weisfeiler-Lehman colour refinement on the bipartite
    row-column graph): a column's key is the multiset of (cell, row key) down the column, a
    row's key the multiset of (cell, column key) along the row. Every sum is commutative, so
    no order leaks in; rows that still tie are identical or symmetric, and either way their
    order cannot change what is drawn. A numeric column's cells are its dense ranks (version
    4; ``is_cat`` marks the others, hashed as they are), so any increasing transform of it
    (a unit, a shift, a log) leaves the order, the subsample and pymfe's folds unchanged.
    About 0.25 s at 50,000 x 200 numeric columns here (version 3, hashing values: 0.5 s).
    """
    n_rows, n_cols = frame.shape
    cells = np.empty((n_rows, n_cols), dtype=np.uint64, order="F")  # columns contiguous
    for j in range(n_cols):
        col = frame.iloc[:, j]
        if not is_cat[j]:  # numeric_values reads -0.0 as 0.0, which pandas 2 hashed apart
            cells[:, j] = _mix64(dense_ranks(numeric_values(col)).astype(np.uint64))
            continue
        try:
            cells[:, j] = pd.util.hash_pandas_object(col, index=False).to_numpy()
        except TypeError:  # unhashable cells (lists, dicts): hash their text
            cells[:, j] = pd.util.hash_pandas_object(col.astype(str), index=False).to_numpy()
    row_key = _mix64(codes.astype(np.uint64) + np.uint64(1))
    # Column by column: cache-sized temporaries were 3x faster than whole-matrix ones.
    for _ in range(_REFINE_ROUNDS):
        col_key = np.array(
            [_mix64(cells[:, j] ^ row_key).sum(dtype=np.uint64) for j in range(n_cols)],
            dtype=np.uint64)
        salt = _mix64(col_key)  # arrays wrap silently; numpy scalars would warn on overflow
        total = np.zeros(n_rows, dtype=np.uint64)
        for j in range(n_cols):
            total += _mix64(cells[:, j] + salt[j])
        row_key = _mix64(row_key ^ total)
    return np.argsort(row_key, kind="stable")


_REFINE_ROUNDS = 2


def _mix64(x):
    """A multiply-xorshift-multiply hash (splitmix64's constants), elementwise, wrapping."""
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(32)
    x *= np.uint64(0x94D049BB133111EB)
    return x


def subsample_rows(codes: np.ndarray, max_rows: int, random_state: int) -> np.ndarray:
    """Return sorted positions of a stratified subsample of at most about ``max_rows`` rows.

    Every class keeps at least two rows when it has them, so landmarking can still
    cross-validate; the draw depends only on the labels and the seed (not on the columns).
    """
    return stratified_subsample(codes, max_rows, min_per_class=2, random_state=random_state)


def encode_columns(frame: pd.DataFrame, is_cat: np.ndarray, rows: np.ndarray):
    """Encode the subsampled columns for pymfe and measure missingness on the full data.

    Returns a list of ``(content hash, is categorical, float64 column of len(rows))`` and the
    full-data shape features it measured on the way.
    """
    n_rows = frame.shape[0]
    missing_cells = 0
    missing_rows = np.zeros(n_rows, dtype=bool)
    max_levels = 0
    columns = []
    for j in range(frame.shape[1]):
        col = frame.iloc[:, j]
        if is_cat[j]:
            missing = col.isna().to_numpy(dtype=bool)
            try:
                levels = col.nunique(dropna=True)
            except TypeError:  # unhashable cells (lists, dicts): count their text instead
                levels = col.astype(str).mask(pd.Series(missing, index=col.index)).nunique()
            max_levels = max(max_levels, int(levels))
            encoded = _encode_categories(col.iloc[rows], missing[rows])
        else:
            full = numeric_values(col)
            missing = np.isnan(full)
            encoded = standardized(full)[rows]
            gaps = missing[rows]
            # The column's place in the canonical order comes from its ranks (version 4),
            # so an increasing transform of it does not change which columns pymfe sees.
            key = dense_ranks(full[rows]).tobytes()
            if gaps.any():
                encoded[gaps] = np.median(encoded[~gaps]) if not gaps.all() else 0.0
        missing_cells += int(missing.sum())
        missing_rows |= missing
        digest = hashlib.blake2b(key if not is_cat[j] else encoded.tobytes(),
                                 digest_size=16).digest()
        columns.append((digest, bool(is_cat[j]), encoded))
    shape = {
        "missing_share": missing_cells / (n_rows * frame.shape[1]),
        "missing_rows_share": float(missing_rows.mean()),
        "cat_levels_log_max": math.log10(1 + max_levels),
    }
    return columns, shape


def _encode_categories(col: pd.Series, missing: np.ndarray) -> np.ndarray:
    """Code levels by frequency rank (ties: by text), rare levels pooled, as float64."""
    keys = col.astype(str).to_numpy(dtype=object)
    keys[missing] = _MISSING_LEVEL
    levels, inverse, counts = np.unique(keys.astype(str), return_inverse=True, return_counts=True)
    rank = np.empty(len(levels), dtype=np.int64)
    rank[np.argsort(-counts, kind="stable")] = np.arange(len(levels))
    return np.minimum(rank, _MAX_LEVELS - 1)[inverse.ravel()].astype(np.float64)


def split_cap(n_num: int, n_cat: int, limit: int) -> tuple[int, int]:
    """How many numeric and categorical columns to keep under ``limit``, shares preserved."""
    total = n_num + n_cat
    if total <= limit:
        return n_num, n_cat
    keep_cat = round(limit * n_cat / total)
    if n_cat and keep_cat == 0:
        keep_cat = 1  # never lose a whole column kind
    if n_num and keep_cat == limit and limit > 1:
        keep_cat = limit - 1
    return min(limit - keep_cat, n_num), keep_cat
