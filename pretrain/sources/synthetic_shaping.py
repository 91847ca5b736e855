"""What every synthetic draw goes through: its sizes, class priors imposed by subsampling,
monotone transforms of some columns, missing values and the label format, every random
choice recorded for ``provenance["params"]``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pretrain.sources.synthetic_blocks import _choice, _log_uniform, _log_uniform_int

MIN_ROWS, MAX_ROWS = 50, 10_000
"""Range of the log-uniform draw of the number of rows."""
MIN_FEATURES, MAX_FEATURES = 2, 200
"""Range of the log-uniform draw of the number of feature columns."""
MAX_CLASSES = 20
"""Upper end of the log-uniform draw of the number of classes (when not binary)."""
MIN_CLASS_ROWS = 10
"""Every class of a generated dataset has at least this many rows."""

# Generators draw more rows than the dataset keeps, so that class priors can be imposed by
# subsampling; this caps the work (rows x columns) of one draw.
_MAX_GENERATED_CELLS = 4_000_000
_MAX_OVERSAMPLING = 4.0
_MAX_ATTEMPTS = 8


def draw_sizes(rng: np.random.Generator) -> tuple[int, int, int]:
    """Draw ``(n_rows, n_features, n_classes)`` of one dataset.

    Rows are log-uniform on ``[MIN_ROWS, MAX_ROWS]``, features log-uniform on
    ``[MIN_FEATURES, MAX_FEATURES]``; two classes with probability 0.4, else log-uniform on
    ``[3, MAX_CLASSES]``, capped so that every class can have ``MIN_CLASS_ROWS`` rows.
    """
    n_rows = _log_uniform_int(rng, MIN_ROWS, MAX_ROWS)
    n_features = _log_uniform_int(rng, MIN_FEATURES, MAX_FEATURES)
    n_classes = 2 if rng.random() < 0.4 else _log_uniform_int(rng, 3, MAX_CLASSES)
    return n_rows, n_features, min(n_classes, n_rows // MIN_CLASS_ROWS)


def _draw_class_priors(rng: np.random.Generator, n_rows: int, n_classes: int):
    """Target class shares (natural: keep the generator's) and their description."""
    kind = _choice(rng, ["balanced", "natural", "dirichlet", "geometric", "minority"],
                   p=[0.3, 0.15, 0.2, 0.15, 0.2])
    info: dict = {"kind": kind}
    priors = np.full(n_classes, 1.0 / n_classes)
    if kind == "dirichlet":
        info["alpha"] = _log_uniform(rng, 0.3, 5.0)
        priors = rng.dirichlet(np.full(n_classes, info["alpha"]))
    elif kind == "geometric":
        info["ratio"] = _log_uniform(rng, 1.5, 50.0)  # largest over smallest class
        priors = info["ratio"] ** (-np.arange(n_classes) / max(1, n_classes - 1))
        priors = rng.permutation(priors / priors.sum())
    elif kind == "minority":
        info["n_minority"] = int(rng.integers(1, max(1, n_classes // 2) + 1))
        info["weight"] = _log_uniform(rng, 1 / 50, 1 / 3)  # minority over majority class
        weights = np.ones(n_classes)
        weights[rng.choice(n_classes, size=info["n_minority"], replace=False)] = info["weight"]
        priors = weights / weights.sum()
    # Mix with uniform just enough that every class can keep MIN_CLASS_ROWS (+20%) rows.
    floor = min(1.2 * MIN_CLASS_ROWS / n_rows, 1.0 / n_classes)
    if priors.min() < floor:
        share = (floor - priors.min()) / (1.0 / n_classes - priors.min())
        priors = (1 - share) * priors + share / n_classes
    return priors, info


def _rows_to_generate(n_rows: int, n_features: int, n_classes: int,
                      priors: np.ndarray) -> int:
    """Rows a generator draws so that subsampling can usually reach ``priors``."""
    factor = min(max(1.0, n_classes * priors.max()), _MAX_OVERSAMPLING) * 1.15
    wanted = math.ceil(n_rows * factor) + 5 * n_classes
    return min(wanted, max(n_rows + 5 * n_classes, _MAX_GENERATED_CELLS // n_features))


def _subsample_classes(rng, y: np.ndarray, n_classes: int, priors: np.ndarray, natural: bool,
                       n_rows: int):
    """Row indices reaching ``priors`` (or the natural shares) with ``n_rows`` rows at most.

    Classes with fewer than ``MIN_CLASS_ROWS`` rows are dropped; returns None when fewer than
    two classes remain. Each class keeps at least ``MIN_CLASS_ROWS`` rows.
    """
    counts = np.bincount(y, minlength=n_classes)
    present = np.flatnonzero(counts >= MIN_CLASS_ROWS)
    if len(present) < 2:
        return None
    available = counts[present]
    shares = available / available.sum() if natural else priors[present]
    shares = shares / shares.sum()
    total = min(n_rows, int(np.floor((available / shares).min())))
    take = np.clip(np.floor(total * shares).astype(np.int64), MIN_CLASS_ROWS, available)
    excess = int(take.sum()) - n_rows
    for k in np.argsort(-take, kind="stable"):
        if excess <= 0:
            break
        cut = min(excess, int(take[k]) - MIN_CLASS_ROWS)
        take[k] -= cut
        excess -= cut
    rows = [rng.choice(np.flatnonzero(y == k), size=int(t), replace=False)
            for k, t in zip(present, take, strict=True)]
    return rng.permutation(np.concatenate(rows))


_TRANSFORMS = ("exp", "log", "power", "scale", "integer", "categorise")


def _robust_z(values: np.ndarray) -> np.ndarray:
    centre = np.median(values)
    spread = np.subtract(*np.percentile(values, [75, 25])) or values.std() or 1.0
    return np.clip((values - centre) / spread, -10.0, 10.0)


def _transform_columns(rng: np.random.Generator, X: pd.DataFrame):
    """Monotone transforms of some numeric columns; returns the frame and what was done."""
    done: dict[str, str] = {}
    if rng.random() < 0.4:
        return X, done
    share = float(rng.uniform(0.1, 0.7))
    X = X.copy()
    for name in X.columns:
        column = X[name]
        if not pd.api.types.is_numeric_dtype(column) or rng.random() >= share:
            continue
        kind = _choice(rng, _TRANSFORMS, p=[0.2, 0.15, 0.15, 0.25, 0.15, 0.1])
        values = column.to_numpy(dtype=float)
        z = _robust_z(values)
        if kind == "exp":
            new = np.exp(rng.uniform(0.3, 1.5) * z) * 10 ** rng.uniform(-1.0, 3.0)
        elif kind == "log":
            scale = (np.subtract(*np.percentile(values, [75, 25])) or 1.0) * _log_uniform(
                rng, 0.01, 1.0)
            new = np.log1p((values - values.min()) / scale)
        elif kind == "power":
            new = np.sign(z) * np.abs(z) ** _log_uniform(rng, 1 / 3, 3.0)
        elif kind == "scale":
            new = values * 10 ** rng.uniform(-3.0, 4.0) + rng.normal() * 10 ** rng.uniform(
                -2.0, 4.0)
        elif kind == "integer":
            new = np.round(z * _log_uniform(rng, 1.0, 20.0)).astype(np.int64)
        else:
            n_bins = int(rng.integers(2, 9))
            edges = np.unique(np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1]))
            names = np.array([f"bin{k}" for k in range(len(edges) + 1)], dtype=object)
            new = pd.Series(names[np.searchsorted(edges, values, side="right")], dtype=object)
        X[name] = new
        done[name] = kind
    return X, done


def _inject_missing(rng: np.random.Generator, X: pd.DataFrame):
    """Blank cells of some columns (MCAR, MAR or MNAR); returns the frame and what was done."""
    info: dict = {"mechanism": "none", "columns": {}}
    if rng.random() < 0.5:
        return X, info
    mechanism = _choice(rng, ["mcar", "mar", "mnar"], p=[0.45, 0.4, 0.15])
    n_columns = X.shape[1]
    share = float(rng.uniform(0.05, 1.0))
    chosen = np.flatnonzero(rng.random(n_columns) < share)
    if not len(chosen):
        chosen = rng.choice(n_columns, size=1)
    max_rate = float(rng.uniform(0.02, 0.3))
    info.update(mechanism=mechanism, max_rate=max_rate)
    n_rows = len(X)
    complete = np.setdiff1d(np.arange(n_columns), chosen)
    if not len(complete):
        complete = np.arange(n_columns)
    X = X.copy()
    masks = {}
    for j in chosen:
        rate = float(rng.uniform(0.1, 1.0)) * max_rate
        if mechanism == "mcar":
            probability = np.full(n_rows, rate)
        else:
            driver = X.iloc[:, j if mechanism == "mnar" else int(rng.choice(complete))]
            rank = driver.rank(method="first").to_numpy() / n_rows
            if rng.random() < 0.5:
                rank = 1.0 - rank + 1.0 / n_rows
            sharpness = float(rng.uniform(1.0, 4.0))
            probability = np.minimum(rate * (sharpness + 1) * rank**sharpness, 1.0)
        masks[j] = rng.random(n_rows) < probability
    for j, mask in masks.items():
        column = X.iloc[:, j]
        if pd.api.types.is_numeric_dtype(column):
            values = column.to_numpy(dtype=float, copy=True)
            values[mask] = np.nan
            X[X.columns[j]] = values
        else:
            values = column.to_numpy(dtype=object, copy=True)
            values[mask] = np.nan
            X[X.columns[j]] = pd.Series(values, dtype=object, index=X.index)
        info["columns"][X.columns[j]] = round(float(mask.mean()), 4)
    return X, info


def _format_labels(rng: np.random.Generator, y: np.ndarray, n_classes: int):
    """Permute the class codes and write them as ints (from 0 or 1) or strings."""
    codes = rng.permutation(n_classes)[y]
    style = _choice(rng, ["int", "int_from_1", "str_class", "str_letter"],
                    p=[0.4, 0.2, 0.25, 0.15])
    if style == "str_letter" and n_classes > 26:
        style = "str_class"
    if style == "int":
        return pd.Series(codes, name="target"), style
    if style == "int_from_1":
        return pd.Series(codes + 1, name="target"), style
    if style == "str_class":
        names = np.array([f"class_{k}" for k in range(n_classes)], dtype=object)
    else:
        names = np.array([chr(ord("A") + k) for k in range(n_classes)], dtype=object)
    return pd.Series(names[codes], name="target", dtype=object), style


def _jsonable(value):
    """Params as plain JSON types (numpy scalars and arrays converted)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        return round(float(value), 6)
    return value
