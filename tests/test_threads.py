"""recommend and fit in several threads at once leave the caller's process-wide state alone.

numpy's global RNG, the warnings filters and the BLAS thread count are the process's, not a
thread's: while selectors run in four threads, a fifth draws from ``np.random`` and a sixth
issues warnings, and neither may notice them; afterwards everything is as the caller left it,
and each selector's results are those of a call made alone.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pandas as pd

# torch's import adds warnings filters of its own; the selector imports it at its first use,
# so it is imported here, before the caller's state is taken (see the user guide).
import torch  # noqa: F401
from numpy.exceptions import ComplexWarning, VisibleDeprecationWarning
from sklearn.datasets import make_classification
from threadpoolctl import threadpool_info, threadpool_limits

from skllmselect import LLMAlgorithmSelector
from skllmselect import metafeatures as mf

METHODS = ("recommend", "fit", "recommend", "fit")  # what each selector thread calls


class CallerWarning(UserWarning):
    """The warnings the caller's own thread issues."""


def small_tables():
    tables = []
    for seed in range(4):
        X, y = make_classification(n_samples=100 + 20 * seed, n_features=6, n_informative=3,
                                   n_redundant=0, n_classes=2 + seed % 2, random_state=seed)
        tables.append((X, y))
    return tables


def run_selector(X, y, method: str) -> dict:
    """What a caller reads from ``recommend`` or ``fit`` (top_k=1, cv=2: a quick one)."""
    selector = LLMAlgorithmSelector(top_k=1, cv=2, random_state=0)
    if method == "recommend":
        table = selector.recommend(X, y)
        return {"ranking": table[["pipeline", "predicted_score"]],
                "vector": np.array(list(table.attrs["meta_features"].values()))}
    selector.fit(X, y)
    return {"ranking": selector.recommendations_[["pipeline", "predicted_score"]],
            "vector": selector.meta_features_.to_numpy(), "best": selector.best_pipeline_,
            "scores": selector.cv_results_["mean_test_score"], "predictions": selector.predict(X)}


def assert_same_results(got: dict, expected: dict) -> None:
    assert got.keys() == expected.keys()
    pd.testing.assert_frame_equal(got.pop("ranking"), expected.pop("ranking"))
    for key, value in expected.items():
        np.testing.assert_array_equal(got[key], value)


def process_state() -> dict:
    return {
        "filters": list(warnings.filters),
        "showwarning": warnings.showwarning,
        "threadpools": {pool["filepath"]: pool["num_threads"] for pool in threadpool_info()},
    }


def comparable(filters: list) -> list:
    """The filters as patterns, less scikit-learn's own (the documented limit).

    scikit-learn saves and restores ``warnings.filters`` around steps of its own (check_array
    turns numpy's ComplexWarning into an error; its Parallel hands the filters, patterns
    compiled, to each task); before Python 3.14 that is not thread-safe, so scikit-learn
    working in several threads at once can leave an equivalent copy, or its error filter.
    """
    own = {("error", ComplexWarning), ("error", VisibleDeprecationWarning)}
    return [(action, getattr(message, "pattern", message), category,
             getattr(module, "pattern", module), lineno)
            for action, message, category, module, lineno in filters
            if (action, category) not in own]


def assert_unchanged(before: dict) -> None:
    now = process_state()
    assert comparable(now["filters"]) == comparable(before["filters"])
    assert now["showwarning"] is before["showwarning"]
    # A library loaded meanwhile (torch's OpenMP, at its first use) is no change of setting.
    assert {path: now["threadpools"][path] for path in before["threadpools"]} \
        == before["threadpools"]


def test_selectors_in_threads_leave_the_callers_global_state_alone():
    tables = small_tables()
    seed = 20_240_101
    reference = np.random.RandomState(seed).random_sample(200_000)
    # The caller's configuration: two BLAS threads (not the one pymfe is given), every
    # CallerWarning recorded, numpy's global RNG seeded; the selectors must keep all three.
    with threadpool_limits(limits=2, user_api="blas"), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        np.random.seed(seed)  # noqa: NPY002 (the legacy global stream is under test)
        before = process_state()
        expected = [run_selector(X, y, method)  # alone, one after the other
                    for (X, y), method in zip(tables, METHODS, strict=True)]
        assert_unchanged(before)
        np.testing.assert_array_equal(np.random.random_sample(3), reference[:3])  # noqa: NPY002

        start = threading.Barrier(6)
        stop = threading.Event()
        draws, issued, results, errors = [], [0], [None] * len(tables), []

        def draw():
            start.wait()
            while not stop.is_set():
                draws.extend(np.random.random_sample(4))  # noqa: NPY002
                stop.wait(0.001)

        def warn():
            start.wait()
            while not stop.is_set():
                warnings.warn(f"caller's warning {issued[0]}", CallerWarning, stacklevel=1)
                issued[0] += 1
                stop.wait(0.002)

        def select(i):
            start.wait()
            try:
                results[i] = run_selector(*tables[i], METHODS[i])
            except Exception as err:  # noqa: BLE001 (reported by the main thread)
                errors.append(err)

        helpers = [threading.Thread(target=draw), threading.Thread(target=warn)]
        selectors = [threading.Thread(target=select, args=(i,)) for i in range(len(tables))]
        for thread in helpers + selectors:
            thread.start()
        for thread in selectors:
            thread.join()
        stop.set()
        for thread in helpers:
            thread.join()

        assert not errors, errors
        for got, alone in zip(results, expected, strict=True):
            assert_same_results(got, alone)
        # The drawing thread got the caller's stream, in order: nothing rewound or reseeded.
        assert len(draws) > 20
        np.testing.assert_array_equal(draws, reference[3:3 + len(draws)])
        after = np.random.random_sample()  # noqa: NPY002
        assert after == reference[3 + len(draws)]
        # Every warning the caller issued was recorded, as the caller's filter says.
        recorded = [w for w in caught if issubclass(w.category, CallerWarning)]
        assert issued[0] > 10
        assert len(recorded) == issued[0]
        assert_unchanged(before)
    blas = [pool["filepath"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(before["threadpools"][path] == 2 for path in blas)  # as configured


def test_in_process_extraction_gives_the_workers_vector(monkeypatch):
    # Where no worker process can be started (a daemonic process), pymfe runs in the
    # caller's process instead; the values must not depend on which.
    X, y = small_tables()[1]
    in_worker = mf.extract(X, y)
    monkeypatch.setattr(mf, "_ISOLATE", False)
    np.testing.assert_array_equal(mf.extract(X, y), in_worker)
