"""Tests for skllmselect.metafeatures: layout, determinism, robustness, invariance, errors."""

import importlib
import importlib.util
import math
import os
import warnings

import numpy as np
import pandas as pd
import pytest

from skllmselect import metafeature_input as mfi
from skllmselect import metafeatures as mf
from skllmselect.metafeatures import (
    METAFEATURE_GROUP,
    METAFEATURE_NAMES,
    extract,
    extract_series,
    metafeature_groups,
)

N_FEATURES = len(METAFEATURE_NAMES)
SHAPE = metafeature_groups()["shape"]
PYMFE_NAMES = [name for name in METAFEATURE_NAMES if name not in SHAPE]


def mixed_frame(n_rows=300, seed=0):
    """A small table with every column kind extract must read, and a 3-class string target."""
    rng = np.random.default_rng(seed)
    y = rng.choice(["yes", "no", "maybe"], size=n_rows, p=[0.5, 0.3, 0.2])
    signal = rng.normal(size=n_rows) + (y == "yes")
    with_nan = 2 * signal + rng.normal(size=n_rows)
    with_nan[rng.random(n_rows) < 0.1] = np.nan
    text = pd.Series(rng.choice(["a", "b", "c"], size=n_rows), dtype=object)
    text[rng.random(n_rows) < 0.1] = None
    counts = rng.integers(0, 5, size=n_rows).astype(object)
    counts[rng.random(n_rows) < 0.1] = None
    frame = pd.DataFrame(
        {
            "signal": signal,
            "with_nan": with_nan,
            "skewed": rng.exponential(size=n_rows),
            "text": text,
            "category": pd.Categorical(rng.choice(["u", "v"], size=n_rows)),
            "flag": rng.random(n_rows) < 0.5,
            "count": pd.array(counts, dtype="Int64"),
        }
    )
    return frame, y


@pytest.fixture(scope="module")
def mixed():
    return mixed_frame()


@pytest.fixture(scope="module")
def mixed_vector(mixed):
    return extract(*mixed)


@pytest.fixture
def in_this_process(monkeypatch):
    """pymfe runs in this process (where a test's patches reach it), not in the worker."""
    monkeypatch.setattr(mf, "_ISOLATE", False)


def value(vector, name):
    return vector[METAFEATURE_NAMES.index(name)]


# --- layout -------------------------------------------------------------------------------


def test_names_are_unique_and_grouped():
    assert len(set(METAFEATURE_NAMES)) == N_FEATURES
    assert tuple(METAFEATURE_GROUP) == METAFEATURE_NAMES
    groups = metafeature_groups()
    assert list(groups) == [
        "shape",
        "general",
        "model-based",
        "statistical",
        "landmarking",
        "info-theory",
    ]
    assert sum(groups.values(), ()) == METAFEATURE_NAMES
    # pymfe's own size features describe the subsample, and f1v is always NaN (pymfe 0.4.4).
    for dropped in ("nr_inst", "nr_attr", "attr_to_inst", "inst_to_attr", "attr_conc", "f1v"):
        assert not any(name.split(".")[0] == dropped for name in METAFEATURE_NAMES)


def test_vector_has_the_layout_of_the_names(mixed, mixed_vector):
    assert mixed_vector.shape == (N_FEATURES,)
    assert mixed_vector.dtype == np.float64
    series = extract_series(*mixed)
    assert tuple(series.index) == METAFEATURE_NAMES
    np.testing.assert_array_equal(series.to_numpy(), mixed_vector)


# --- determinism and invariance -----------------------------------------------------------


def test_same_seed_gives_the_same_vector(mixed, mixed_vector):
    np.testing.assert_array_equal(extract(*mixed), mixed_vector)  # NaN == NaN here


def test_numpy_global_random_state_is_left_alone(mixed):
    # pymfe calls np.random.seed internally; the caller's stream must not notice.
    np.random.seed(123)  # noqa: NPY002 (the legacy global stream is what is under test)
    expected = np.random.random(3)  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    extract(*mixed)
    np.testing.assert_array_equal(np.random.random(3), expected)  # noqa: NPY002


@pytest.mark.parametrize("max_rows", [1000, 60])
def test_row_order_does_not_change_the_vector(max_rows):
    """Version 1 changed 10-14 landmarking and model-based values under a row shuffle."""
    frame, y = mixed_frame(seed=2)
    order = np.random.default_rng(3).permutation(len(frame))
    shuffled = frame.iloc[order].reset_index(drop=True)
    original = extract(frame, y, max_rows=max_rows)
    # max_rows=60 subsamples: the same rows must be drawn from the shuffled copy.
    np.testing.assert_array_equal(
        extract(shuffled, np.asarray(y)[order], max_rows=max_rows), original)
    assert np.isfinite(original).mean() > 0.9


def test_binary_table_row_and_column_order_do_not_change_the_vector():
    """Version 2 summed cell hashes, which in a 0/1 table only count a row's ones: rows tied,
    kept the caller's order, and the subsample and landmarking folds followed it."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame((rng.random((600, 8)) < 0.5).astype(int),
                         columns=[f"bit{i}" for i in range(8)])
    y = (frame["bit0"] ^ frame["bit1"]).to_numpy()
    original = extract(frame, y, max_rows=150)
    for seed in range(2):
        order = np.random.default_rng(seed).permutation(len(frame))
        columns = np.random.default_rng(seed + 5).permutation(frame.shape[1])
        shuffled = frame.iloc[order, columns].reset_index(drop=True)
        np.testing.assert_array_equal(extract(shuffled, y[order], max_rows=150), original)


@pytest.mark.parametrize("max_rows", [1000, 60])
def test_a_new_unit_for_a_column_does_not_change_the_vector(max_rows):
    """Version 3 read raw values: a column in millimetres instead of metres moved the
    nearest-neighbour landmarks and the scale descriptors, the row keys (so the subsample and
    the folds) and the column order, and with them the ranking."""
    frame, y = mixed_frame(seed=4)
    original = extract(frame, y, max_rows=max_rows)
    rescaled = frame.assign(signal=frame["signal"] * 1000.0 - 3.0,
                            skewed=frame["skewed"] / 7.3 + 100.0,
                            count=frame["count"] * 12)
    np.testing.assert_allclose(extract(rescaled, y, max_rows=max_rows), original,
                               rtol=1e-9, atol=1e-9)


def test_an_increasing_transform_keeps_the_rows_and_columns_pymfe_sees():
    frame, y = mixed_frame(seed=5)
    codes, _ = mfi.encode_target(y, len(frame))
    is_cat = mfi.as_frame(frame)[1]
    transformed = frame.assign(skewed=np.log(frame["skewed"]),
                               signal=np.exp(frame["signal"]))
    order = mfi.canonical_row_order(frame, codes, is_cat)
    np.testing.assert_array_equal(mfi.canonical_row_order(transformed, codes, is_cat), order)
    rows = order[:200]
    digests = [digest for digest, _, _ in mfi.encode_columns(frame, is_cat, rows)[0]]
    assert [d for d, _, _ in mfi.encode_columns(transformed, is_cat, rows)[0]] == digests


def test_numeric_columns_reach_pymfe_standardized():
    values = np.array([1.0, 2.0, np.nan, 4.0, 1000.0])
    scaled = mfi.standardized(values)
    present = scaled[~np.isnan(scaled)]
    assert np.isnan(scaled[2])
    assert abs(present.mean()) < 1e-12 and abs(present.std() - 1.0) < 1e-12
    np.testing.assert_array_equal(mfi.standardized(np.full(3, 5.0)), np.zeros(3))
    np.testing.assert_array_equal(mfi.dense_ranks(values), [1, 2, 0, 3, 4])


def test_negative_zero_orders_rows_as_zero_on_every_pandas():
    """pandas 2 hashed -0.0 apart from 0.0 and pandas 3 does not: without the normalisation,
    a table with a -0.0 (UCI waveform5000) got other rows, so other meta-features, on
    pandas 2.2 than the model was trained with (caught by benchmarks/compat.py)."""
    rng = np.random.default_rng(0)
    values = rng.choice([-1.0, 0.0, 1.0, 2.0], size=(300, 3))
    codes = rng.integers(0, 2, size=300)
    signed = values.copy()
    signed[values == 0.0] = -0.0
    assert np.signbit(signed).sum() > np.signbit(values).sum()
    numeric = np.zeros(3, dtype=bool)
    np.testing.assert_array_equal(mfi.canonical_row_order(pd.DataFrame(signed), codes, numeric),
                                  mfi.canonical_row_order(pd.DataFrame(values), codes, numeric))


@pytest.mark.parametrize("max_cols", [50, 4])
def test_column_permutation_gives_the_identical_vector(max_cols):
    frame, y = mixed_frame(seed=1)
    rng = np.random.default_rng(7)
    wide = frame.assign(
        **{f"noise{i}": rng.normal(size=len(frame)) for i in range(6)},
        copy_of_signal=frame["signal"],
        level=pd.Categorical(rng.choice(list("pqrstuvwxyz"), size=len(frame))),
    )
    permuted = wide.iloc[:, rng.permutation(wide.shape[1])]
    # With max_cols=4 the cap is active and must pick the same columns from the permuted copy.
    original = extract(wide, y, max_cols=max_cols)
    np.testing.assert_array_equal(extract(permuted, y, max_cols=max_cols), original)
    assert np.isfinite(original).mean() > 0.9


def test_string_and_integer_labels_give_the_same_vector(mixed):
    frame, y = mixed
    _, codes = np.unique(y, return_inverse=True)  # same classes, same sorted order
    np.testing.assert_array_equal(extract(frame, codes), extract(frame, y))


# --- inputs -------------------------------------------------------------------------------


def test_mixed_frame_is_described(mixed, mixed_vector):
    frame, _ = mixed
    assert value(mixed_vector, "n_classes") == 3
    assert value(mixed_vector, "categorical_share") == pytest.approx(3 / 7)  # text, category, flag
    expected_missing = frame.isna().to_numpy().mean()
    assert value(mixed_vector, "missing_share") == pytest.approx(expected_missing)
    assert value(mixed_vector, "missing_rows_share") == pytest.approx(
        frame.isna().any(axis=1).mean()
    )
    assert np.isfinite(mixed_vector).all()


def test_typical_mixed_dataset_has_few_nan_features(mixed_vector):
    # Guard against shipping a feature that is always NaN (like complexity's f1v).
    missing = [n for n, v in zip(METAFEATURE_NAMES, mixed_vector, strict=True) if np.isnan(v)]
    assert len(missing) < 0.1 * N_FEATURES, missing


def test_numpy_float_array_matches_its_frame():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 6))
    y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
    vector = extract(X, y)
    np.testing.assert_array_equal(extract(pd.DataFrame(X), y), vector)
    assert value(vector, "categorical_share") == 0
    assert np.isfinite(vector).mean() > 0.9


def test_numpy_object_array_types_columns_by_content():
    X = np.array(
        [[1, "a", None, True], [2.5, "b", 3, False], [None, None, 4, True], [4, "a", pd.NA, False]]
        * 10,
        dtype=object,
    )
    vector = extract(X, ["x", "y"] * 20)
    # Columns 0 and 2 hold numbers (and missing values); 1 is text, 3 booleans.
    assert value(vector, "categorical_share") == 0.5
    assert value(vector, "missing_share") == pytest.approx(4 / 16)


def test_degenerate_columns_give_nan_not_errors(mixed):
    frame, y = mixed
    n_rows = len(frame)
    degenerate = frame.assign(
        constant=1.0,
        all_missing=np.nan,
        one_value=[5.0] + [np.nan] * (n_rows - 1),
        constant_text="z",
        all_missing_text=pd.Series([None] * n_rows, dtype=object),
    )
    vector = extract(degenerate, y)
    assert np.isfinite(vector).mean() > 0.9


@pytest.mark.parametrize(
    ("X", "y"),
    [
        (np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), [0, 1, 0, 1]),  # 4 rows
        (np.arange(10.0).reshape(5, 2), [0, 1, 2, 3, 4]),  # one row per class: no CV possible
        (np.full((10, 2), np.nan), [0, 1] * 5),  # nothing but missing values
    ],
)
def test_tiny_and_hopeless_datasets_give_a_vector(X, y):
    vector = extract(X, y)
    assert vector.shape == (N_FEATURES,)
    assert np.isfinite([value(vector, name) for name in SHAPE]).all()


def test_large_dataset_is_subsampled_but_shape_describes_all_rows():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(20_000, 30))
    y = np.digitize(X[:, 0] + X[:, 1], [-1.0, 0.5])  # 3 imbalanced classes
    vector = extract(X, y)
    assert value(vector, "n_rows_log") == pytest.approx(math.log10(20_000))
    assert value(vector, "n_features_log") == pytest.approx(math.log10(30))
    assert np.isfinite(vector).mean() > 0.9


def test_subsample_is_stratified_and_keeps_single_member_classes():
    codes = np.r_[np.zeros(2000, dtype=int), np.ones(999, dtype=int), 2]
    rows = mfi.subsample_rows(codes, max_rows=300, random_state=0)
    assert np.all(np.diff(rows) > 0)
    assert 2999 in rows  # the only row of class 2
    # Each class keeps its share of 300 (200 and 99.9), and the singleton its one row.
    assert np.bincount(codes[rows]).tolist() == [200, 100, 1]
    np.testing.assert_array_equal(mfi.subsample_rows(codes, 300, random_state=0), rows)


def test_failing_pymfe_group_costs_only_its_features(mixed, monkeypatch, in_this_process):
    real = mf._pymfe_group

    def broken_landmarking(group, *args):
        if group == "landmarking":
            raise RuntimeError("simulated pymfe failure")
        return real(group, *args)

    monkeypatch.setattr(mf, "_pymfe_group", broken_landmarking)
    vector = extract(*mixed)
    groups = np.array([METAFEATURE_GROUP[name] for name in METAFEATURE_NAMES])
    assert np.isnan(vector[groups == "landmarking"]).all()
    assert np.isfinite(vector[groups != "landmarking"]).all()


def test_tiny_time_budget_skips_groups_with_a_warning(mixed):
    with pytest.warns(RuntimeWarning, match="time_budget.*not computed"):
        vector = extract(*mixed, time_budget=1e-6)
    assert vector.shape == (N_FEATURES,)
    assert np.isfinite([value(vector, name) for name in SHAPE]).all()
    assert np.isnan([value(vector, name) for name in PYMFE_NAMES]).all()


def test_no_warnings_escape_on_a_normal_call(mixed):
    frame, y = mixed
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        extract(frame.assign(constant=0.0), y)


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (np.arange(6.0), [0, 1] * 3, r"X must be 2-D.*got a 1-D input of shape \(6,\)"),
        (np.zeros((4, 2)), [0, 1, 0], r"same number of rows; got 4 rows in X and 3 labels"),
        (np.zeros((4, 2)), [1, 1, 1, 1], r"at least 2 classes; got 1"),
        (np.zeros((0, 3)), [], r"X is empty: got 0 rows and 3 columns"),
        (pd.DataFrame(index=range(4)), [0, 1, 0, 1], r"X is empty: got 4 rows and 0 columns"),
        (np.zeros((4, 2)), [0, 1, np.nan, 1], r"y has 1 missing label"),
        (np.zeros((4, 2)), np.zeros((4, 2)), r"y must be 1-D"),
    ],
)
def test_invalid_data_raises_a_clear_error(X, y, match):
    with pytest.raises(ValueError, match=match):
        extract(X, y)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_rows": 1}, r"max_rows must be an integer >= 2; got 1"),
        ({"max_cols": 0}, r"max_cols must be an integer >= 1; got 0"),
        ({"time_budget": 0}, r"time_budget must be a positive number"),
        ({"random_state": None}, r"random_state must be an integer"),
    ],
)
def test_invalid_arguments_raise_a_clear_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        extract(np.zeros((4, 2)), [0, 1, 0, 1], **kwargs)


# --- the crosstab-free info-theory helpers ----------------------------------------------------

def pymfe_originals():
    mf._install_fast_info_theory()
    return mf._PYMFE_INFO_THEORY["_calc_joint_ent"], mf._PYMFE_INFO_THEORY["_calc_conc"]


def test_fast_info_theory_helpers_equal_pymfes_bit_for_bit():
    joint_ent, conc = pymfe_originals()
    rng = np.random.default_rng(0)
    for trial in range(200):
        n = int(rng.integers(2, 400))
        levels_x, levels_y = int(rng.integers(1, 30)), int(rng.integers(2, 8))
        # Gaps and negative levels, floats and ints, as pymfe's discretised columns can be.
        x = rng.choice(rng.normal(size=levels_x).round(2) * 10, size=n)
        y = rng.integers(-3, levels_y, size=n)
        if trial % 3 == 0:
            x = x.astype(np.int64)
        assert mf._fast_joint_ent(x, y) == joint_ent(x, y)
        fast, expected = mf._fast_conc(x, y), conc(x, y)
        assert fast == expected or (np.isnan(fast) and np.isnan(expected))


def test_fast_info_theory_falls_back_to_pandas_for_missing_or_text_levels():
    joint_ent, _ = pymfe_originals()
    assert mf._normalized_crosstab(np.array([1.0, np.nan]), np.array([0, 1])) is None
    assert mf._normalized_crosstab(np.array(["a", "b"], dtype=object), np.array([0, 1])) is None
    x = np.array([1.0, np.nan, 2.0, 2.0, 1.0])
    y = np.array([0, 1, 1, 0, 0])
    assert mf._fast_joint_ent(x, y) == joint_ent(x, y)


def test_extract_with_and_without_the_fast_helpers_is_identical(mixed, monkeypatch,
                                                                  in_this_process):
    from pymfe.info_theory import MFEInfoTheory

    frames = [mixed, mixed_frame(n_rows=1500, seed=3)]
    fast = [extract(*frame) for frame in frames]
    assert MFEInfoTheory._calc_joint_ent is mf._fast_joint_ent  # installed
    joint_ent, conc = pymfe_originals()
    monkeypatch.setattr(MFEInfoTheory, "_calc_joint_ent", joint_ent)
    monkeypatch.setattr(MFEInfoTheory, "_calc_conc", conc)
    monkeypatch.setattr(mf, "_install_fast_info_theory", lambda: None)
    for frame, vector in zip(frames, fast, strict=True):
        np.testing.assert_array_equal(extract(*frame), vector)


def test_extract_in_parallel_threads_gives_the_sequential_vectors():
    from concurrent.futures import ThreadPoolExecutor

    frames = [mixed_frame(n_rows=200 + 100 * i, seed=i) for i in range(4)]
    sequential = [extract(*frame) for frame in frames]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda frame: extract(*frame), frames))
    for a, b in zip(sequential, parallel, strict=True):
        np.testing.assert_array_equal(a, b)


def test_started_worker_is_the_one_extract_uses_and_is_reused(mixed):
    # start_worker starts the worker process at once; extract then runs in that very
    # process (even with no other thread here), and later starts queue in it rather than
    # starting another.
    mf.start_worker()
    executor = mf._worker_executor()
    started = executor.submit(os.getpid).result()
    assert started != os.getpid()
    extract(*mixed)
    mf.start_worker()
    assert mf._worker_executor() is executor
    assert executor.submit(os.getpid).result() == started
    assert len(executor._processes) == 1  # loky's table of its live worker processes


# Run in a fresh process: whether pymfe may run in the caller's process depends on its
# threads and on whether a worker was started, which a test session does not control.
WHERE_SCRIPT = """
import json, os, threading, warnings
import numpy as np
import sklearn.base  # as the selector: the libraries' own import-time settings come first
from threadpoolctl import threadpool_info, threadpool_limits
from skllmselect import metafeatures as mf
X = np.random.default_rng(0).normal(size=(200, 6)); y = (X[:, 0] > 0).astype(int)
def state():
    return [repr(warnings.filters), np.random.get_state()[1].tolist(),
            {p["filepath"]: p["num_threads"] for p in threadpool_info()}]
warnings.simplefilter("default"); np.random.seed(7); threadpool_limits(2)
before = state()
alone = mf.extract(X, y)
again = mf.extract(X, y)  # nothing the first call left behind sends it elsewhere
after = state()
after[2] = {path: after[2][path] for path in before[2]}  # a library loaded since: no setting
here = mf._worker is None
stop = threading.Event(); other = threading.Thread(target=stop.wait); other.start()
with_thread = mf.extract(X, y)
stop.set(); other.join()
worker_pid = mf._worker_executor().submit(os.getpid).result()
print(json.dumps({"here": here, "state_kept": before == after,
                  "worker_then": worker_pid != os.getpid(),
                  "equal": alone.tobytes() == with_thread.tobytes() == again.tobytes()}))
"""


def test_a_process_with_one_thread_extracts_here_else_in_the_worker():
    # Alone in its process, extract runs pymfe right there (no worker to start) and leaves
    # the global state as it found it; with another thread running, it starts the worker.
    # Both give the same vector.
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", WHERE_SCRIPT], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == {
        "here": True, "state_kept": True, "worker_then": True, "equal": True}


def test_worker_has_no_matplotlib_the_caller_keeps_it():
    # The worker skips igraph's import of matplotlib (pymfe's values are unchanged: see
    # test_threads.py, in the worker against in this process); the caller's process keeps
    # its own imports.
    mf.start_worker()
    with pytest.raises(ImportError):
        mf._worker_executor().submit(importlib.import_module, "matplotlib").result()
    assert importlib.util.find_spec("matplotlib") is not None


def test_start_worker_in_a_daemonic_process_starts_nothing(mixed, monkeypatch):
    # A daemonic process may not start one: extract runs pymfe in it, and start_worker
    # leaves it so.
    from types import SimpleNamespace

    def no_worker(*args, **kwargs):
        raise AssertionError("a daemonic process asked for the worker process")

    daemonic = SimpleNamespace(current_process=lambda: SimpleNamespace(daemon=True))
    monkeypatch.setattr(mf, "multiprocessing", daemonic)
    monkeypatch.setattr(mf, "_worker_executor", no_worker)
    mf.start_worker()
    assert extract(*mixed).shape == (len(METAFEATURE_NAMES),)


def test_landmarking_in_its_thread_gives_what_it_gives_in_sequence(mixed, monkeypatch,
                                                                    in_this_process):
    from concurrent.futures import Future

    threaded = [extract(*frame) for frame in (mixed, mixed_frame(n_rows=800, seed=5))]

    class InSequence:  # runs each submitted call at once, in this thread
        def __init__(self, max_workers=None):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, fn, *args):
            future = Future()
            future.set_result(fn(*args))
            return future

    monkeypatch.setattr(mf, "ThreadPoolExecutor", InSequence)
    for frame, vector in zip((mixed, mixed_frame(n_rows=800, seed=5)), threaded, strict=True):
        np.testing.assert_array_equal(extract(*frame), vector)
