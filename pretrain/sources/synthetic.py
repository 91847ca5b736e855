"""Synthetic priors: generated classification tables for the pretraining corpus.

The selector learns which pipeline wins from the meta-features of a dataset, so the corpus
needs many datasets on which *different* pipelines win. Each generator
(``synthetic_priors``, :data:`GENERATORS`) is a prior over tables built around one kind of
concept, and each favours a different algorithm family.

Every generator is followed by the same post-processing (``synthetic_shaping``), its random
choices recorded in ``provenance["params"]``: class priors (balanced, Dirichlet, geometric,
a few minority classes, or the generator's own shares; every class keeps at least
:data:`MIN_CLASS_ROWS` rows), monotone transforms of some numeric columns (exp, log, power,
scale, integer, binned into string levels), missing values in about half the datasets
(MCAR, MAR driven by another column, or MNAR), shuffled column order with names
``x0, x1, ...``, and integer or string labels.

A dataset is a pure function of ``(generator, seed)``: its random generator is seeded from
the seed and a SHA-256 digest of the generator's name, never from Python's salted ``hash``.
This module makes one (:func:`make_synthetic`) and plans a corpus of them
(:func:`iter_synthetic`, :func:`synthetic_plan`); ``synthetic_blocks`` holds the
generators' building blocks.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from pretrain.sources import Dataset
from pretrain.sources.synthetic_priors import GENERATORS, GeneratorFunction
from pretrain.sources.synthetic_shaping import (
    _MAX_ATTEMPTS,
    MAX_CLASSES,
    MAX_FEATURES,
    MAX_ROWS,
    MIN_CLASS_ROWS,
    MIN_FEATURES,
    MIN_ROWS,
    _draw_class_priors,
    _format_labels,
    _inject_missing,
    _jsonable,
    _rows_to_generate,
    _subsample_classes,
    _transform_columns,
    draw_sizes,
)

SEED_STRIDE = 1_000_000_000
""":func:`iter_synthetic` gives its ``j``-th dataset of a generator ``seed * SEED_STRIDE + j``."""


#: The public names, those of the other synthetic_* modules that callers use included.
__all__ = ["GENERATORS", "GeneratorFunction", "MAX_CLASSES", "MAX_FEATURES", "MAX_ROWS",
           "MIN_CLASS_ROWS", "MIN_FEATURES", "MIN_ROWS", "SEED_STRIDE", "draw_sizes",
           "generator_rng", "iter_synthetic", "make_synthetic", "synthetic_plan"]

def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def generator_rng(generator: str, seed: int) -> np.random.Generator:
    """The random generator of dataset ``(generator, seed)``, the same in every process."""
    return np.random.default_rng([int(seed), _stable_int(generator)])


def _check_generator(generator: str) -> None:
    if generator not in GENERATORS:
        raise ValueError(
            f"Unknown synthetic generator {generator!r}. Known generators: "
            f"{', '.join(GENERATORS)}."
        )


def make_synthetic(generator: str, seed: int, *, n_rows: int | None = None,
                   n_features: int | None = None, n_classes: int | None = None) -> Dataset:
    """Generate dataset number ``seed`` of the prior ``generator``.

    Parameters
    ----------
    generator : str
        A key of :data:`GENERATORS`.
    seed : int
        Non-negative; with ``generator`` it fixes every random choice.
    n_rows, n_features, n_classes : int, optional
        Override the drawn sizes (for tests and small experiments). The id then carries
        them, so it never names two different tables. ``n_rows`` is a target: class priors
        may leave fewer rows.

    Returns
    -------
    Dataset
        ``id`` is ``"synthetic/{generator}/{seed}"``; ``provenance["params"]`` records every
        random choice (JSON-serialisable), the target sizes and the class counts.

    Raises
    ------
    ValueError
        For an unknown generator, a negative seed or impossible sizes.

    Examples
    --------
    >>> from pretrain.sources.synthetic import make_synthetic
    >>> data = make_synthetic("manifold", 3)
    >>> data.id
    'synthetic/manifold/3'
    >>> make_synthetic("manifold", 3).X.equals(data.X)
    True
    """
    _check_generator(generator)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    seed = int(seed)
    rng = generator_rng(generator, seed)
    drawn = draw_sizes(rng)  # drawn even when overridden, so the rest of the stream is stable
    overrides = {"n_rows": n_rows, "n_features": n_features, "n_classes": n_classes}
    overrides = {k: int(v) for k, v in overrides.items() if v is not None}
    sizes = _final_sizes(drawn, overrides)
    priors, imbalance = _draw_class_priors(rng, sizes["n_rows"], sizes["n_classes"])
    X, y, draw = _draw_table(rng, generator, seed, sizes, priors, imbalance)
    X, y, shaping = _shape_table(rng, X, y)
    counts = y.value_counts()
    if imbalance["kind"] != "natural":
        imbalance["priors"] = [round(float(p), 4) for p in priors]
    renamed = shaping.pop("renamed")
    params = {
        "sizes": sizes,
        **draw,
        "imbalance": imbalance,
        "class_counts": {str(k): int(v) for k, v in counts.items()},
        "minority_share": round(float(counts.min() / counts.sum()), 4),
        **shaping,
        "column_roles": {renamed[role]: role for role in renamed},
    }
    dataset_id = f"synthetic/{generator}/{seed}"
    if overrides:
        params["drawn_sizes"] = dict(zip(("n_rows", "n_features", "n_classes"), drawn,
                                         strict=True))
        dataset_id += "/" + ",".join(f"{k}={v}" for k, v in overrides.items())
    return Dataset(
        id=dataset_id,
        X=X,
        y=y,
        provenance={
            "source": "synthetic",
            "name": dataset_id.removeprefix("synthetic/"),
            "generator": generator,
            "seed": seed,
            "licence": "generated",
            "domain": "synthetic",
            "params": _jsonable(params),
        },
    )


def _final_sizes(drawn: tuple[int, int, int], overrides: dict) -> dict:
    """The drawn sizes with the caller's overrides, checked."""
    sizes = dict(zip(("n_rows", "n_features", "n_classes"), drawn, strict=True))
    sizes.update(overrides)
    if "n_classes" not in overrides:  # the cap of draw_sizes, for an overridden n_rows
        sizes["n_classes"] = max(2, min(sizes["n_classes"], sizes["n_rows"] // MIN_CLASS_ROWS))
    n_rows, n_features, n_classes = sizes["n_rows"], sizes["n_features"], sizes["n_classes"]
    if n_features < MIN_FEATURES or n_classes < 2 or n_rows < MIN_CLASS_ROWS * n_classes:
        raise ValueError(
            f"Impossible sizes {sizes}: need n_features >= {MIN_FEATURES}, n_classes >= 2 "
            f"and n_rows >= {MIN_CLASS_ROWS} * n_classes."
        )
    return sizes


def _draw_table(rng: np.random.Generator, generator: str, seed: int, sizes: dict,
                priors: np.ndarray, imbalance: dict) -> tuple[pd.DataFrame, np.ndarray, dict]:
    """The generator's draw, subsampled to the class priors: X, class codes 0..K'-1, and
    the draw's params (``generator``, ``attempts``, ``rows_generated``)."""
    n_rows, n_features, n_classes = sizes["n_rows"], sizes["n_features"], sizes["n_classes"]
    n_generated = _rows_to_generate(n_rows, n_features, n_classes, priors)
    rows, attempts = None, 0
    while rows is None:  # a draw with fewer than two usable classes is drawn again, larger
        if attempts == _MAX_ATTEMPTS:
            raise RuntimeError(
                f"{generator} seed {seed}: no draw in {_MAX_ATTEMPTS} attempts had two "
                f"classes of at least {MIN_CLASS_ROWS} rows."
            )
        if attempts:
            n_generated = math.ceil(1.5 * n_generated)
        attempts += 1
        # One BLAS thread whatever the caller set: with more, matrix products may sum in
        # another order and differ in the last bit. Seen once in 1,214 regenerations
        # (random_mlp_scm/290: 64 cells, 1 ulp), so that table can only be scored from the
        # stored copy (`runs --source collection`), not regenerated elsewhere.
        with threadpool_limits(limits=1):
            X, y, generator_params = GENERATORS[generator](rng, n_generated, n_features,
                                                           n_classes)
        y = np.asarray(y, dtype=np.int64)
        assert X.shape == (n_generated, n_features), (generator, X.shape)
        rows = _subsample_classes(rng, y, n_classes, priors, imbalance["kind"] == "natural",
                                  n_rows)
    X = X.iloc[rows].reset_index(drop=True)
    _, y = np.unique(y[rows], return_inverse=True)  # codes 0..K'-1 for the classes kept
    return X, y, {"generator": generator_params, "attempts": attempts,
                  "rows_generated": n_generated}


def _shape_table(rng: np.random.Generator, X: pd.DataFrame,
                 y: np.ndarray) -> tuple[pd.DataFrame, pd.Series, dict]:
    """The post-processing every draw goes through (``synthetic_shaping``), in a fixed
    order: transforms, missing values, shuffled and renamed columns, the label format.
    Returns the table, the labels and the params (``renamed``: role -> new name, in the
    new column order)."""
    X, transforms = _transform_columns(rng, X)
    X, missing = _inject_missing(rng, X)
    order = rng.permutation(X.shape[1])
    roles = [str(X.columns[j]) for j in order]
    renamed = {old: f"x{i}" for i, old in enumerate(roles)}
    X = X.iloc[:, order].set_axis(list(renamed.values()), axis=1)
    y, label_style = _format_labels(rng, y, int(y.max()) + 1)
    return X, y, {
        "transforms": {renamed[k]: v for k, v in transforms.items()},
        "missing": {**missing, "columns": {renamed[k]: v
                                           for k, v in missing["columns"].items()}},
        "labels": label_style,
        "renamed": renamed,
    }

def iter_synthetic(count: int, seed: int = 0,
                   generators: Iterable[str] | None = None) -> Iterator[Dataset]:
    """Yield ``count`` synthetic datasets, cycling through ``generators`` round-robin.

    The ``j``-th dataset of each generator has seed ``seed * SEED_STRIDE + j``, so a
    dataset's id does not depend on ``count`` nor on which other generators are listed,
    and corpora made with different ``seed`` never share a dataset.

    Parameters
    ----------
    count : int
        Number of datasets.
    seed : int, default=0
        Corpus seed, non-negative.
    generators : iterable of str, optional
        Names from :data:`GENERATORS` (default: all, in their order).

    Returns
    -------
    iterator of Dataset
        Made lazily, one at a time.

    Examples
    --------
    >>> from pretrain.sources.synthetic import iter_synthetic
    >>> [d.id for d in iter_synthetic(3, generators=["manifold", "tree_rules"])]
    ['synthetic/manifold/0', 'synthetic/tree_rules/0', 'synthetic/manifold/1']
    """
    # Arguments are checked by synthetic_plan, when called, not at the first ``next``.
    return (make_synthetic(name, j) for name, j in synthetic_plan(count, seed, generators))


def synthetic_plan(count: int, seed: int = 0,
                   generators: Iterable[str] | None = None) -> list[tuple[str, int]]:
    """The ``(generator, seed)`` pairs :func:`iter_synthetic` makes, without making them.

    Lets a parallel caller hand each worker a pair to generate, instead of generating
    every table in the launching process.
    """
    names = list(GENERATORS) if generators is None else list(generators)
    if not names:
        raise ValueError("generators is empty; pass None for all of them.")
    for name in names:
        _check_generator(name)
    if count < 0 or seed < 0:
        raise ValueError(f"count and seed must be non-negative, got {count} and {seed}.")
    return [(names[index % len(names)], seed * SEED_STRIDE + index // len(names))
            for index in range(count)]
