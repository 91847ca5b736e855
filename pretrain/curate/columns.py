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
    ``SNAP_WIDTH``); any other column unchanged.

    Small noise on a column of a few levels breaks its ties, which would turn a level
    profile into a quantile shape and change its association bins: a noised copy would look
    like another table. Columns with at most ``PROFILE_MAX_LEVELS`` distinct values, and
    continuous ones (no clear gaps, or clusters wider than ``SNAP_WIDTH``), are left as is.
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
    return values
