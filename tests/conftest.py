"""Shared fixtures: small hand-made tables that exercise every column kind."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

try:  # the [test] extra installs it; without it only tests/test_fuzz.py cannot run
    from hypothesis import HealthCheck, settings
except ImportError:  # pragma: no cover
    settings = None

# Property-based tests (tests/test_fuzz.py). "ci", the default, is reproducible (derandomize:
# the same examples in every run) and sized for a few minutes; "slow" draws ten times as many
# fresh examples each run: HYPOTHESIS_PROFILE=slow pytest tests/test_fuzz.py. Each test runs
# a share of the profile's max_examples (see tests/test_fuzz.py). No example database: the
# tree is shared, and a failure prints the reproducing @reproduce_failure blob instead.
if settings is not None:
    _FUZZ = {"deadline": None, "database": None, "print_blob": True,
             "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.large_base_example,
                                       HealthCheck.function_scoped_fixture]}
    settings.register_profile("ci", max_examples=100, derandomize=True, **_FUZZ)
    settings.register_profile("slow", max_examples=1000, **_FUZZ)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def make_mixed_frame(n_rows: int = 120, n_classes: int = 3, seed: int = 0):
    """A frame with numeric, categorical, bool and nullable columns, NaN, and a signal."""
    rng = np.random.default_rng(seed)
    y = np.array([f"class_{i % n_classes}" for i in range(n_rows)], dtype=object)
    codes = np.array([i % n_classes for i in range(n_rows)])
    X = pd.DataFrame({
        "signal": codes + rng.normal(0, 0.5, n_rows),
        "noise": rng.normal(size=n_rows),
        "with_nan": np.where(rng.random(n_rows) < 0.2, np.nan, rng.normal(size=n_rows)),
        "colour": pd.Series(rng.choice(["red", "green", "blue", None], n_rows), dtype=object),
        "size": pd.Categorical(rng.choice(["S", "M", "L"], n_rows)),
        "flag": rng.random(n_rows) < 0.5,
        "count": pd.array(np.where(rng.random(n_rows) < 0.1, None, rng.integers(0, 9, n_rows)),
                          dtype="Int64"),
    })
    return X, pd.Series(y, name="target")


@pytest.fixture
def mixed_frame():
    return make_mixed_frame()
