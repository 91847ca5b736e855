"""Fingerprints: a few kilobytes that summarise a cleaned table.

A :class:`Fingerprint` summarises a cleaned table in a few kilobytes, so that thousands fit
in memory. Every column, the target included and names ignored, gets a descriptor that does
not change with row order, column order or an affine rescaling of a numeric column:

- columns with at most ``PROFILE_MAX_LEVELS`` distinct values (and every non-numeric column):
  the sorted level-frequency profile, missing counted as a level; it survives relabelling and
  any monotone transform;
- numeric columns: standardized quantiles around the median, orientation-free (``-x`` looks
  like ``x``), the missing share and the share of the most frequent value.

Numeric values are read after :func:`~pretrain.curate.columns._snapped`: jittered levels and
tie blocks (the zeros of a count column, exact or moved by small noise) become one value, so
that a noised copy keeps its level profile, its top share and its quantile scale.

The table also gets the matrix of pairwise associations between columns (Cramér's V of
rank-binned columns: invariant to monotone transforms and relabellings), an order-free exact
content hash, coarse column tokens for MinHash, and a bottom-k sketch of its row hashes (raw
values, column order ignored).
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pretrain.curate.columns import PROFILE_MAX_LEVELS, _numeric_values, _snapped
from pretrain.curate.near_rows import NEAR_ROWS_COLUMNS, NEAR_ROWS_SAMPLE, RankRows, rank_rows
from pretrain.sources import Dataset

#: Quantile levels of the numeric shape descriptor (their mirror images are used too).
SHAPE_LEVELS = (0.99, 0.95, 0.9, 0.75)
#: Rank bins (and top levels, plus "other" and "missing") for the association matrix.
ASSOC_BINS = 8
#: At most this many columns enter the association matrix (the target and the columns most
#: associated with it); pairs outside it are compared on marginals only.
ASSOC_MAX_COLUMNS = 128
#: Cell budget (rows x columns^2) of the association matrix; rows above it (and never fewer
#: than ASSOC_MIN_ROWS) are a content-keyed subsample, the same whatever the row order.
ASSOC_CELL_BUDGET = 40_000_000
ASSOC_MIN_ROWS = 2000
#: Row hashes kept per fingerprint (a bottom-k sketch).
ROW_SKETCH_SIZE = 256
#: Row overlap is evidence only when the rows carry this many bits (sum of the features'
#: entropies).
ROW_MIN_BITS = 20.0
#: Floor on the relative sampling noise: large tables are compared no more finely than this.
NOISE_FLOOR = 0.01


_SPLITMIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9),
             np.uint64(0x94D049BB133111EB))


def _mix(values: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a cheap, well-spread hash of uint64 values."""
    with np.errstate(over="ignore"):
        h = values.astype(np.uint64) + _SPLITMIX[0]
        h = (h ^ (h >> np.uint64(30))) * _SPLITMIX[1]
        h = (h ^ (h >> np.uint64(27))) * _SPLITMIX[2]
        return h ^ (h >> np.uint64(31))


def _hash_token(*parts) -> int:
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """Content summary of a cleaned dataset: scale-, order- and name-free; no values kept.

    Per-column arrays have one row per feature column, then the target (last row).
    """

    id: str
    n_rows: int
    real: bool
    """Whether the data are real (anything but a synthetic source); real ones are kept first."""
    exact: str
    """Hash of the content with rows and columns sorted: equal for exact duplicates."""
    numeric: np.ndarray
    """(p,) bool: numeric column (quantile shape available)."""
    has_profile: np.ndarray
    """(p,) bool: non-numeric, or at most ``PROFILE_MAX_LEVELS`` distinct values."""
    levels: np.ndarray
    """(p,) int: distinct non-missing values."""
    profile: np.ndarray
    """(p, PROFILE_MAX_LEVELS + 1) float32: sorted level shares (missing is a level), then
    the share of all further levels."""
    shape: np.ndarray
    """(p, 2 * len(SHAPE_LEVELS)) float32: orientation-free standardized quantiles."""
    shape_noise: np.ndarray
    """(p, 2 * len(SHAPE_LEVELS)) float32: sampling sd of ``shape`` times sqrt(rows)."""
    shape_gap: np.ndarray
    """(p,) float32: median gap between distinct values of a discrete numeric column, in
    ``shape`` units (0 for continuous columns)."""
    top: np.ndarray
    """(p,) float32: share of the most frequent non-missing value."""
    missing: np.ndarray
    """(p,) float32: missing share."""
    assoc_columns: np.ndarray
    """(m,) int: columns (positions) of the association matrix."""
    assoc: np.ndarray
    """(m, m) float32: Cramér's V between rank-binned columns."""
    assoc_rows: int
    """Rows the association matrix was computed on."""
    tokens: np.ndarray
    """Sorted unique uint64 tokens of the coarse column descriptors (for MinHash)."""
    row_sketch: np.ndarray
    """The ``ROW_SKETCH_SIZE`` smallest distinct row hashes (feature values only, raw, column
    order free): estimates how many rows two tables share (row subsets such as digits)."""
    n_distinct_rows: int
    """Distinct feature rows."""
    entropy: np.ndarray
    """(p,) float32: Shannon entropy (bits) of each column's values, missing a value."""
    row_bits: float
    """Sum of the features' entropies: rows of tables with a few skewed, small-domain
    columns coincide by chance, and this says how much a shared row means."""
    near_rows: RankRows | None = None
    """Up to ``NEAR_ROWS_SAMPLE`` random rows as quantiles of the target and the
    ``NEAR_ROWS_COLUMNS - 1`` features most associated with it: finds noised copies
    (:func:`near_row_shares`). None in fingerprints written before it existed."""

    @property
    def n_columns(self) -> int:
        return len(self.numeric)








def _shape(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Standardized quantiles (orientation-free), their sampling sd times sqrt(n), and the
    median gap between distinct values in the same units (quantiles of a discrete column
    jump by a gap, whatever the rows)."""
    k = len(SHAPE_LEVELS)
    levels = np.array(SHAPE_LEVELS)
    grid = np.concatenate([levels, 1 - levels, [0.5, 0.9, 0.1]])
    h = 0.02  # half-width of the window that estimates the local slope of the quantiles
    window = np.concatenate([np.clip(grid + h, 0, 1), np.clip(grid - h, 0, 1)])
    q = np.quantile(values, np.concatenate([grid, window, [0.99, 0.01]]))
    centre, q90, q10 = q[2 * k], q[2 * k + 1], q[2 * k + 2]
    scale = q90 - q10
    if scale <= 0:
        scale = q[-2] - q[-1]
    if scale <= 0:
        scale = values.max() - values.min()
    if scale <= 0:
        return np.full(2 * k, np.nan), np.full(2 * k, np.nan), 0.0
    distinct = np.unique(values)
    gap = float(np.median(np.diff(distinct))) / scale if len(distinct) <= PROFILE_MAX_LEVELS \
        else 0.0
    n_grid = len(grid)
    upper = (q[:k] - centre) / scale
    lower = (centre - q[k:2 * k]) / scale
    slope = (q[n_grid:2 * n_grid] - q[2 * n_grid:3 * n_grid]) / (
        window[:n_grid] - window[n_grid:])
    noise = slope * np.sqrt(grid * (1 - grid)) / scale
    # the scale itself is estimated: its relative noise spreads to every component
    scale_noise = math.hypot(noise[2 * k + 1], noise[2 * k + 2])
    shape_noise = np.hypot(np.hypot(noise[:2 * k], noise[2 * k]),
                           np.abs(np.concatenate([upper, lower])) * scale_noise)
    upper_noise, lower_noise = shape_noise[:k], shape_noise[k:]
    if lower.sum() > upper.sum():  # orientation-free: x and -x look the same
        upper, lower = lower, upper
        upper_noise, lower_noise = lower_noise, upper_noise
    shape = np.clip(np.concatenate([upper, lower]), -50, 50)
    return shape, np.concatenate([upper_noise, lower_noise]), gap


def _assoc_codes(series: pd.Series, numeric: np.ndarray | None) -> np.ndarray:
    """Codes in [0, ASSOC_BINS]: rank bins or top levels; ASSOC_BINS is "missing"."""
    bins = ASSOC_BINS
    out = np.full(len(series), bins, dtype=np.int64)
    if numeric is not None:
        present = ~np.isnan(numeric)
        values = numeric[present]
        uniques, inverse = np.unique(values, return_inverse=True)
        if len(uniques) <= bins:
            out[present] = inverse
        else:
            ranks = pd.Series(values).rank(method="average").to_numpy()
            out[present] = np.minimum(((ranks - 0.5) / len(values) * bins).astype(np.int64),
                                      bins - 1)
    else:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        present = codes >= 0
        counts = np.bincount(codes[present], minlength=len(uniques))
        # most frequent first; equal counts by label, so that row order cannot change codes
        order = np.lexsort((np.array([str(u) for u in uniques]), -counts))
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        out[present] = np.minimum(rank[codes[present]], bins - 1)
    return out


def _association_matrix(codes: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Cramér's V between the given columns of a (n, p) code matrix with values < L.

    Not bias-corrected: a corrected V is clipped at 0 for independent columns, and two
    independent draws of independent columns would then agree exactly, like copies do.
    """
    levels = ASSOC_BINS + 1
    sub = codes[:, columns]
    n, m = sub.shape
    out = np.eye(m, dtype=np.float32)
    if n == 0 or m < 2:
        return out
    marginals = np.stack([np.bincount(sub[:, j], minlength=levels) for j in range(m)])
    k = (marginals > 0).sum(axis=1)
    for i in range(m - 1):
        others = sub[:, i + 1:]
        keys = sub[:, i:i + 1] * levels + others + \
            (np.arange(m - i - 1) * levels * levels)[None, :]
        table = np.bincount(keys.ravel(), minlength=(m - i - 1) * levels * levels)
        table = table.reshape(m - i - 1, levels, levels).astype(float)
        expected = marginals[i][None, :, None] * marginals[i + 1:][:, None, :] / n
        with np.errstate(divide="ignore", invalid="ignore"):
            chi2 = np.where(expected > 0, (table - expected) ** 2 / expected, 0).sum(axis=(1, 2))
        dof = np.minimum(k[i], k[i + 1:]) - 1
        v = np.where(dof > 0, np.sqrt(chi2 / (n * np.maximum(dof, 1))), 0.0)
        out[i, i + 1:] = np.clip(v, 0.0, 1.0)
        out[i + 1:, i] = out[i, i + 1:]
    return out


def _exact_hash(X: pd.DataFrame, y: pd.Series) -> str:
    """Content hash invariant to row order and column order (names ignored, target apart)."""
    cells = []
    for position in range(X.shape[1]):
        series = X.iloc[:, position]
        numeric = _numeric_values(series)
        if numeric is not None:
            numeric = np.where(numeric == 0, 0.0, numeric)  # -0.0 == 0.0
            cells.append(pd.util.hash_array(numeric))
        else:
            cells.append(pd.util.hash_array(series.astype(str).to_numpy(object)))
    column_keys = [hashlib.blake2b(np.sort(c).tobytes(), digest_size=8).hexdigest()
                   for c in cells]
    order = np.argsort(column_keys, kind="stable")
    rows = np.zeros(len(X), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for rank, position in enumerate(order):
            rows = _mix(rows * np.uint64(0x100000001B3) + cells[position] + np.uint64(rank))
        target = pd.util.hash_array(y.astype(str).to_numpy(object))
        rows = _mix(rows ^ target)
    return hashlib.blake2b(np.sort(rows).tobytes(), digest_size=16).hexdigest()


def _cell_hashes(series: pd.Series) -> np.ndarray:
    """uint64 hash per cell of a raw value; a text cell that reads as a number hashes like
    that number (UCI's ``"1"`` and R's ``1L`` agree)."""
    numeric = _numeric_values(series)
    if numeric is not None:
        return pd.util.hash_array(np.where(numeric == 0, 0.0, numeric))
    text = series.to_numpy(object)
    numeric = pd.to_numeric(pd.Series(text), errors="coerce").to_numpy(float)
    hashed = pd.util.hash_array(np.where(numeric == 0, 0.0, numeric))
    strings = np.isnan(numeric) & pd.notna(text)
    if strings.any():
        hashed[strings] = pd.util.hash_array(text[strings].astype(str))
    return hashed


def _row_hashes(cells: list[np.ndarray], n: int) -> np.ndarray:
    """Distinct row hashes from per-column cell hashes.

    A row hashes the multiset of its cells, leaving out cells equal to their column's
    majority value: so a column that is constant in a subset (a pixel that is always blank
    in digits) and nearly so in its superset (optdigits) does not make every row differ,
    even though cleaning dropped it from one table only.
    """
    rows = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for hashed in cells:
            mixed = _mix(hashed)
            uniques, counts = np.unique(hashed, return_counts=True)
            if len(counts) and counts.max() * 2 >= n:
                mixed[hashed == uniques[np.argmax(counts)]] = 0
            rows += mixed
    return np.unique(rows)


def row_hashes(X: pd.DataFrame) -> np.ndarray:
    """Sorted distinct hashes of the feature rows: raw values, column order ignored.

    Row order and column names do not matter; any rescaling does (rows are then matched
    by content instead).
    """
    return _row_hashes([_cell_hashes(X.iloc[:, i]) for i in range(X.shape[1])], len(X))


def fingerprint(dataset: Dataset, *, max_assoc_columns: int | None = ASSOC_MAX_COLUMNS
                ) -> Fingerprint:
    """Fingerprint a (cleaned) dataset; see the module docstring for what it keeps.

    ``max_assoc_columns`` caps the association matrix (the target and the columns most
    associated with it); None keeps every column (the benchmark's fingerprints do).
    """
    X = dataset.X
    y = pd.Series(np.asarray(dataset.y, dtype=object), name="target")
    n = len(X)
    columns = [X.iloc[:, i] for i in range(X.shape[1])] + [y]
    p = len(columns)
    n_shape = 2 * len(SHAPE_LEVELS)
    numeric_mask = np.zeros(p, bool)
    has_profile = np.zeros(p, bool)
    levels = np.zeros(p, np.int64)
    profile = np.zeros((p, PROFILE_MAX_LEVELS + 1), np.float32)
    shape = np.full((p, n_shape), np.nan, np.float32)
    shape_noise = np.full((p, n_shape), np.nan, np.float32)
    shape_gap = np.zeros(p, np.float32)
    entropy = np.zeros(p, np.float32)
    top = np.zeros(p, np.float32)
    missing = np.zeros(p, np.float32)
    codes = np.empty((n, p), np.int64)
    tokens = []
    cells = []
    for j, series in enumerate(columns):
        values = None if j == p - 1 else _numeric_values(series)
        if values is not None:
            values = _snapped(values)
        level_codes, uniques = pd.factorize(values if values is not None else series,
                                            use_na_sentinel=True)
        counts = np.bincount(level_codes[level_codes >= 0], minlength=len(uniques))
        n_missing = int((level_codes < 0).sum())
        levels[j] = len(uniques)
        missing[j] = n_missing / n if n else 0.0
        shares = np.append(counts, n_missing) / max(n, 1)
        shares = shares[shares > 0]
        entropy[j] = float(-(shares * np.log2(shares)).sum())
        top[j] = counts.max() / counts.sum() if counts.sum() else 0.0
        if values is None or len(uniques) <= PROFILE_MAX_LEVELS:
            has_profile[j] = True
            shares = np.sort(np.append(counts, n_missing))[::-1] / max(n, 1)
            k = min(len(shares), PROFILE_MAX_LEVELS)
            profile[j, :k] = shares[:k]
            profile[j, -1] = shares[k:].sum()
        if values is not None:
            numeric_mask[j] = True
            present = values[~np.isnan(values)]
            if len(uniques) > 1:
                shape[j], shape_noise[j], shape_gap[j] = _shape(present)
        codes[:, j] = _assoc_codes(series, values)
        if j < p - 1:
            cells.append(_cell_hashes(series))
        tokens.extend(_column_tokens(has_profile[j], profile[j], shape[j], top[j], levels[j]))
    tokens.append(_hash_token("rows", int(round(math.log2(max(n, 1))))))
    # a multiset: the k-th copy of a token is a token of its own
    seen: Counter = Counter()
    unique_tokens = []
    for token in tokens:
        unique_tokens.append(_hash_token(token, seen[token]))
        seen[token] += 1
    assoc_columns, assoc, assoc_rows = _association(codes, max_assoc_columns)
    rows = _row_hashes(cells, n)
    bits = float(entropy[:-1].sum())
    return Fingerprint(
        id=dataset.id, n_rows=n,
        real=is_real(dataset), exact=_exact_hash(X, y), numeric=numeric_mask,
        has_profile=has_profile, levels=levels, profile=profile, shape=shape,
        shape_noise=shape_noise, shape_gap=shape_gap, top=top, missing=missing,
        assoc_columns=assoc_columns, assoc=assoc, assoc_rows=assoc_rows,
        tokens=np.unique(np.array(unique_tokens, dtype=np.uint64)),
        row_sketch=rows[:ROW_SKETCH_SIZE], n_distinct_rows=len(rows), entropy=entropy,
        row_bits=bits, near_rows=rank_rows(
            dataset, _near_rows_columns(assoc_columns, assoc, entropy),
            sample=NEAR_ROWS_SAMPLE),
    )


def _near_rows_columns(assoc_columns: np.ndarray, assoc: np.ndarray,
                       entropy: np.ndarray) -> np.ndarray:
    """The target and the ``NEAR_ROWS_COLUMNS - 1`` features most associated with it,
    those of at least 3 bits first (rows of a few binary columns coincide by chance)."""
    features = assoc_columns[:-1]
    best = np.lexsort((-assoc[-1, :-1], entropy[features] < 3))[:NEAR_ROWS_COLUMNS - 1]
    return np.append(np.sort(features[best]), assoc_columns[-1])


def is_real(dataset: Dataset) -> bool:
    """Real data, as opposed to a synthetic prior's draw (``source`` "synthetic..." or a
    ``generator`` in the provenance)."""
    provenance = dataset.provenance or {}
    return not (str(provenance.get("source", "")).startswith("synthetic")
                or "generator" in provenance)


def _column_tokens(has_profile, profile, shape, top, levels) -> list[int]:
    """Two coarse tokens per column (different grids), so that near copies share most."""
    if has_profile:
        return [_hash_token("P", int(min(levels, 12)), *np.round(profile[:3] * 10).astype(int)),
                _hash_token("p", int(round(math.log2(levels + 1))),
                            *np.round(profile[:2] * 5 + 0.5).astype(int))]
    if np.isnan(shape).any():
        return [_hash_token("Q?")]
    k = len(SHAPE_LEVELS)
    return [_hash_token("Q", *np.round(shape[[2, k + 2]] * 4).astype(int), round(top * 10)),
            _hash_token("q", *np.round(shape[[3, k + 3, 1, k + 1]] * 2 + 0.5).astype(int))]


def _association(codes: np.ndarray, max_columns: int | None
                 ) -> tuple[np.ndarray, np.ndarray, int]:
    """Columns chosen for the association matrix, the matrix, and the rows it used."""
    n, p = codes.shape
    max_rows = max(ASSOC_MIN_ROWS, ASSOC_CELL_BUDGET // max(p * p, 1))
    if n > max_rows:
        # a content-keyed subsample: the same rows whatever the row or column order
        levels = np.array([len(np.unique(codes[:, j])) for j in range(p)], dtype=np.uint64)
        keys = _mix(codes.astype(np.uint64) * np.uint64(64) + levels[None, :]).sum(
            axis=1, dtype=np.uint64)
        codes = codes[np.argsort(keys, kind="stable")[:max_rows]]
    columns = np.arange(p)
    if max_columns is not None and p > max_columns:
        with_target = np.array([_association_matrix(codes, np.array([j, p - 1]))[0, 1]
                                for j in range(p - 1)])
        best = np.argsort(-with_target, kind="stable")[:max_columns - 1]
        columns = np.append(np.sort(best), p - 1)
    return columns, _association_matrix(codes, columns), len(codes)
