"""How curation reads a column: text or numbers, and numbers with jitter snapped back to
their levels (shared by cleaning, fingerprints and near-row matching)."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Columns with at most this many distinct values are described by their level profile.
PROFILE_MAX_LEVELS = 50
#: A numeric column with more than PROFILE_MAX_LEVELS distinct values whose values fall into
#: at most that many clusters, each at most SNAP_WIDTH standard deviations wide and separated
#: by gaps at least SNAP_RATIO times the largest gap inside a cluster, is a discrete column
#: with jitter (a noised copy of 1-5 coded answers) and is described by its clusters.
SNAP_WIDTH = 0.2
SNAP_RATIO = 5.0
#: In any other numeric column, a window TIE_WIDTH standard deviations wide that holds at
#: least TIE_SHARE of the values (and TIE_MIN_ROWS) in a spike is a tie block (the exact
#: zeros of a zero-inflated count, or those zeros after small noise) and becomes one value
#: (see :func:`_tie_blocks_snapped`).
TIE_WIDTH = 0.1
TIE_SHARE = 0.1
TIE_MIN_ROWS = 10


def _is_text(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
                or pd.api.types.is_datetime64_any_dtype(series)
                or pd.api.types.is_timedelta64_dtype(series))


def _numeric_values(series: pd.Series) -> np.ndarray | None:
    """float64 values of a numeric/bool/datetime column (NaN for missing), else None."""
    if pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=float, na_value=np.nan)
    if pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_timedelta64_dtype(series):
        unit = "datetime64[ns]" if pd.api.types.is_datetime64_any_dtype(series) \
            else "timedelta64[ns]"
        out = series.to_numpy(dtype=unit).astype(np.int64).astype(float)
        out[series.isna().to_numpy()] = np.nan
        return out
    if pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        return np.where(np.isfinite(values), values, np.nan)
    return None


def _sd(values: np.ndarray) -> float:
    """Standard deviation without overflow (an exp-transformed column reaches 1e200)."""
    largest = np.abs(values).max() if len(values) else 0.0
    return float((values / largest).std() * largest) if largest > 0 else 0.0


def _snapped(values: np.ndarray) -> np.ndarray:
    """A jittered discrete column with each value replaced by its cluster's median (see
    ``SNAP_WIDTH``); else the column with its tie blocks snapped (see ``TIE_WIDTH``).

    Small noise on a column of a few levels breaks its ties, which would turn a level
    profile into a quantile shape and change its association bins: a noised copy would look
    like another table. Columns with at most ``PROFILE_MAX_LEVELS`` distinct values are left
    as is.
    """
    present = values[~np.isnan(values)]
    distinct = np.unique(present)
    if len(distinct) <= PROFILE_MAX_LEVELS:
        return values
    gaps = np.diff(distinct)
    largest = np.sort(gaps)[::-1][:PROFILE_MAX_LEVELS]
    limit = SNAP_WIDTH * _sd(present)
    for k in range(1, len(largest)):  # k breaks between k + 1 clusters
        if largest[k - 1] < SNAP_RATIO * largest[k]:
            continue
        cluster = np.concatenate([[0], np.cumsum(gaps >= largest[k - 1])])
        starts = np.flatnonzero(np.diff(cluster, prepend=-1))
        ends = np.append(starts[1:], len(distinct)) - 1
        if (distinct[ends] - distinct[starts]).max() > limit:
            continue
        centres = distinct[(starts + ends) // 2]
        out = values.copy()
        out[~np.isnan(values)] = centres[cluster[np.searchsorted(distinct, present)]]
        return out
    return _tie_blocks_snapped(values, present)


def _tie_blocks_snapped(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """``values`` with every tie block made one value: a window ``TIE_WIDTH`` sds wide that
    holds ``TIE_SHARE`` of the values (and ``TIE_MIN_ROWS``) and whose middle half spans at
    most a quarter of it (a spike, not the peak of a continuous density), densest first;
    its values, and all others within half a window of its median, become that median
    (blocks do not overlap).

    A zero-inflated column (word counts: 0.77 of spambase's ``word_freq_make`` is 0) keeps
    its exact zeros in the original, while noise of 1% of the sd spreads them over a few
    hundredths of an sd: the share of the most frequent value drops to 0 and, where the
    zeros hold the middle 80%, the quantile scale becomes the noise's, so a noised copy
    looked like another table (content distance 2.9). Snapping the block in both tables
    gives them one value again (spambase's copy: distance 0.44, caught by content; the bound
    values 0 and 100 of pendigits likewise). The spike test leaves alone the peak of a
    continuous density, where a window's edges would cut it at a place that a little noise
    moves. Not invariant to monotone transforms: after exp, a column's bulk can become one
    block (a few outliers inflate the sd); the guard then pairs such a copy on ranks and
    finds its rows as quantiles (:meth:`LeakageGuard.check`).
    """
    ordered = np.sort(present)
    n = len(ordered)
    width = TIE_WIDTH * _sd(ordered)
    if n == 0 or width <= 0:
        return values
    starts = np.arange(n)
    ends = np.searchsorted(ordered, ordered + width, side="right")
    free = np.ones(n, bool)
    snapped = ordered.copy()
    while True:
        counts = np.where(free, ends - starts, 0)
        spread = ordered[np.minimum(starts + 3 * counts // 4, n - 1)] - \
            ordered[starts + counts // 4]
        candidates = np.where(spread <= width / 4, counts, 0)
        start = int(np.argmax(candidates))
        if candidates[start] < max(TIE_SHARE * n, TIE_MIN_ROWS):
            break
        # the block is centred on the spike, so that an exact tie at the edge of the
        # values (zeros of a count) and the same tie after noise take the same neighbours
        centre = np.median(ordered[start:ends[start]])
        lo = int(np.searchsorted(ordered, centre - width / 2, side="left"))
        hi = int(np.searchsorted(ordered, centre + width / 2, side="right"))
        taken_before, taken_after = np.flatnonzero(~free[:start]), np.flatnonzero(~free[start:hi])
        if len(taken_before):  # blocks do not overlap
            lo = max(lo, int(taken_before[-1]) + 1)
        if len(taken_after):
            hi = start + int(taken_after[0])
        snapped[lo:hi] = centre
        free[lo:hi] = False
        ends[:lo] = np.minimum(ends[:lo], lo)  # windows before it stop at it
    if free.all():
        return values
    out = values.copy()
    out[~np.isnan(values)] = snapped[np.searchsorted(ordered, present)]
    return out
