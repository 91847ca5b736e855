"""Synthetic priors: reproducible from (generator, seed), valid, varied and learnable."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import StratifiedKFold, cross_val_score

from pretrain.sources.synthetic import (
    GENERATORS,
    MAX_FEATURES,
    MAX_ROWS,
    MIN_CLASS_ROWS,
    MIN_FEATURES,
    SEED_STRIDE,
    iter_synthetic,
    make_synthetic,
)
from skllmselect.portfolio import make_pipeline_by_name

ROOT = Path(__file__).resolve().parents[1]
NAMES = list(GENERATORS)
SEEDS = range(20)


def digest(dataset) -> str:
    """Hash of everything a dataset holds: values, dtypes, names, labels, provenance."""
    h = hashlib.sha256()
    h.update(dataset.id.encode())
    h.update(json.dumps([[str(c), str(t)] for c, t in dataset.X.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(dataset.X, index=True).to_numpy().tobytes())
    h.update(str(dataset.y.dtype).encode())
    h.update(pd.util.hash_pandas_object(dataset.y, index=True).to_numpy().tobytes())
    h.update(json.dumps(dataset.provenance, sort_keys=True).encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def corpus():
    """Twenty datasets of every generator at their drawn sizes (made once per module)."""
    return {name: [make_synthetic(name, seed) for seed in SEEDS] for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_same_generator_and_seed_give_identical_data(name):
    first, second = make_synthetic(name, 7), make_synthetic(name, 7)
    pd.testing.assert_frame_equal(first.X, second.X)
    pd.testing.assert_series_equal(first.y, second.y)
    assert first.provenance == second.provenance
    assert first.id == f"synthetic/{name}/7"


def test_same_data_in_another_process():
    # Another process with another hash salt: the rng must not depend on Python's hash().
    code = (
        "import json; from tests.test_sources_synthetic import NAMES, digest; "
        "from pretrain.sources.synthetic import make_synthetic; "
        "print(json.dumps({n: digest(make_synthetic(n, 3)) for n in NAMES}))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    there = json.loads(done.stdout.strip().splitlines()[-1])
    assert there == {name: digest(make_synthetic(name, 3)) for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_different_seeds_give_different_data(name):
    assert digest(make_synthetic(name, 0)) != digest(make_synthetic(name, 1))
    sizes = dict(n_rows=100, n_features=5, n_classes=2)
    a, b = make_synthetic(name, 0, **sizes), make_synthetic(name, 1, **sizes)
    assert not a.X.equals(b.X)


@pytest.mark.parametrize("name", NAMES)
def test_every_generator_gives_valid_datasets(corpus, name):
    for seed, data in zip(SEEDS, corpus[name], strict=True):
        where = f"{name} seed {seed}"
        n_rows, n_features = data.X.shape
        assert data.id == f"synthetic/{name}/{seed}"
        assert MIN_FEATURES <= n_features <= MAX_FEATURES, where
        assert n_features == data.provenance["params"]["sizes"]["n_features"], where
        assert 2 * MIN_CLASS_ROWS <= n_rows <= MAX_ROWS, where
        assert list(data.X.columns) == [f"x{i}" for i in range(n_features)], where
        assert isinstance(data.X.index, pd.RangeIndex) and data.y.index.equals(data.X.index)
        counts = data.y.value_counts()
        assert len(counts) >= 2 and counts.min() >= MIN_CLASS_ROWS, (where, counts)
        assert data.y.notna().all(), where
        for column in data.X.columns:
            values = data.X[column]
            assert (pd.api.types.is_numeric_dtype(values)
                    or pd.api.types.is_object_dtype(values)), (where, column, values.dtype)
            if pd.api.types.is_numeric_dtype(values):
                assert not np.isinf(values.to_numpy(dtype=float)).any(), (where, column)
            assert values.notna().any(), (where, column)
        provenance = data.provenance
        assert json.loads(json.dumps(provenance, allow_nan=False)) == provenance, where
        assert provenance["source"] == "synthetic" and provenance["generator"] == name
        assert provenance["seed"] == seed and provenance["licence"] == "generated"
        assert provenance["domain"] == "synthetic"


@pytest.mark.parametrize("name", NAMES)
def test_missing_values_transforms_and_imbalance_appear_across_seeds(corpus, name):
    missing = [int(d.X.isna().to_numpy().sum()) for d in corpus[name]]
    assert 0 < sum(m > 0 for m in missing) < len(missing)
    assert max(m / d.X.size for m, d in zip(missing, corpus[name], strict=True)) <= 0.3
    assert any(d.provenance["params"]["transforms"] for d in corpus[name])
    # Strong imbalance somewhere: the smallest class well under its balanced share.
    shares = [d.y.value_counts(normalize=True) for d in corpus[name]]
    assert any(s.min() < 0.5 / len(s) for s in shares)
    assert any(s.max() - s.min() < 0.05 for s in shares)
    labels = {"int" if pd.api.types.is_integer_dtype(d.y) else "str" for d in corpus[name]}
    assert labels == {"int", "str"}


def test_categorical_heavy_has_mostly_object_columns(corpus):
    levels = []
    for data in corpus["categorical_heavy"]:
        objects = data.X.select_dtypes(include="object")
        assert objects.shape[1] >= 0.5 * data.X.shape[1], data.id
        assert all(isinstance(v, str) for v in objects.stack().dropna().head(50)), data.id
        levels.extend(objects.nunique())
    assert min(levels) <= 5 and max(levels) > 50


def test_other_generators_are_numeric(corpus):
    for name in ("linear_gaussian", "random_mlp_scm", "sparse_counts"):
        assert any(d.X.dtypes.map(pd.api.types.is_numeric_dtype).all() for d in corpus[name])


@pytest.mark.parametrize("name", NAMES)
def test_generators_are_learnable_but_not_trivial(name):
    # A small forest on small instances: better than chance on average, rarely perfect.
    scores, chances = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(6):
            data = make_synthetic(name, seed, n_rows=240, n_features=8)
            model = make_pipeline_by_name("random_forest", random_state=0)
            model.set_params(model__n_estimators=20)
            cv = StratifiedKFold(3, shuffle=True, random_state=0)
            scores.append(cross_val_score(model, data.X, data.y, cv=cv,
                                          scoring="balanced_accuracy").mean())
            chances.append(1 / data.n_classes)
    scores, chances = np.array(scores), np.array(chances)
    assert (scores - chances).mean() > 0.1, (scores, chances)
    assert ((scores > chances + 0.02) & (scores < 0.995)).sum() >= 3, (scores, chances)


def test_sizes_can_be_overridden():
    data = make_synthetic("tree_rules", 5, n_rows=200, n_features=7, n_classes=3)
    assert data.X.shape[1] == 7 and len(data.X) <= 200 and data.n_classes <= 3
    assert data.id == "synthetic/tree_rules/5/n_rows=200,n_features=7,n_classes=3"
    assert data.provenance["params"]["sizes"] == {"n_rows": 200, "n_features": 7,
                                                  "n_classes": 3}


def test_iter_synthetic_cycles_generators_with_stable_ids():
    names = ["manifold", "heteroscedastic"]
    datasets = list(iter_synthetic(5, generators=names))
    assert [d.id for d in datasets] == [
        "synthetic/manifold/0", "synthetic/heteroscedastic/0", "synthetic/manifold/1",
        "synthetic/heteroscedastic/1", "synthetic/manifold/2",
    ]
    pd.testing.assert_frame_equal(datasets[3].X, make_synthetic("heteroscedastic", 1).X)
    other = next(iter_synthetic(1, seed=2, generators=names))
    assert other.id == f"synthetic/manifold/{2 * SEED_STRIDE}"
    assert len(list(iter_synthetic(len(NAMES) + 1))) == len(NAMES) + 1


def test_unknown_generator_raises():
    with pytest.raises(ValueError, match=r"Unknown synthetic generator 'nope'.*linear_gaussian"):
        make_synthetic("nope", 0)
    with pytest.raises(ValueError, match=r"Unknown synthetic generator 'nope'"):
        iter_synthetic(3, generators=["manifold", "nope"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(seed=-1), "non-negative"),
        (dict(seed=0, n_rows=30, n_classes=5), "Impossible sizes"),
        (dict(seed=0, n_features=1), "Impossible sizes"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_synthetic("linear_gaussian", **kwargs)
