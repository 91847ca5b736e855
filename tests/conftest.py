"""Shared fixtures: a small hand-made table that exercises every column kind, tiny models.

The helpers behind them are in ``tests/helpers.py``; nothing here does work at import."""

from __future__ import annotations

import os

import pytest
import torch

from tests.helpers import make_mixed_frame, make_tiny_model

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


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """One torch thread in every test, set here once rather than by each module at import:
    the tests compare numbers, not speed, and CI shares 2 cores."""
    torch.set_num_threads(1)


@pytest.fixture
def mixed_frame():
    return make_mixed_frame()


@pytest.fixture(scope="session")
def rigged_model(tmp_path_factory):
    """Factory: ``rigged_model(name, **kwargs)``, the folder of a tiny model with a fixed
    ranking, predicted fit times or uncertainty (see :func:`tests.helpers.make_tiny_model`),
    written on the first request of each name in a session."""
    root = tmp_path_factory.mktemp("models")
    written: dict[str, str] = {}

    def make(name, **kwargs):
        if name not in written:
            written[name] = make_tiny_model(root / name, **kwargs)
        return written[name]
    return make


@pytest.fixture(scope="session")
def tiny_model(rigged_model):
    """A tiny untrained model whose outputs depend on the data (random weights)."""
    return rigged_model("tiny")
