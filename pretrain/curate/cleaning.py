"""Column and row cleaning, and the accept/reject decision for one table (:func:`clean`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from pretrain.curate.columns import _is_text, _numeric_values
from pretrain.curate.config import CurateConfig
from pretrain.sources import Dataset

#: Why a column is dropped, in the order the checks run.
COLUMN_REASONS = ("constant", "target_copy", "identifier")
#: Why rows are dropped.
ROW_REASONS = ("unlabelled", "tiny_class")
#: Why a dataset is rejected by :func:`clean`.
CLEAN_REASONS = ("single_class", "too_many_classes", "no_features", "too_few_rows",
                 "mostly_duplicates")


@dataclass
class CleanResult:
    """Outcome of :func:`clean` for one dataset."""

    dataset: Dataset | None
    """The cleaned dataset, or None when rejected."""
    reason: str | None
    """One of :data:`CLEAN_REASONS` when rejected."""
    dropped_columns: dict = field(default_factory=dict)
    """Reason -> names of the dropped columns."""
    dropped_rows: dict = field(default_factory=dict)
    """Reason -> number of dropped rows."""
    duplicate_share: float = 0.0
    """Share of rows that repeat an earlier row (features and target)."""


def _codes(series: pd.Series) -> np.ndarray:
    """Integer codes of a column's values, missing being a value of its own."""
    return pd.factorize(series, use_na_sentinel=False)[0]


def _integer_values(series: pd.Series) -> np.ndarray | None:
    """The column as int64 when it is a numeric column of whole numbers, else None."""
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return None
    values = series.to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(values).any() or not np.all(np.isfinite(values)) \
            or not np.array_equal(values, np.round(values)):
        return None
    return values.astype(np.int64)


def column_drop_reason(series: pd.Series, y_codes: np.ndarray,
                       identifier_share: float = 0.99) -> str | None:
    """Why a feature column is useless or leaky, or None to keep it.

    - ``constant``: one value, or all missing (missing counts as a value, so a column that is
      either one value or missing is kept: it is a binary indicator);
    - ``target_copy``: its values and the target's are in one-to-one correspondence (the
      target itself, or a relabelling such as "yes"/"no" -> 1/0);
    - ``identifier``: unique per row, with no missing value: strings of which at least
      ``identifier_share`` of the rows have a value of their own (splice's instance names
      repeat 12 times in 3,190 rows), or whole numbers (or time stamps), all distinct, that
      increase strictly with the row order or are a shuffled run of consecutive integers
      (row numbers, ids).
    """
    codes = _codes(series)
    n_levels = int(codes.max()) + 1 if len(codes) else 0
    if n_levels <= 1:
        return "constant"
    n_classes = int(y_codes.max()) + 1
    if n_levels == n_classes:
        pairs = np.unique(codes.astype(np.int64) * n_classes + y_codes)
        if len(pairs) == n_classes:
            return "target_copy"
    if len(series) >= 3 and not series.isna().any() and _is_text(series) \
            and n_levels >= identifier_share * len(series):
        return "identifier"
    if n_levels == len(series) and len(series) >= 3 and not series.isna().any():
        integers = _integer_values(series)
        if pd.api.types.is_datetime64_any_dtype(series):  # a time stamp per row
            integers = _numeric_values(series).astype(np.int64)
        if integers is not None and (
            np.all(np.diff(integers) > 0) or integers.max() - integers.min() == len(series) - 1
        ):
            return "identifier"
    return None


def duplicate_share(X: pd.DataFrame, y) -> float:
    """Share of rows that repeat an earlier row exactly (features and target)."""
    if not len(X):
        return 0.0
    hashed = pd.util.hash_pandas_object(X, index=False).to_numpy()
    hashed_y = pd.util.hash_pandas_object(pd.Series(np.asarray(y, dtype=object)),
                                          index=False).to_numpy()
    rows = hashed * np.uint64(0x9E3779B97F4A7C15) ^ hashed_y
    return float(pd.Series(rows).duplicated().mean())


def clean(dataset: Dataset, config: CurateConfig = CurateConfig()) -> CleanResult:
    """Drop useless columns and rows, then accept or reject the dataset.

    Steps: drop rows whose label is missing; drop the rows of classes with fewer than
    ``config.min_class_rows`` rows; reject a target with fewer than 2 or more than
    ``config.max_classes`` classes; drop constant, target-copy and identifier columns
    (:func:`column_drop_reason`); reject when no feature is left, when fewer than
    ``config.min_rows`` rows are left, or when more than ``config.max_duplicate_share`` of the
    rows repeat an earlier one.
    """
    X = dataset.X
    y = dataset.y if isinstance(dataset.y, pd.Series) else pd.Series(np.asarray(dataset.y))
    y = y.reset_index(drop=True)  # labels keep their dtype; rows are matched by position
    result = CleanResult(None, None, {r: [] for r in COLUMN_REASONS},
                         {r: 0 for r in ROW_REASONS})
    keep = y.notna().to_numpy().copy()
    result.dropped_rows["unlabelled"] = int((~keep).sum())
    counts = y[keep].value_counts()
    tiny = counts.index[counts < config.min_class_rows]
    if len(tiny):
        small = y.isin(tiny).to_numpy() & keep
        result.dropped_rows["tiny_class"] = int(small.sum())
        keep &= ~small
    if not keep.all():
        X = X.iloc[np.flatnonzero(keep)]
        y = y.iloc[np.flatnonzero(keep)]
    X = X.reset_index(drop=True)
    y = y.reset_index(drop=True)
    n_classes = y.nunique()
    if n_classes < 2:
        result.reason = "single_class"
        return result
    if n_classes > config.max_classes:
        result.reason = "too_many_classes"
        return result
    y_codes = _codes(y)
    kept = []
    for position, column in enumerate(X.columns):
        reason = column_drop_reason(X.iloc[:, position], y_codes, config.identifier_share)
        if reason is None:
            kept.append(position)
        else:
            result.dropped_columns[reason].append(column)
    X = X.iloc[:, kept]
    if not X.shape[1]:
        result.reason = "no_features"
        return result
    if len(X) < config.min_rows:
        result.reason = "too_few_rows"
        return result
    result.duplicate_share = duplicate_share(X, y)
    if result.duplicate_share > config.max_duplicate_share:
        result.reason = "mostly_duplicates"
        return result
    curation = {"dropped_columns": {k: list(map(str, v)) for k, v in
                                    result.dropped_columns.items() if v},
                "dropped_rows": {k: v for k, v in result.dropped_rows.items() if v}}
    provenance = {**dataset.provenance,
                  "curation": {**dataset.provenance.get("curation", {}), **curation}}
    result.dataset = replace(dataset, X=X, y=y.rename(getattr(dataset.y, "name", "target")),
                             provenance=provenance)
    return result
