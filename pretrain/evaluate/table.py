"""One benchmark's arrays (:class:`SelectionTable`), read from a table in corpus layout."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from skllmselect.metafeatures import METAFEATURE_NAMES
from skllmselect.portfolio import PIPELINE_NAMES


@dataclass
class SelectionTable:
    """One benchmark's arrays, rows in table order (see :func:`selection_table`)."""

    datasets: list[str]
    groups: pd.DataFrame
    """Per dataset: ``source``, ``domain`` (and ``split`` where the table has one)."""
    metafeatures: np.ndarray
    """(n, F) float64, NaN where a meta-feature is missing."""
    scores: np.ndarray
    """(n, P) the protocol's score (chance level where the pipeline failed)."""
    ok: np.ndarray
    """(n, P) bool, True where the pipeline's status is "ok"."""
    fit_times: np.ndarray
    """(n, P) seconds the protocol spent on the pipeline (0 where none was measured)."""
    eligible: np.ndarray | None = None
    """(n, P) bool, False where a pipeline cannot fit the protocol's folds (known from the
    labels, :func:`skllmselect.portfolio.unmet_requirements`); None when the labels are not
    at hand. Every method's ranking puts those pipelines last, as the selector does."""

    def __len__(self) -> int:
        return len(self.datasets)

    def subset(self, rows) -> SelectionTable:
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        return SelectionTable(
            datasets=[self.datasets[i] for i in rows],
            groups=self.groups.iloc[rows].reset_index(drop=True),
            metafeatures=self.metafeatures[rows], scores=self.scores[rows],
            ok=self.ok[rows], fit_times=self.fit_times[rows],
            eligible=None if self.eligible is None else self.eligible[rows])


def selection_table(frame: pd.DataFrame) -> SelectionTable:
    """Read a table in corpus layout (``corpus.parquet`` or ``corpus.benchmark_table``).

    Raises
    ------
    ValueError
        If a column is missing or a score is missing (the protocol always gives one).
    """
    needed = ([f"mf.{n}" for n in METAFEATURE_NAMES]
              + [f"{kind}.{p}" for kind in ("score", "status", "fit_time")
                 for p in PIPELINE_NAMES])
    missing = [c for c in ["dataset", *needed] if c not in frame.columns]
    if missing:
        raise ValueError(f"The table lacks the columns {missing[:5]} ({len(missing)} in all); "
                         "expected the corpus layout of pretrain/corpus.py.")
    scores = frame[[f"score.{p}" for p in PIPELINE_NAMES]].to_numpy(dtype=np.float64)
    if not np.isfinite(scores).all():
        bad = frame["dataset"].to_numpy()[~np.isfinite(scores).all(axis=1)]
        raise ValueError(f"Missing scores for {list(bad[:5])}: the protocol gives every "
                         "(dataset, pipeline) a score (chance level when it failed).")
    meta = frame[[f"mf.{n}" for n in METAFEATURE_NAMES]].to_numpy(dtype=np.float64, copy=True)
    meta[~np.isfinite(meta)] = np.nan
    seconds = frame[[f"fit_time.{p}" for p in PIPELINE_NAMES]].to_numpy(dtype=np.float64)
    group_columns = [c for c in ("source", "domain", "split") if c in frame.columns]
    return SelectionTable(
        datasets=frame["dataset"].astype(str).tolist(),
        groups=frame[group_columns].astype(str).reset_index(drop=True),
        metafeatures=meta, scores=scores,
        ok=frame[[f"status.{p}" for p in PIPELINE_NAMES]].to_numpy() == "ok",
        fit_times=np.nan_to_num(seconds, nan=0.0))
