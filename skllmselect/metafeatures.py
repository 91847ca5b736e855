"""Dataset meta-features for algorithm selection (the only module that imports pymfe)."""

from __future__ import annotations

import math
import multiprocessing
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from joblib.externals.loky import ProcessPoolExecutor
from joblib.externals.loky.process_executor import BrokenProcessPool
from threadpoolctl import threadpool_limits

from skllmselect.metafeature_input import (
    as_frame,
    canonical_row_order,
    encode_columns,
    encode_target,
    split_cap,
    subsample_rows,
)

# Bump whenever a name, its order, or the way a value is computed changes: a model trained on
# one version's vectors must not be fed another's.
# 2: rows put in a content-defined order before subsampling and pymfe (version 1 depended on
#    the row order through the subsample and the landmarking folds).
# 3: the row order refines row and column keys together (version 2's key tied on 0/1 tables,
#    whose values then still depended on the caller's row order).
# 4: numeric columns standardized (mean 0, sd 1 on the full data) before pymfe, and the
#    row and column order keyed by each numeric column's ranks rather than its values, so an
#    increasing affine transform of a column (a unit) leaves the vector unchanged and any
#    increasing transform leaves the rows, the subsample and the folds unchanged.
METAFEATURES_VERSION = "4"

# The vector's layout, a contract with every stored corpus and trained model, so it is written
# out here rather than computed from whatever pymfe offers. Groups come in extraction order
# (cheap and valuable first); a tight ``time_budget`` leaves the last groups NaN.
# ``.mean``/``.sd`` are pymfe's NaN-ignoring summaries (``nanmean``/``nansd``), so one
# degenerate column (constant, all missing) does not turn a whole summary into NaN.
METAFEATURE_NAMES: tuple[str, ...] = (
    # shape: our own, on the FULL data (pymfe only sees the row subsample and the column cap).
    # Sizes as log10; class_imbalance is minority / majority class count; cat_levels_log_max
    # is log10(1 + most levels of a categorical column), 0 without one (ID-like columns).
    "n_rows_log",
    "n_features_log",
    "rows_per_feature_log",
    "n_classes",
    "class_imbalance",
    "categorical_share",
    "cat_levels_log_max",
    "missing_share",
    "missing_rows_share",
    # general (pymfe): the rest of the group is a size or count the shape features give for
    # the full data (nr_inst, nr_attr, nr_class, nr_cat, nr_num, attr_to_inst, inst_to_attr),
    # or a ratio that is inf/NaN when one column kind is absent (cat_to_num, num_to_cat);
    # freq_class.mean is exactly 1 / n_classes.
    "freq_class.sd",
    "nr_bin",
    # model-based (pymfe): one decision tree, about 0.1 s; the structure of the tree says how
    # axis-aligned and how noisy the concept is. Dropped summaries are constants given another
    # feature: leaves_corrob.mean = 1 / leaves, leaves_per_class.mean = 1 / n_classes,
    # var_importance.mean = 1 / number of (encoded) columns.
    "leaves",
    "nodes",
    "nodes_per_attr",
    "nodes_per_inst",
    "leaves_branch.mean",
    "leaves_branch.sd",
    "leaves_corrob.sd",
    "leaves_homo.mean",
    "leaves_homo.sd",
    "leaves_per_class.sd",
    "nodes_per_level.mean",
    "nodes_per_level.sd",
    "nodes_repeated.mean",
    "nodes_repeated.sd",
    "tree_depth.mean",
    "tree_depth.sd",
    "tree_imbalance.mean",
    "tree_imbalance.sd",
    "tree_shape.mean",
    "tree_shape.sd",
    "var_importance.sd",
    # statistical (pymfe): distribution shape (the assumptions of naive Bayes and LDA),
    # redundancy, and class separability by discriminant analysis. Dropped: location and
    # scale in the data's own units (mean, median, min, max, range, t_mean, var, cov,
    # eigenvalues, iq_range, mad; sd is kept as the one scale descriptor, for scale-sensitive
    # models), g_mean/h_mean (undefined for non-positive data: NaN or 0), sd_ratio (pymfe
    # 0.4.4 np.flip's each class covariance upside down, which negates its determinant when
    # columns // 2 is odd: NaN for 2, 3, 6, 7, 10, ... columns even on clean data; also NaN
    # for any singular covariance), can_cor.sd (NaN for every binary task: one canonical
    # correlation), nr_disc (min(columns, classes - 1)).
    "can_cor.mean",
    "cor.mean",
    "cor.sd",
    "kurtosis.mean",
    "kurtosis.sd",
    "skewness.mean",
    "skewness.sd",
    "sparsity.mean",
    "sparsity.sd",
    "sd.mean",
    "sd.sd",
    "lh_trace",
    "p_trace",
    "roy_root",
    "w_lambda",
    "nr_cor_attr",
    "nr_norm",
    "nr_outliers",
    # landmarking (pymfe): cross-validated balanced accuracy (the project's primary metric) of
    # seven cheap models, mean and spread over the folds; the most direct evidence of which
    # model families suit the data.
    "best_node.mean",
    "best_node.sd",
    "elite_nn.mean",
    "elite_nn.sd",
    "linear_discr.mean",
    "linear_discr.sd",
    "naive_bayes.mean",
    "naive_bayes.sd",
    "one_nn.mean",
    "one_nn.sd",
    "random_node.mean",
    "random_node.sd",
    "worst_node.mean",
    "worst_node.sd",
    # info-theory (pymfe): last because it is the most expensive per column (a pandas crosstab
    # per column for class_conc and for the joint entropy behind mut_inf). Dropped: attr_conc
    # (pairwise: 132 crosstabs over 12 columns that pymfe samples with the global numpy RNG,
    # 0.38 s at 1,000 x 20, more than the rest of the group), joint_ent (= attr_ent +
    # class_ent - mut_inf exactly).
    "attr_ent.mean",
    "attr_ent.sd",
    "class_conc.mean",
    "class_conc.sd",
    "class_ent",
    "eq_num_attr",
    "mut_inf.mean",
    "mut_inf.sd",
    "ns_ratio",
)

# Group of each name, in the same order as METAFEATURE_NAMES (a test checks they agree).
METAFEATURE_GROUP: dict[str, str] = {
    **dict.fromkeys(METAFEATURE_NAMES[0:9], "shape"),
    **dict.fromkeys(METAFEATURE_NAMES[9:11], "general"),
    **dict.fromkeys(METAFEATURE_NAMES[11:32], "model-based"),
    **dict.fromkeys(METAFEATURE_NAMES[32:50], "statistical"),
    **dict.fromkeys(METAFEATURE_NAMES[50:64], "landmarking"),
    **dict.fromkeys(METAFEATURE_NAMES[64:73], "info-theory"),
}

# The pymfe groups in the order they are computed and, under a tight time_budget, dropped
# from the end (landmarking runs in a thread of its own, started first). Seconds on one core
# for 10,000 x 100 (subsampled to 1,000 rows; the narrow groups see 50 columns): general
# 0.02, model-based 0.07, statistical 0.14, landmarking 0.53, info-theory 0.04 (0.46 with
# pymfe's pandas crosstabs, see _install_fast_info_theory). Landmarking is worth its cost;
# info-theory is the least specific, so it goes last.
_PYMFE_GROUPS = ("general", "model-based", "statistical", "landmarking", "info-theory")
# The groups whose cost grows fastest with the number of columns see at most ``max_cols``
# of them; the others see up to _WIDE_COLS_FACTOR times as many.
_NARROW_GROUPS = frozenset({"statistical", "info-theory"})
_WIDE_COLS_FACTOR = 4
_CV_FOLDS = 5
# pymfe runs in a worker process (see _isolated): one, idle for this long before it closes.
_ISOLATE = True  # False: in this process, one call at a time (tests that patch pymfe)
_WORKER_IDLE_SECONDS = 300
_worker = None
_WORKER_LOCK = threading.Lock()
_IN_PROCESS_LOCK = threading.Lock()
_SUMMARIES = {"nanmean": "mean", "nansd": "sd"}


def metafeature_groups() -> dict[str, tuple[str, ...]]:
    """Return the meta-feature names of each group, groups in extraction order.

    Returns
    -------
    dict of str to tuple of str
        ``{"shape": ("n_rows_log", ...), "general": (...), ...}``; the tuples, concatenated,
        are ``METAFEATURE_NAMES``.

    Examples
    --------
    >>> from skllmselect.metafeatures import metafeature_groups
    >>> list(metafeature_groups())
    ['shape', 'general', 'model-based', 'statistical', 'landmarking', 'info-theory']
    """
    groups: dict[str, tuple[str, ...]] = {}
    for name, group in METAFEATURE_GROUP.items():
        groups[group] = (*groups.get(group, ()), name)
    return groups


# Over 80 lines for its docstring (the public function's parameters, errors and notes); the
# body is the steps, each a function of its own.
def extract(
    X,
    y,
    *,
    max_rows: int = 1000,
    max_cols: int = 50,
    time_budget: float | None = 5.0,
    random_state: int = 0,
) -> np.ndarray:
    """Compute the meta-feature vector of a classification dataset.

    The shape features (sizes, class balance, categorical and missing shares) describe the
    full data. Everything else comes from pymfe on a stratified subsample of at most
    ``max_rows`` rows, after imputation (numbers: median; categories: a "missing" level),
    numeric columns standardized on the full data (so a column's unit changes nothing).
    Columns are put in an order fixed by their content (a hash), never by their position, so
    a column-permuted copy of a dataset gets exactly the same vector; when there are too many
    columns, the same order decides which ones the column-hungry groups see.

    Parameters
    ----------
    X : array-like or pandas.DataFrame of shape (n_samples, n_features)
        Features: numbers, categories, booleans, strings, nullable dtypes and missing values
        (NaN, None, ``pd.NA``; ``+/-inf`` counts as missing). In a DataFrame, object,
        category, string and bool columns are categorical. In a numpy object array, a column
        is numeric when all its non-missing values are numbers, categorical otherwise.
    y : array-like of shape (n_samples,)
        Class labels (any type, at least two classes, no missing values).
    max_rows : int, default=1000
        Larger datasets are stratified-subsampled to this many rows before pymfe runs; a
        class with a single row always keeps it. ``n_rows_log`` still reports the full size.
    max_cols : int, default=50
        At most this many columns go into the statistical and info-theory groups, whose cost
        grows fastest with the column count; general, model-based and landmarking see up to
        ``4 * max_cols``. The share of categorical columns is kept in each selection.
    time_budget : float or None, default=5.0
        Seconds for the whole call. The clock is checked before each pymfe group (landmarking
        first, in a second thread; then the others, cheapest and most valuable first); groups
        not started in time are left NaN, with a ``RuntimeWarning`` naming them. ``None``
        means no limit. The defaults keep typical calls (up to 50,000 x 200 rows x columns)
        well under it on one core. Not counted: starting the worker process the pymfe groups
        run in (the first call, or one after five idle minutes), importing pymfe (there or
        here), and waiting for it while another thread's call runs.
    random_state : int, default=0
        Seed of the row subsample and of pymfe's randomness (folds, landmarking models). The
        result is fully determined by the data and the arguments, unless the budget runs out.

    Returns
    -------
    numpy.ndarray of float64, shape (len(METAFEATURE_NAMES),)
        Values in the order of ``METAFEATURE_NAMES``. A feature that is undefined for this
        dataset, fails inside pymfe, or is infinite is NaN; no error is raised for it.

    Raises
    ------
    ValueError
        If X is not a 2-D table or is empty, y is not 1-D, their lengths differ, y has missing
        values or fewer than two classes, or an argument is out of range.
    RuntimeError
        If the worker process ends during the call twice in a row (killed, for example for
        memory; after the first time the call is retried on a new one).

    Notes
    -----
    pymfe changes process-wide state (numpy's global RNG, the warnings filters, the BLAS
    thread count), all restored before the call returns; so that no other thread sees it
    meanwhile, its groups run in a worker process unless this process has no other thread
    (then here, which spares the worker's start). Calls from several threads take turns in
    that one process. See the user guide's "Threads and global state".

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skllmselect.metafeatures import METAFEATURE_NAMES, extract
    >>> X, y = load_iris(return_X_y=True)
    >>> vector = extract(X, y)
    >>> vector.shape == (len(METAFEATURE_NAMES),)
    True
    >>> float(vector[METAFEATURE_NAMES.index("n_classes")])
    3.0
    """
    start = time.perf_counter()
    _check_arguments(max_rows, max_cols, time_budget, random_state)
    frame, is_cat = as_frame(X)
    codes, class_counts = encode_target(y, n_rows=frame.shape[0])
    # Rows in an order fixed by their content, so that the subsample and pymfe's folds (and
    # with them landmarking and the model-based features) do not depend on the row order.
    order = canonical_row_order(frame, codes, is_cat)
    rows = order[subsample_rows(codes[order], max_rows, random_state)]
    columns, values = encode_columns(frame, is_cat, rows)

    n_rows, n_cols = frame.shape
    values.update(
        n_rows_log=math.log10(n_rows),
        n_features_log=math.log10(n_cols),
        rows_per_feature_log=math.log10(n_rows / n_cols),
        n_classes=float(len(class_counts)),
        class_imbalance=class_counts.min() / class_counts.max(),
        categorical_share=float(np.mean(is_cat)),
    )

    y_sub = codes[rows]
    sub_counts = np.bincount(y_sub)
    n_folds = int(min(_CV_FOLDS, sub_counts.max()))
    groups = _group_inputs(columns, max_cols)
    time_left = None if time_budget is None else time_budget - (time.perf_counter() - start)
    pymfe_values, skipped = _isolated(_pymfe_groups, groups, y_sub, random_state, n_folds,
                                      time_left)
    values.update(pymfe_values)

    if skipped:
        warnings.warn(
            f"extract: time_budget={time_budget:g} s was used up after "
            f"{time.perf_counter() - start:.2f} s; the groups {', '.join(skipped)} were not "
            "computed and are NaN. Raise time_budget, or lower max_rows or max_cols.",
            RuntimeWarning,
            stacklevel=2,
        )
    vector = np.array([values.get(name, np.nan) for name in METAFEATURE_NAMES], dtype=float)
    vector[~np.isfinite(vector)] = np.nan
    return vector


def _group_inputs(columns: list, max_cols: int) -> dict[str, tuple[np.ndarray, int]]:
    """Each pymfe group's matrix (numeric columns first, then the coded categories) and its
    count of categorical columns; the groups with the same column cap share one matrix.

    ``columns``: :func:`skllmselect.metafeature_input.encode_columns`'s (digest, is
    categorical, values) per column.
    """
    # Canonical column order: numeric before categorical, each by content hash.
    numeric = sorted((digest, j) for j, (digest, cat, _) in enumerate(columns) if not cat)
    categorical = sorted((digest, j) for j, (digest, cat, _) in enumerate(columns) if cat)
    inputs = {}
    for limit in {max_cols, _WIDE_COLS_FACTOR * max_cols}:
        n_num, n_cat = split_cap(len(numeric), len(categorical), limit)
        chosen = [j for _, j in numeric[:n_num]] + [j for _, j in categorical[:n_cat]]
        inputs[limit] = (np.column_stack([columns[j][2] for j in chosen]), n_cat)
    return {group: inputs[max_cols if group in _NARROW_GROUPS else _WIDE_COLS_FACTOR * max_cols]
            for group in _PYMFE_GROUPS}


def extract_series(X, y, **kwargs) -> pd.Series:
    """Like :func:`extract`, but return a Series indexed by ``METAFEATURE_NAMES``.

    Parameters
    ----------
    X, y
        As for :func:`extract`.
    **kwargs
        Keyword arguments of :func:`extract` (``max_rows``, ``max_cols``, ``time_budget``,
        ``random_state``).

    Returns
    -------
    pandas.Series of float64
        One value per meta-feature, named ``"metafeatures"``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skllmselect.metafeatures import extract_series
    >>> X, y = load_iris(return_X_y=True)
    >>> float(extract_series(X, y)["categorical_share"])
    0.0
    """
    return pd.Series(extract(X, y, **kwargs), index=list(METAFEATURE_NAMES), name="metafeatures")


def _check_arguments(max_rows, max_cols, time_budget, random_state) -> None:
    def is_int(value):
        return isinstance(value, int | np.integer) and not isinstance(value, bool)

    if not is_int(max_rows) or max_rows < 2:
        raise ValueError(f"max_rows must be an integer >= 2; got {max_rows!r}.")
    if not is_int(max_cols) or max_cols < 1:
        raise ValueError(f"max_cols must be an integer >= 1; got {max_cols!r}.")
    if time_budget is not None and not (isinstance(time_budget, int | float) and time_budget > 0):
        raise ValueError(
            f"time_budget must be a positive number of seconds or None; got {time_budget!r}."
        )
    # pymfe hands the seed to np.random.seed, which takes 0 <= seed < 2**32.
    if not is_int(random_state) or not 0 <= random_state < 2**32:
        raise ValueError(
            f"random_state must be an integer in [0, 2**32); got {random_state!r}. "
            "The meta-features are meant to be reproducible, so None is not accepted."
        )


def _normalized_crosstab(rows: np.ndarray, columns: np.ndarray) -> np.ndarray | None:
    """``pd.crosstab(rows, columns, normalize=True).values``, bit for bit, without pandas.

    The levels are sorted as pandas sorts them, a cell is its count over the number of
    pairs (pandas divides by the sum of the row sums: the same integer, exact in float64),
    an absent pair is 0.0, and the array is C-ordered as pandas returns it, so every sum
    pymfe takes of it adds the same numbers in the same order. None (use pandas) where the
    two could differ: missing values, which crosstab drops, or non-numeric levels.
    """
    if rows.dtype.kind not in "biuf" or columns.dtype.kind not in "biuf":
        return None
    if np.isnan(rows).any() or np.isnan(columns).any():
        return None
    row_levels, row_codes = np.unique(rows, return_inverse=True)
    column_levels, column_codes = np.unique(columns, return_inverse=True)
    n_columns = len(column_levels)
    counts = np.bincount(row_codes.ravel() * n_columns + column_codes.ravel(),
                         minlength=len(row_levels) * n_columns)
    table = counts.reshape(len(row_levels), n_columns).astype(np.float64)
    return table / float(len(rows))


# pymfe's own two info-theory helpers, kept when the fast ones are installed (the fallback).
_PYMFE_INFO_THEORY: dict = {}
_INSTALL_LOCK = threading.Lock()


def _fast_joint_ent(vec_x, vec_y, epsilon: float = 1.0e-8) -> float:
    """pymfe 0.4.4's ``MFEInfoTheory._calc_joint_ent``, verbatim but for the crosstab."""
    table = _normalized_crosstab(np.asarray(vec_y), np.asarray(vec_x))
    if table is None:
        return _PYMFE_INFO_THEORY["_calc_joint_ent"](vec_x, vec_y, epsilon)
    joint_prob_mat = table + epsilon
    joint_ent = np.sum(np.multiply(joint_prob_mat, np.log2(joint_prob_mat)))
    return -1.0 * joint_ent


def _fast_conc(vec_x, vec_y, epsilon: float = 1.0e-8) -> float:
    """pymfe 0.4.4's ``MFEInfoTheory._calc_conc``, verbatim but for the crosstab."""
    table = _normalized_crosstab(np.asarray(vec_x), np.asarray(vec_y))
    if table is None:
        return _PYMFE_INFO_THEORY["_calc_conc"](vec_x, vec_y, epsilon)
    pij = table + epsilon
    isum = pij.sum(axis=0)
    jsum2 = np.sum(pij.sum(axis=1) ** 2)
    return (np.sum(pij ** 2 / isum) - jsum2) / (1.0 - jsum2)


def _install_fast_info_theory() -> None:
    """Give pymfe's info-theory group the crosstab-free helpers, once per process.

    ``pd.crosstab`` was about 0.9 of the group's 1.0 s at 2,000 x 100 (two crosstabs per
    column). Patching pymfe, rather than reimplementing the group, keeps pymfe's
    discretisation, precomputation and summaries, which define the values the corpus was
    built with; the helpers return pymfe's values bit for bit (tests/test_metafeatures.py
    checks them against pymfe's own), so anything else in this process that uses pymfe gets
    the same numbers, sooner. Installed for good rather than per call: a per-call swap and
    restore would race when several threads extract at once (joblib's threading backend).
    """
    from pymfe.info_theory import MFEInfoTheory

    with _INSTALL_LOCK:
        if _PYMFE_INFO_THEORY:
            return
        for name, fast in (("_calc_joint_ent", _fast_joint_ent), ("_calc_conc", _fast_conc)):
            _PYMFE_INFO_THEORY[name] = getattr(MFEInfoTheory, name)  # bound to the class
            setattr(MFEInfoTheory, name, staticmethod(fast))


def _isolated(function, *args):
    """``function(*args)`` where pymfe's global state changes reach no one: in the
    extraction worker process, or in this one when nothing else runs in it.

    pymfe and the libraries under it change process-wide state: numpy's global RNG (pymfe
    seeds it in every group and draws from it in landmarking), the warnings filters (their
    warnings must be silenced, and ``warnings.catch_warnings`` is not thread-safe before
    Python 3.14) and the BLAS thread count (one thread: see :func:`_pymfe_groups`), and
    :func:`_pymfe_groups` saves and restores all three around its work. Where to run:

    - **Here**, when this process has no other thread and no worker was started: no one can
      see the state while it is changed, and it is restored before the call returns. This
      spares a script's first call the worker's start (a new Python process importing
      pandas, scikit-learn and pymfe: about 1.2 s of the 1.5 s a first 1,000 x 20 call
      took); pymfe then stays imported here, as any library a call imports.
    - **In the worker** otherwise (other threads, such as a notebook kernel's or the
      caller's own, could see the changed state): one loky process (loky, as joblib's
      default backend: no fork of a threaded process, and no re-import of the caller's
      ``__main__``), started by the first such call and closed after
      ``_WORKER_IDLE_SECONDS`` idle; calls from several threads take turns there. Once
      started, it serves every later call, so a process's vectors keep coming from one place
      (they are equal either way: ``tests/test_threads.py``).
    - **Here, one call at a time**, in a daemonic process (a Dask worker, a multiprocessing
      pool's), which may not start a worker: its other threads see the state changed
      meanwhile (the documented limit).
    """
    if (not _ISOLATE or multiprocessing.current_process().daemon
            or (_worker is None and threading.active_count() == 1)):
        return _in_this_process(function, *args)
    executor = _worker_executor()
    try:
        return executor.submit(function, *args).result()
    except BrokenProcessPool:  # e.g. the worker was killed while idle: once more, afresh
        pass
    executor = _worker_executor(replacing=executor)
    try:
        return executor.submit(function, *args).result()
    except BrokenProcessPool as err:
        _worker_executor(replacing=executor)
        raise RuntimeError(
            f"The meta-feature worker process ended during the call, twice ({err}). If "
            "this repeats, it is likely killed for memory: lower max_rows or max_cols."
        ) from err


def _in_this_process(function, *args):
    """``function(*args)`` here, one call at a time, with tqdm's monitor thread off.

    pymfe wraps its loops in (disabled) tqdm progress bars, and the first bar starts tqdm's
    monitor thread, which then runs for good: a thread this call started would send every
    later call to the worker (see :func:`_isolated`). The setting is restored afterwards.
    """
    import tqdm  # pymfe's own dependency, cheap

    with _IN_PROCESS_LOCK:
        interval, tqdm.tqdm.monitor_interval = tqdm.tqdm.monitor_interval, 0
        try:
            return function(*args)
        finally:
            tqdm.tqdm.monitor_interval = interval


def start_worker() -> None:
    """Start the extraction worker, and its import of pymfe, now; return without waiting.

    For a caller that wants its meta-features computed in the worker process from the first
    call on, and the worker ready before that call (a service warming up): once started,
    the worker serves every later :func:`extract` of this process (see :func:`_isolated`).
    A no-op where :func:`extract` would run pymfe in this process anyway (a daemonic
    process); cheap when the worker is running already (a queued no-op).
    """
    if _ISOLATE and not multiprocessing.current_process().daemon:
        _worker_executor().submit(_import_pymfe)  # errors, if any, are the next call's


def _import_pymfe() -> None:
    # About a second, once per process; in the worker, before the first call arrives.
    import pymfe.mfe  # noqa: F401


def _worker_executor(replacing: ProcessPoolExecutor | None = None) -> ProcessPoolExecutor:
    """The worker's executor: made on first use, and anew when ``replacing`` (broken) is it.

    Threads whose calls broke with the same worker replace it once, not once each.
    """
    global _worker
    with _WORKER_LOCK:
        if _worker is None or _worker is replacing:
            _worker = ProcessPoolExecutor(max_workers=1, timeout=_WORKER_IDLE_SECONDS,
                                          initializer=_without_matplotlib)
        return _worker


def _without_matplotlib() -> None:
    """Make ``import matplotlib`` fail in the worker process (run there as it starts).

    pymfe imports igraph (for its complexity group, which is not extracted here), and igraph
    imports ``matplotlib.pyplot`` whenever it can, for drawing: 0.4-0.5 s of the worker's
    start. Nothing run in the worker draws, and igraph falls back to a stub without
    matplotlib (its documented behaviour when matplotlib is not installed). A ``None`` entry
    in ``sys.modules`` is Python's way to make an import raise ``ImportError``; it is set
    only in the worker, never in the caller's process.
    """
    sys.modules.setdefault("matplotlib", None)


def _pymfe_groups(
    groups: dict[str, tuple[np.ndarray, int]],
    y: np.ndarray,
    random_state: int,
    n_folds: int,
    time_left: float | None,
) -> tuple[dict[str, float], list[str]]:
    """The pymfe groups' values, and the groups skipped for time (run by :func:`_isolated`).

    ``groups`` maps each group to its matrix (numeric columns first, then ``n_cat`` coded
    categories); ``time_left`` is the seconds of ``time_budget`` left when the call was made
    (the wait for the worker is not counted, so the values do not depend on it).
    """
    # Imported before the clock starts: about a second, once per process, not per table.
    import pymfe.mfe  # noqa: F401

    deadline = None if time_left is None else time.perf_counter() + time_left
    values: dict[str, float] = {}
    skipped = []
    rng_state = np.random.get_state()  # noqa: NPY002 (restored after pymfe's reseeding)
    try:
        # pymfe warns freely (constant columns, small classes); its warnings are noise
        # here. One BLAS/OpenMP thread: on a 2-core machine more threads made pymfe's
        # linear algebra 10-100x slower (statistical's fit 0.7 s instead of 0.013 s, LDA
        # 0.77 s instead of 0.007 s), and the values then do not depend on the core count.
        with warnings.catch_warnings(), np.errstate(all="ignore"), threadpool_limits(limits=1), \
                ThreadPoolExecutor(max_workers=1) as background:

            def compute(group: str) -> dict:
                X, n_cat = groups[group]
                try:
                    return _pymfe_group(group, X, n_cat, y, random_state, n_folds)
                except Exception:  # a failing group must cost its features, not the call
                    return {}

            def out_of_time() -> bool:
                return deadline is not None and time.perf_counter() > deadline

            warnings.simplefilter("ignore")
            # Landmarking, the most expensive group (fitting trees, LDA and 1-NN, which run
            # outside the GIL), starts first in a thread of its own while the others run
            # here: about 40 % off the call on two cores, the same values on any. It seeds
            # numpy's global RNG and draws from it at once; the other groups only seed it,
            # with the same seed, so the order in which the two threads do so is immaterial.
            landmarking = None
            if out_of_time():
                skipped.append("landmarking")
            elif n_folds >= 2:  # else every class has one row: nothing to cross-validate
                landmarking = background.submit(compute, "landmarking")
            for group in _PYMFE_GROUPS:
                if group == "landmarking":
                    continue
                if out_of_time():
                    skipped.append(group)
                    continue
                values.update(compute(group))
            if landmarking is not None:
                values.update(landmarking.result())
    finally:
        np.random.set_state(rng_state)  # noqa: NPY002
    return values, skipped


def _pymfe_group(
    group: str, X: np.ndarray, n_cat: int, y: np.ndarray, random_state: int, n_folds: int
) -> dict[str, float]:
    """Run one pymfe group on X (numeric columns first, then ``n_cat`` coded categories)."""
    if group == "info-theory":
        _install_fast_info_theory()
    return _run_pymfe_group(group, X, n_cat, y, random_state, n_folds)


def _run_pymfe_group(
    group: str, X: np.ndarray, n_cat: int, y: np.ndarray, random_state: int, n_folds: int
) -> dict[str, float]:
    from pymfe.mfe import MFE  # imported here: it costs about a second

    names = [name for name, owner in METAFEATURE_GROUP.items() if owner == group]
    n_cols = X.shape[1]
    mfe = MFE(
        groups=[group],
        features=sorted({name.split(".")[0] for name in names}),
        summary=list(_SUMMARIES),
        num_cv_folds=n_folds,
        shuffle_cv_folds=True,  # folds must not depend on the row order of the data
        score="balanced-accuracy",
        random_state=random_state,
        suppress_warnings=True,
    )
    mfe.fit(
        X,
        y,
        # Discretised numbers are needed only by info-theory, one-hot categories only by the
        # groups that read numeric data; skipping them saves most of pymfe's fit time.
        transform_num=group == "info-theory",
        # "one-hot-full" because pymfe's "one-hot" raises on a single-level column and
        # "gray" (patsy) gives the first categorical column a different coding than the rest.
        transform_cat="one-hot-full" if n_cat and group != "info-theory" else None,
        cat_cols=list(range(n_cols - n_cat, n_cols)),
        suppress_warnings=True,
    )
    found, found_values = mfe.extract(suppress_warnings=True)
    out = {}
    for name, value in zip(found, found_values, strict=True):
        base, _, summary = name.partition(".")
        key = f"{base}.{_SUMMARIES[summary]}" if summary in _SUMMARIES else name
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            out[key] = np.nan
    return {name: out.get(name, np.nan) for name in names}
