"""Comparing two fingerprints: column pairing, content distance, row containment.

:func:`compare` pairs two tables' columns one to one (grown greedily from the target by
marginal distance plus agreement of associations with the columns already paired, then a
Hungarian polish) and measures every difference in units of its sampling noise, calibrated
so that two independent draws of one population are about 1 apart. A copy, however
shuffled, permuted, relabelled or rescaled, scores 0; R's iris against UCI's (two cells
differ) 0.06; a copy of a UCI table with 2% of its rows dropped and noise of 1% of each
numeric column's sd 0.09 to 1.4 (median 0.24; benchmarks/results/leakage_guard.md: the noise
breaks ties, which fingerprints snap back where they are large, and reorders the dense part of
a continuous column); a re-sample or biased subset 1 to 2. What decides a near duplicate or
a leak is documented on :class:`CurateConfig`, :func:`find_duplicates` and
:meth:`LeakageGuard.check`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from pretrain.curate.fingerprints import NOISE_FLOOR, ROW_MIN_BITS, ROW_SKETCH_SIZE, Fingerprint

#: A column pair is "paired" when its marginal distance is at most this (noise units).
PAIR_TOLERANCE = 4.0
#: Share of the largest association differences left out of the association distance.
ASSOC_TRIM = 0.1
#: Noise scales, calibrated so that two independent draws of one population are about 1
#: apart in each part (continuous, categorical and integer columns, independent and
#: dependent pairs; 300 to 3,000 rows): the expected total variation between two level
#: profiles is PROFILE_NOISE * sum(sqrt(p(1 - p))) * sqrt(1/n_a + 1/n_b); quantile noise
#: is SHAPE_NOISE times its asymptotic estimate; an association's sd is
#: ASSOC_NOISE * sqrt(1/n_a + 1/n_b).
PROFILE_NOISE = 0.3
SHAPE_NOISE = 0.5
ASSOC_NOISE = 0.4


@dataclass(frozen=True)
class Match:
    """How two fingerprints compare (see :func:`compare`)."""

    n_paired: int
    """Columns paired one to one within ``PAIR_TOLERANCE``."""
    share_a: float
    """Paired share of the first fingerprint's columns."""
    share_b: float
    """Paired share of the second fingerprint's columns."""
    jaccard: float
    """Paired columns over the union of columns."""
    distance: float
    """RMS of the paired columns' distances and of the association differences, in units of
    sampling noise (0: same content; about 1: independent samples of one population)."""
    column_distance: float
    association_distance: float
    association_coverage: float = 1.0
    """Share of the paired column pairs whose association was compared on both sides."""
    n_association_pairs: int = 0
    """Paired column pairs whose association was compared."""
    pairs: tuple = ()
    """(column of a, column of b) pairs; the last column of each is its target."""

    @property
    def containment(self) -> float:
        """Paired share of the smaller table's columns."""
        return max(self.share_a, self.share_b)


def _column_costs(a: Fingerprint, b: Fingerprint, rank_only: bool = False) -> np.ndarray:
    """(p_a, p_b) marginal distances between the columns of two fingerprints.

    ``rank_only`` ignores the quantile shapes of continuous columns (what a monotone
    transform such as log changes) and keeps their tie and missing shares; a continuous
    column then pairs with no discrete one.
    """
    sigma2 = 1.0 / max(a.n_rows, 1) + 1.0 / max(b.n_rows, 1)
    cost = np.full((a.n_columns, b.n_columns), np.inf)
    # level profiles: total variation over its expected size for two independent samples
    both = a.has_profile[:, None] & b.has_profile[None, :]
    if both.any():
        pa, pb = a.profile[:, None, :], b.profile[None, :, :]
        tv = 0.5 * np.abs(pa - pb).sum(axis=2)
        mean = 0.5 * (pa + pb)
        expected = PROFILE_NOISE * np.sqrt(mean * (1 - mean)).sum(axis=2) * math.sqrt(sigma2)
        cost = np.where(both, tv / np.maximum(expected, NOISE_FLOOR), cost)
    # numeric shapes, where at least one side has no profile (continuous)
    shaped = (a.numeric[:, None] & b.numeric[None, :]) & ~both
    if shaped.any():
        ia, ib = np.nonzero(shaped)
        diff = a.shape[ia] - b.shape[ib]
        noise = SHAPE_NOISE * np.sqrt(a.shape_noise[ia] ** 2 / a.n_rows
                                      + b.shape_noise[ib] ** 2 / b.n_rows)
        noise = np.maximum(noise, NOISE_FLOOR * (1 + np.abs(a.shape[ia])))
        noise = np.maximum(noise, np.maximum(a.shape_gap[ia], b.shape_gap[ib])[:, None])
        z = diff / noise
        if rank_only:
            z = np.full_like(z, np.nan)
        share_z = []
        for share_a, share_b in ((a.top[ia], b.top[ib]), (a.missing[ia], b.missing[ib])):
            mean = 0.5 * (share_a + share_b)
            sd = np.maximum(np.sqrt(mean * (1 - mean) * sigma2), NOISE_FLOOR)
            share_z.append(((share_a - share_b) / sd)[:, None])
        # the top share of a discrete column says nothing of a jittered copy of it
        continuous = ~a.has_profile[ia] & ~b.has_profile[ib]
        share_z[0] = np.where(continuous[:, None], share_z[0], np.nan)
        z = np.concatenate([z, *share_z], axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: no common part
            values = np.sqrt(np.nanmean(z ** 2, axis=1))
        if rank_only:
            values = np.where(continuous, values, np.nan)
        cost[ia, ib] = np.where(np.isnan(values), np.inf, values)
    return cost


def _assoc_view(f: Fingerprint) -> np.ndarray:
    """(p, p) association matrix over all columns, NaN where not computed."""
    full = np.full((f.n_columns, f.n_columns), np.nan, np.float32)
    full[np.ix_(f.assoc_columns, f.assoc_columns)] = f.assoc
    return full


def _structure(va: np.ndarray, vb: np.ndarray, anchors_a, anchors_b,
               sigma_v: float) -> tuple[np.ndarray, np.ndarray]:
    """Sum of squared association differences to the anchors, and how many were defined."""
    diff = (va[:, None, anchors_a] - vb[None, :, anchors_b]) / sigma_v
    defined = ~np.isnan(diff)
    return np.where(defined, diff * diff, 0.0).sum(axis=2), defined.sum(axis=2)


def _combined(finite: np.ndarray, squares: np.ndarray, counts: np.ndarray) -> np.ndarray:
    structure = np.sqrt(squares / np.maximum(counts, 1))
    return np.where(counts > 0, np.sqrt(0.5 * (finite ** 2 + structure ** 2)), finite)


def _assign(finite: np.ndarray, va: np.ndarray, vb: np.ndarray, sigma_v: float,
            anchor_target: bool) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one pairing: greedy growth from anchors, then a Hungarian polish.

    The most confident pair (marginal distance combined with the association distance to
    the pairs chosen so far) is added one at a time, so that symmetric columns (board
    squares) are told apart once one of them is fixed; the Hungarian assignment on the same
    combined cost then repairs early greedy choices.
    """
    p_a, p_b = finite.shape
    squares = np.zeros((p_a, p_b))
    counts = np.zeros((p_a, p_b))
    free_a, free_b = np.ones(p_a, bool), np.ones(p_b, bool)
    chosen_a, chosen_b = [], []

    def add(i, j):
        more_squares, more_counts = _structure(va, vb, [i], [j], sigma_v)
        squares[...] += more_squares
        counts[...] += more_counts
        free_a[i] = free_b[j] = False
        chosen_a.append(i)
        chosen_b.append(j)

    if anchor_target and finite[-1, -1] <= PAIR_TOLERANCE:
        add(p_a - 1, p_b - 1)
    while free_a.any() and free_b.any():
        combined = _combined(finite, squares, counts)
        combined[~free_a, :] = np.inf
        combined[:, ~free_b] = np.inf
        i, j = np.unravel_index(np.argmin(combined), combined.shape)
        if combined[i, j] > PAIR_TOLERANCE:
            break
        add(i, j)
    combined = np.minimum(_combined(finite, squares, counts), 1e6)
    return linear_sum_assignment(combined)


def compare(a: Fingerprint, b: Fingerprint, costs: np.ndarray | None = None) -> Match:
    """Pair the columns of two fingerprints and measure how far apart their contents are.

    Columns are assigned one to one (Hungarian) on their marginal distances plus the
    distance of their associations with already-paired "anchor" columns, repeated until
    stable; this tells apart columns of equal marginals (the squares of tic-tac-toe, the
    attributes of car). The first anchor is the target; a second pairing without that
    assumption is also tried (a copy may have been given another target), and the better
    one kept. Pairs within ``PAIR_TOLERANCE`` count; their association matrices must agree.
    """
    if costs is None:
        costs = _column_costs(a, b)
    finite = np.where(np.isfinite(costs), costs, 1e6)
    va, vb = _assoc_view(a), _assoc_view(b)
    sigma_v = ASSOC_NOISE * math.sqrt(1.0 / max(a.assoc_rows, 1) + 1.0 / max(b.assoc_rows, 1))
    sigma_v = max(sigma_v, NOISE_FLOOR)
    best = None
    for anchor_target in (True, False):
        rows, cols = _assign(finite, va, vb, sigma_v, anchor_target)
        match = _score_pairs(a, b, finite, va, vb, sigma_v, rows, cols)
        if best is None or (match.n_paired, -match.distance) > (best.n_paired, -best.distance):
            best = match
        if best.n_paired == min(a.n_columns, b.n_columns) and best.distance < 0.5:
            break
    return best


def _score_pairs(a, b, finite, va, vb, sigma_v, rows, cols) -> Match:
    good = finite[rows, cols] <= PAIR_TOLERANCE
    rows, cols = rows[good], cols[good]
    n_paired = len(rows)
    column_sq = finite[rows, cols] ** 2
    assoc_sq = np.array([])
    coverage = 1.0
    if n_paired >= 2:
        sub_a, sub_b = va[np.ix_(rows, rows)], vb[np.ix_(cols, cols)]
        upper = np.triu_indices(n_paired, 1)
        diff = (sub_a[upper] - sub_b[upper]) / sigma_v
        assoc_sq = diff[~np.isnan(diff)] ** 2
        coverage = len(assoc_sq) / len(diff)
    column_distance = float(np.sqrt(column_sq.mean())) if n_paired else math.inf
    assoc_distance = math.sqrt(_trimmed_mean(assoc_sq)) if len(assoc_sq) else 0.0
    if n_paired and len(assoc_sq):
        distance = math.sqrt(0.5 * (column_distance ** 2 + assoc_distance ** 2))
    else:
        distance = column_distance
    p_a, p_b = a.n_columns, b.n_columns
    return Match(
        n_paired=n_paired, share_a=n_paired / p_a, share_b=n_paired / p_b,
        jaccard=n_paired / (p_a + p_b - n_paired), distance=distance,
        column_distance=column_distance, association_distance=assoc_distance,
        association_coverage=coverage, n_association_pairs=len(assoc_sq),
        pairs=tuple(zip(rows.tolist(), cols.tolist(), strict=True)),
    )


def _trimmed_mean(values: np.ndarray, trim: float = ASSOC_TRIM) -> float:
    """Mean without the largest ``trim`` share: a handful of unstable associations (a level
    of a few rows crossing a bin edge) must not make a copy look like another table."""
    values = np.sort(values)
    cut = int(len(values) * trim)
    return float(values[:len(values) - cut].mean())


def row_containment(a: Fingerprint, b: Fingerprint | np.ndarray) -> float:
    """Estimated share of ``a``'s distinct rows that are rows of ``b``.

    ``b`` is a fingerprint (both bottom-k sketches: the estimate uses ``a``'s hashes below
    both sketches' largest) or the sorted array of all of a table's row hashes (exact on
    ``a``'s sketch).
    """
    sketch = a.row_sketch
    if isinstance(b, np.ndarray):
        other = b
    else:
        other = b.row_sketch
        if len(other) >= ROW_SKETCH_SIZE:
            sketch = sketch[sketch <= other[-1]]
    if not len(sketch) or not len(other):
        return 0.0
    found = np.isin(sketch, other, assume_unique=True)
    return float(found.mean())


def rows_are_specific(f: Fingerprint, other_rows: int = 0) -> bool:
    """Whether shared rows would be evidence, not chance (as with a few binary columns).

    The rows' entropy must reach ``ROW_MIN_BITS``, and exceed by 10 bits the log2 of the
    other table's rows (which a large table of common rows would otherwise cover).
    """
    return (f.n_distinct_rows >= 30
            and f.row_bits >= max(ROW_MIN_BITS, math.log2(max(other_rows, 1)) + 10))
