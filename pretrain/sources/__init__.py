"""Where datasets come from: every source yields :class:`Dataset` objects with provenance."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class Dataset:
    """One classification table with where it came from.

    Attributes
    ----------
    id : str
        Unique, stable identifier such as ``"uci/iris"``; records are keyed by it.
    X : pandas.DataFrame
        Features, raw: numeric, categorical (object/category/bool) and missing values.
    y : pandas.Series
        Class labels.
    provenance : dict
        ``source``, ``name``, ``licence``, ``domain``, and for synthetic data
        ``generator`` and ``seed``.
    """

    id: str
    X: pd.DataFrame
    y: pd.Series
    provenance: dict = field(default_factory=dict)

    def __post_init__(self):
        if len(self.X) != len(self.y):
            raise ValueError(
                f"Dataset {self.id!r}: X has {len(self.X)} rows but y has {len(self.y)}."
            )

    @property
    def n_classes(self) -> int:
        return int(pd.Series(self.y).nunique(dropna=True))

    def shape_summary(self) -> dict:
        """Sizes that describe the table, for records and manifests."""
        return {
            "n_rows": int(self.X.shape[0]),
            "n_features": int(self.X.shape[1]),
            "n_classes": self.n_classes,
            "missing_cells": int(np.asarray(self.X.isna()).sum()),
        }
