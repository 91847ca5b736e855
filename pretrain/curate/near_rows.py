"""Near-row matching: rows as quantiles of their columns (:class:`RankRows`), and the share
of one table's rows that are near copies of another's (:func:`near_row_shares`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from pretrain.curate.columns import _numeric_values, _snapped
from pretrain.sources import Dataset

#: Rows a table keeps for near-row matching in its fingerprint (a random sample beyond
#: it), and rows of a candidate the guard matches; columns a fingerprint keeps (the target
#: and the features most associated with it) and the most the guard compares.
NEAR_ROWS_SAMPLE = 1024
NEAR_ROWS_GUARD_SAMPLE = 500
NEAR_ROWS_COLUMNS = 16
#: A row matches when its nearest row of the other table is closer than this share of that
#: row's own distance to its nearest distinct neighbour (a re-sample of one population is
#: about as far from the other table as its rows are from each other; a noised copy much
#: closer).
NEAR_ROWS_RATIO = 0.5
#: A value held by at least this share of the rows is a tie block (see :func:`_column_ranks`).
TIE_MIN_SHARE = 0.005
#: After a first match, paired columns whose quantiles differ by more than this on the
#: matched rows (mean absolute difference; about 1/3 for unrelated columns) are left out.
NEAR_ROWS_MAX_GAP = 0.05


@dataclass(frozen=True, eq=False)
class RankRows:
    """Rows of a table as quantiles of their columns: free of row order, column names,
    relabelling and any monotone transform, and moved little by small noise."""

    columns: np.ndarray
    """(k,) int: column positions (the target is the last column of the table)."""
    ranks: np.ndarray
    """(s, k) float16: each row's mid-quantile in each column, -1 for missing."""
    ties: tuple
    """Per column, (m, 2) float32 quantile intervals held by one value (a tie block)."""
    n_rows: int
    """Rows of the whole table (``ranks`` may be a sample)."""

    def halves(self, seed: int = 1) -> tuple[RankRows, RankRows]:
        """The sampled rows cut in two at random: two disjoint samples of the table."""
        order = np.random.default_rng(seed).permutation(len(self.ranks))
        cut = len(order) // 2
        return tuple(RankRows(columns=self.columns, ranks=self.ranks[np.sort(part)],
                              ties=self.ties, n_rows=self.n_rows)
                     for part in (order[:cut], order[cut:]))


def _column_ranks(series: pd.Series, numeric: np.ndarray | None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Mid-quantile of every cell (NaN when missing) and the column's tie blocks.

    Numeric columns are ranked by value (after :func:`_snapped`), other columns by the
    frequency of their level (most frequent first, equal counts by label), so that a
    relabelled copy ranks alike. A tie block is the quantile interval of a value held by
    ``TIE_MIN_SHARE`` of the rows: noise spreads such a block over its interval, and
    :func:`_apply_ties` folds it back.
    """
    if numeric is not None:
        codes, uniques = pd.factorize(numeric, sort=True, use_na_sentinel=True)
        order = np.arange(len(uniques))
    else:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
        order = np.lexsort((np.array([str(u) for u in uniques]), -counts))
    present = codes >= 0
    counts = np.bincount(codes[present], minlength=len(uniques)).astype(float)
    n = max(present.sum(), 1)
    position = np.empty(len(order), np.int64)
    position[order] = np.arange(len(order))
    ordered = counts[order]
    upper = np.cumsum(ordered) / n
    lower = upper - ordered / n
    if numeric is None and len(ordered):
        # levels of similar frequency cannot be told apart after relabelling (balanced
        # classes): each run of them shares one interval
        group = np.cumsum(np.concatenate([[True], ordered[1:] < 0.9 * ordered[:-1]])) - 1
        first = np.flatnonzero(np.diff(group, prepend=-1))
        last = np.append(first[1:], len(ordered)) - 1
        lower, upper = lower[first][group], upper[last][group]
    out = np.full(len(series), np.nan)
    out[present] = ((lower + upper) / 2)[position[codes[present]]]
    heavy = (ordered >= 2) & (ordered >= TIE_MIN_SHARE * n)
    blocks = np.unique(np.stack([lower[heavy], upper[heavy]], axis=1), axis=0)
    return out, blocks.astype(np.float32)


def _apply_ties(q: np.ndarray, ties: np.ndarray) -> np.ndarray:
    """Quantiles inside a tie block moved to its middle."""
    if not len(ties):
        return q
    block = np.searchsorted(ties[:, 0], q, side="right") - 1
    inside = (block >= 0) & (q <= ties[np.maximum(block, 0), 1])
    middle = (ties[:, 0] + ties[:, 1]) / 2
    return np.where(inside, middle[np.maximum(block, 0)], q)


def rank_rows(dataset: Dataset, columns: Sequence[int] | None = None,
              sample: int | None = None, seed: int = 0) -> RankRows:
    """:class:`RankRows` of ``dataset`` on ``columns`` (positions; the target is
    ``X.shape[1]``; default all), on a random sample of at most ``sample`` rows."""
    X = dataset.X
    p = X.shape[1]
    columns = np.arange(p + 1) if columns is None else np.asarray(columns, dtype=np.int64)
    n = len(X)
    rows = np.arange(n)
    if sample is not None and n > sample:
        rows = np.sort(np.random.default_rng(seed).choice(n, sample, replace=False))
    ranks = np.empty((len(rows), len(columns)), np.float16)
    ties = []
    for k, j in enumerate(columns):
        if j == p:
            series, numeric = pd.Series(np.asarray(dataset.y, dtype=object)), None
        else:
            series = X.iloc[:, j]
            numeric = _numeric_values(series)
            numeric = None if numeric is None else _snapped(numeric)
        q, blocks = _column_ranks(series, numeric)
        ranks[:, k] = np.where(np.isnan(q[rows]), -1.0, q[rows])
        ties.append(blocks)
    return RankRows(columns=columns, ranks=ranks, ties=tuple(ties), n_rows=n)


def _tied(a: RankRows, b: RankRows, i: int, j: int) -> tuple[np.ndarray, np.ndarray]:
    """Column ``i`` of ``a`` and ``j`` of ``b`` (positions in their ``RankRows``) with both
    columns' tie blocks applied to both."""
    ca, cb = a.ranks[:, i].astype(float), b.ranks[:, j].astype(float)
    for ties in (a.ties[i], b.ties[j]):
        ca = np.where(ca >= 0, _apply_ties(ca, ties), ca)
        cb = np.where(cb >= 0, _apply_ties(cb, ties), cb)
    return ca, cb


def _nearest(a: RankRows, b: RankRows, pairs: list, seed: int
             ) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    """Which of ``a``'s rows are near copies of a row of ``b`` on ``pairs`` (positions in
    the two ``RankRows``), the row of ``b`` each is nearest to, the share of ``a``'s distinct
    rows that are near copies, the same after shuffling each of ``a``'s columns on its own,
    and the share of ``b``'s rows that repeat another of its rows on these columns.

    A copy maps distinct rows to distinct rows: equal rows of ``a`` count as one, and only
    one of those near the same row of ``b`` counts (so that a table of many all-zero count
    rows is not a copy of whatever table has one row near zero everywhere).
    """
    from scipy.spatial import cKDTree

    columns = [_tied(a, b, i, j) for i, j in pairs]
    qa = np.column_stack([ca for ca, _ in columns])
    qb, first, counts = np.unique(np.column_stack([cb for _, cb in columns]), axis=0,
                                  return_index=True, return_counts=True)
    repeated = float(np.mean(counts > 1))  # distinct rows of b that occur again
    if len(qb) < 2:
        return np.zeros(len(qa), bool), np.zeros(len(qa), np.int64), 0.0, 0.0, repeated
    tree = cKDTree(qb)
    own = tree.query(qb, k=2, p=1)[0][:, 1]  # distance to the nearest distinct row
    distinct_a = len(np.unique(qa, axis=0))

    def near_copies(query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        distance, index = tree.query(query, k=1, p=1)
        near = distance < NEAR_ROWS_RATIO * own[index]
        rows = np.flatnonzero(near)
        once = np.zeros(len(query), bool)
        once[rows[np.unique(index[rows], return_index=True)[1]]] = True
        return once, index

    near, index = near_copies(qa)
    rng = np.random.default_rng(seed)
    chance, _ = near_copies(np.column_stack([rng.permutation(column) for column in qa.T]))
    return (near, first[index], float(near.sum() / distinct_a),
            float(chance.sum() / distinct_a), repeated)


def near_row_shares(a: RankRows, b: RankRows, pairs: Sequence[tuple[int, int]],
                    seed: int = 0) -> tuple[float, float, float]:
    """Share of ``a``'s rows whose nearest row of ``b`` is a near copy; the same after
    shuffling each of ``a``'s columns on its own (the share expected by chance); and the
    share of ``b``'s rows that repeat another of its rows on the paired columns (in tables of
    few discrete columns, such as mushroom, rows of a disjoint sample find an equal row about
    as often: the share a re-sample reaches).

    ``pairs`` are (column of a, column of b) positions in the two tables, from
    :func:`compare`. Quantiles are compared with both columns' tie blocks applied to both,
    by mean absolute difference; a row is a near copy when that distance is below
    ``NEAR_ROWS_RATIO`` times the matched row's distance to its nearest distinct row of
    ``b``. When a first pass finds near copies well above chance, every column of ``a`` is
    paired again with the column of ``b`` it agrees with best on those rows (``compare``
    pairs few columns of a table whose noised ties changed every marginal, spambase), the
    columns whose quantiles moved most under the noise are left out (heavy-tailed columns
    whose dense part the noise reorders, page.blocks), and the rows matched again.
    """
    where_a = {int(c): k for k, c in enumerate(a.columns)}
    where_b = {int(c): k for k, c in enumerate(b.columns)}
    pairs = [(where_a[i], where_b[j]) for i, j in pairs if i in where_a and j in where_b]
    if len(pairs) < 2 or len(a.ranks) < 2 or len(b.ranks) < 2:
        return 0.0, 0.0, 0.0
    near, index, share, chance, repeated = _nearest(a, b, pairs, seed)
    if near.sum() >= 20 and share >= 2 * chance:
        rows_a, rows_b = np.flatnonzero(near), index[near]
        gap = np.empty((len(a.columns), len(b.columns)))
        for j in range(len(b.columns)):
            cb = b.ranks[rows_b, j].astype(float)
            cb = np.where(cb >= 0, _apply_ties(cb, b.ties[j]), cb)
            for i in range(len(a.columns)):
                ca = a.ranks[rows_a, i].astype(float)
                ca = np.where(ca >= 0, _apply_ties(ca, b.ties[j]), ca)
                gap[i, j] = np.abs(ca - cb).mean()
        rows, cols = linear_sum_assignment(gap)
        repaired = [(int(i), int(j)) for i, j in zip(rows, cols, strict=True)
                    if gap[i, j] <= NEAR_ROWS_MAX_GAP]
        if len(repaired) >= 2 and repaired != sorted(pairs):
            _, _, more, more_chance, more_repeated = _nearest(a, b, repaired, seed)
            if more > share:
                share, chance, repeated = more, more_chance, more_repeated
    return share, chance, repeated
