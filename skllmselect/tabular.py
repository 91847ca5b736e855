"""Turn a user's raw table into what the meta-features and the portfolio read, with notes.

Real tables are messier than benchmark folders: an ID column, a free-text column, dates, a
column nothing but missing values. :func:`plan_table` looks at the table ``fit`` (or
``recommend``) receives once and decides what becomes of each column; :meth:`TablePlan.transform`
applies that decision, the same way, to the training data and to every table ``predict`` gets
later. Each decision that changes something is written as a note for the user.

What happens to a pandas DataFrame's columns:

* numeric (int, float, nullable ``Int64``/``Float64``), boolean, category, string and object
  columns are kept as they are: the portfolio and the meta-features read them directly. A
  clean table therefore comes back unchanged (the very same object), so its meta-features
  are exactly those the training corpus was computed with;
* datetime columns (naive or time-zone aware, and periods) become float seconds since
  1970-01-01 UTC (naive times are read as UTC), ``NaT`` becomes NaN; text columns whose
  values are all ISO-8601 dates or times (``2024-03``, ``2024-03-01``,
  ``2024-03-01T12:30:00+01:00``, as a CSV file holds them) are read the same way;
* timedelta columns, and text columns of pandas' timedelta text (``1 days 06:00:00``),
  become float seconds;
* identifier-like columns are dropped: text or category columns with at least
  :data:`ID_MIN_ROWS` non-missing values of which at least :data:`ID_DISTINCT_SHARE` are
  distinct (IDs, names, free text: a level seen once cannot generalise to new rows), and
  integer columns whose values are all distinct and that either are named like an identifier
  (``id``, ``customer_id``, ``PassengerId``, ``uuid``, ...) or count the rows (0, 1, 2, ...
  or 1, 2, 3, ..., as a saved index does). Float columns are never dropped: measurements
  are naturally all distinct;
* columns in which every value is missing are dropped (they carry no information, and
  scikit-learn's imputers would remove them anyway, leaving no column at all when they were
  the only ones);
* object columns holding only numbers are read as numbers;
* categorical columns with more levels than the portfolio's one-hot encoding keeps are kept,
  with a note (:data:`skllmselect.portfolio.MAX_LEVELS`).

Refused with an error naming the column: duplicate column names (``ValueError``, as
scikit-learn), complex numbers (``ValueError``) and cells holding lists, dicts, sets, tuples
or arrays (``TypeError``). numpy arrays are used as they are, except that a datetime64 or
timedelta64 array becomes float seconds.

At predict time each column is read as the kind it had in fit: a numeric column given as
text is parsed as numbers (a value that is not one is an error naming the column), a
categorical column given as numbers is read as their text, a datetime column given as text
is parsed as dates; dropped columns must be there (scikit-learn checks the names) but are
ignored.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from skllmselect.portfolio import MAX_LEVELS, MISSING_LEVEL

#: Text/category columns need at least this many non-missing values to be judged ID-like.
ID_MIN_ROWS = 20
#: ... and at least this share of them distinct.
ID_DISTINCT_SHARE = 0.95

_NUMERIC, _CATEGORICAL, _DATETIME, _TIMEDELTA, _DROP = (
    "numeric", "categorical", "datetime", "timedelta", "drop")
_EPOCH = pd.Timestamp(0, tz="UTC")
_ID_WORDS = frozenset({"id", "ids", "uuid", "guid"})
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_ISO_DATE = re.compile(
    r"\d{4}-\d{2}"  # year and month (what a monthly period writes)
    r"(?:-\d{2}"  # day
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?"  # time
    r"(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"  # offset
)
# pandas' text of a Timedelta, as a CSV file holds it: "1 days 06:00:00", "-1 days +23:59:55.5"
_TIMEDELTA_TEXT = re.compile(r"-?\d+ days? [+-]?\d{1,2}:\d{2}:\d{2}(?:\.\d{1,9})?")
_NON_SCALAR = (list, dict, set, frozenset, tuple, np.ndarray, pd.Series, pd.DataFrame)
_NUMBER_KINDS = frozenset({"integer", "floating", "mixed-integer-float", "decimal"})
_TEXT_KINDS = frozenset({"string", "bytes", "mixed", "mixed-integer", "categorical",
                         "unicode"})


class PreparationWarning(UserWarning):
    """The notes of :func:`plan_table` (columns converted or dropped), as one warning."""


@dataclass(frozen=True)
class ColumnPlan:
    """What becomes of one column: its ``kind`` in fit and, when dropped, ``why``."""

    label: object
    kind: str  # "numeric", "categorical", "datetime", "timedelta" or "drop"
    why: str = ""


@dataclass(frozen=True)
class TablePlan:
    """The decisions :func:`plan_table` took for a table; :meth:`transform` applies them.

    ``columns`` is None for a numpy array (used as it is); ``notes`` says, one line per
    column that is converted or dropped, what happened and why.
    """

    columns: tuple[ColumnPlan, ...] | None
    notes: tuple[str, ...] = ()

    @property
    def dropped(self) -> list:
        """Labels of the columns left out."""
        return [c.label for c in self.columns or () if c.kind == _DROP]

    def transform(self, X):
        """Apply the plan to ``X`` (a DataFrame with the fitted columns, or an array).

        A DataFrame whose columns already have the fitted kinds and from which nothing is
        dropped is returned as it is (the same object).
        """
        if self.columns is None:
            return _array_seconds(X) if isinstance(X, np.ndarray) else X
        if X.shape[1] != len(self.columns):  # the caller checked; this guards direct use
            raise ValueError(f"X has {X.shape[1]} columns, but the table was planned with "
                             f"{len(self.columns)}.")
        kept, converted = [], {}
        for position, plan in enumerate(self.columns):
            if plan.kind == _DROP:
                continue
            col = X.iloc[:, position]
            new = _CONVERTERS[plan.kind](col, plan.label)
            if new is not col:
                converted[len(kept)] = new
            kept.append(position)
        if not kept:  # cannot happen from plan_table (it refuses); guards direct use
            raise ValueError("Every column of X was dropped: no feature is left.")
        if len(kept) == X.shape[1] and not converted:
            return X
        # Kept columns keep their dtypes exactly (a DataFrame built from their values would
        # let pandas infer new ones, e.g. str for an object column of text).
        frame = X.iloc[:, kept].copy()
        for i, new in converted.items():
            frame.isetitem(i, new.to_numpy() if isinstance(new.dtype, np.dtype) else new.array)
        return frame


def fill_missing_categories(X):
    """The table the portfolio's pipelines get: missing categories as their missing level.

    Every pipeline imputes a missing category with :data:`~skllmselect.portfolio.MISSING_LEVEL`
    itself, so filling it in first changes nothing it computes, except where a category
    column has no value at all on a cross-validation fold's training rows: the imputer would
    drop it there, and with no category column left the encoder fails (every candidate on
    that fold). Numbers are left to the pipelines' median imputation. The meta-features read
    the table before this step, so they still see the missing values.
    """
    if isinstance(X, pd.DataFrame):
        frame = X
        categorical = [j for j, dtype in enumerate(frame.dtypes)
                       if pd.api.types.is_bool_dtype(dtype)
                       or not pd.api.types.is_numeric_dtype(dtype)]
    elif isinstance(X, np.ndarray) and X.dtype.kind == "O":
        frame = pd.DataFrame(X).infer_objects()  # as the pipelines' first step reads it
        categorical = [j for j, dtype in enumerate(frame.dtypes)
                       if pd.api.types.is_bool_dtype(dtype)
                       or not pd.api.types.is_numeric_dtype(dtype)]
    else:
        return X
    filled = {}
    for j in categorical:
        col = frame.iloc[:, j]
        missing = col.isna()
        if missing.any():
            filled[j] = col.astype(object).where(~missing, MISSING_LEVEL).to_numpy(dtype=object)
    if not filled:
        return X
    if not isinstance(X, pd.DataFrame):
        out = X.copy()
        for j, values in filled.items():
            out[:, j] = values
        return out
    out = X.copy()
    for j, values in filled.items():
        out.isetitem(j, values)
    return out


# ------------------------------------------------------------------------------ planning


def plan_table(X) -> TablePlan:
    """Decide what becomes of each column of ``X`` (see the module docstring).

    Parameters
    ----------
    X : pandas.DataFrame or numpy.ndarray
        The training table, already checked to be 2-D and non-empty.

    Returns
    -------
    TablePlan

    Raises
    ------
    ValueError
        Duplicate column names, a complex-valued column, or no column left to learn from.
    TypeError
        A column whose cells hold lists, dicts, sets, tuples or arrays.
    """
    if not isinstance(X, pd.DataFrame):
        return TablePlan(None)
    check_unique_columns(X)
    n_rows = X.shape[0]
    columns, notes = [], []
    for position, label in enumerate(X.columns):
        col = X.iloc[:, position]
        kind, note = _plan_column(col, label, n_rows)
        why = note if kind == _DROP else ""
        columns.append(ColumnPlan(label, kind, why))
        if note:
            notes.append(note)
    if all(c.kind == _DROP for c in columns):
        reasons = "; ".join(notes[:5]) + ("; ..." if len(notes) > 5 else "")
        raise ValueError(
            f"X has no usable feature column: all {len(columns)} were dropped ({reasons}). "
            "Pass at least one column that varies across rows and can recur in new data "
            "(numbers, categories, dates)."
        )
    return TablePlan(tuple(columns), tuple(notes))


def check_unique_columns(X: pd.DataFrame) -> None:
    """Refuse duplicate column names (scikit-learn does), naming them and the fix."""
    if X.columns.is_unique:
        return
    counts = pd.Series(X.columns).value_counts()
    repeated = counts[counts > 1]
    shown = ", ".join(f"{label!r} ({n} times)" for label, n in repeated.head(10).items())
    raise ValueError(
        f"X has duplicate column names: {shown}. Column names must be unique, as in "
        "scikit-learn: rename the columns, e.g. X.columns = [f'{c}_{i}' for i, c in "
        "enumerate(X.columns)], or drop the duplicates with X.loc[:, ~X.columns.duplicated()]."
    )


def _plan_column(col: pd.Series, label, n_rows: int) -> tuple[str, str]:
    """``(kind, note)`` of one training column; note is "" when nothing changes."""
    dtype = col.dtype
    name = _show(label)
    if pd.api.types.is_complex_dtype(dtype):
        raise ValueError(
            f"X column {name} holds complex numbers, which no classifier of the portfolio "
            f"reads (as in scikit-learn: complex data not supported). Pass the real part, "
            f"the imaginary part or the magnitude as columns of their own, e.g. "
            f"X[{name}] = np.abs(X[{name}])."
        )
    n_present = int(col.notna().sum())
    if n_present == 0:
        return _DROP, f"column {name}: every value is missing; dropped."
    if pd.api.types.is_bool_dtype(dtype):
        return _CATEGORICAL, ""
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        return _DATETIME, f"column {name}: datetimes, used as seconds since 1970-01-01 UTC."
    if isinstance(dtype, pd.PeriodDtype):
        return _DATETIME, (f"column {name}: periods, used as the seconds since 1970-01-01 UTC "
                           "of their start.")
    if pd.api.types.is_timedelta64_dtype(dtype):
        return _TIMEDELTA, f"column {name}: time spans, used as seconds."
    if pd.api.types.is_numeric_dtype(dtype):
        why = _integer_id(col, label, n_rows) if pd.api.types.is_integer_dtype(dtype) else ""
        if why:
            return _DROP, _id_note(name, why)
        return _NUMERIC, ""
    # category, string, object and anything else the portfolio reads as categories
    values = col.dropna()
    if isinstance(dtype, pd.CategoricalDtype):
        inferred = "categorical"
    else:
        inferred = pd.api.types.infer_dtype(values, skipna=False)
        if pd.api.types.is_object_dtype(dtype):
            _refuse_non_scalars(values, name)
        if inferred in ("datetime", "datetime64", "date"):
            return _DATETIME, f"column {name}: datetimes, used as seconds since 1970-01-01 UTC."
        if inferred in ("timedelta", "timedelta64"):
            return _TIMEDELTA, f"column {name}: time spans, used as seconds."
        if inferred == "string" and _all_match(values, _ISO_DATE) \
                and _parse_datetimes(values.astype(object)).notna().all():
            # Only real dates: '1960-64' (a span of years) has the shape of '1960-06'.
            return _DATETIME, (f"column {name}: ISO-8601 dates given as text, read as "
                               "datetimes and used as seconds since 1970-01-01 UTC.")
        if inferred == "string" and _all_match(values, _TIMEDELTA_TEXT):
            return _TIMEDELTA, (f"column {name}: time spans given as text ('1 days "
                                "06:00:00'), used as seconds.")
        why = _integer_id(values, label, n_rows) if inferred == "integer" else ""
        if why:
            return _DROP, _id_note(name, why)
        if inferred in _NUMBER_KINDS:
            return _NUMERIC, f"column {name}: numbers stored as objects, used as numbers."
    levels = _n_levels(values)
    if inferred in _TEXT_KINDS and n_present >= ID_MIN_ROWS \
            and levels >= ID_DISTINCT_SHARE * n_present:
        share = "all" if levels == n_present else f"{levels} of"
        return _DROP, _id_note(name, f"{share} its {n_present} values are distinct (names, "
                                     "codes or free text)")
    if levels > MAX_LEVELS:
        return _CATEGORICAL, (
            f"column {name}: {levels} category levels; the linear, SVM, neighbour and MLP "
            f"pipelines one-hot encode at most the {MAX_LEVELS} most frequent (a level in "
            "fewer than 1% of the rows shares one column with the rest), the tree pipelines "
            "read ordinal codes.")
    return _CATEGORICAL, ""


# The largest magnitude a model can compute with (float32, the trees' dtype); the selector
# refuses larger values in fit, recommend and predict alike.
LARGEST_VALUE = float(np.finfo(np.float32).max)


def _show(label) -> str:
    return repr(label.item() if isinstance(label, np.generic) else label)


def _id_note(name: str, why: str) -> str:
    return (f"column {name}: {why}, so it looks like an identifier; dropped, since a value "
            "seen once cannot help predict new rows. Encode what it means (a category, a "
            "length, a date) as a column of its own to use it.")


def _n_levels(values: pd.Series) -> int:
    try:
        return int(values.nunique())
    except TypeError:  # unhashable values that slipped through (not object dtype)
        return int(values.astype(str).nunique())


def _integer_id(values: pd.Series, label, n_rows: int) -> str:
    """Why an integer column looks like an identifier ("" if it does not).

    All its values distinct, and either named like one or counting the rows (0 or 1, 2, ...).
    """
    present = values.dropna()
    if len(present) < ID_MIN_ROWS or not present.is_unique:
        return ""
    words = [w.lower() for w in _WORDS.findall(str(label))]
    if words and (words[0] in _ID_WORDS or words[-1] in _ID_WORDS):
        return f"its {len(present)} integers are all distinct and its name says ID"
    if len(present) != n_rows:  # a row counter has no gaps
        return ""
    numbers = present.to_numpy(dtype=np.float64)
    if numbers[0] in (0.0, 1.0) and np.array_equal(numbers, numbers[0] + np.arange(n_rows)):
        return (f"it counts the rows ({numbers[0]:.0f}, {numbers[0] + 1:.0f}, "
                f"{numbers[0] + 2:.0f}, ...), as a saved index does")
    return ""


def _all_match(values: pd.Series, pattern: re.Pattern) -> bool:
    """Whether every (non-missing) value is text matching ``pattern`` in full."""
    if len(values) == 0:
        return False
    return bool(values.astype(str).str.fullmatch(pattern).all())


def _refuse_non_scalars(values: pd.Series, name: str) -> None:
    for value in values:
        if isinstance(value, _NON_SCALAR):
            kind = type(value).__name__
            example = repr(value)
            example = example if len(example) <= 40 else example[:37] + "..."
            raise TypeError(
                f"X column {name} holds {kind} values (e.g. {example}), but every cell must "
                "be a single number, category, date or missing value. Expand the values "
                f"into columns of their own, or use their text: X[{name}] = "
                f"X[{name}].astype(str)."
            )


# ------------------------------------------------------------------------------ converting


def _keep_numeric(col: pd.Series, label):
    dtype = col.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return col.astype("float64")
    if pd.api.types.is_complex_dtype(dtype):
        raise ValueError(f"X column {_show(label)} was numeric in fit, but holds complex "
                         "numbers now: pass real numbers.")
    if pd.api.types.is_numeric_dtype(dtype):
        return col
    if _is_time(dtype):
        raise ValueError(f"X column {_show(label)} was numeric in fit, but is {dtype} now: "
                         "pass the same kind of values as in fit.")
    values = _missing_text_as_nan(col)
    numbers = pd.to_numeric(values, errors="coerce")
    with np.errstate(invalid="ignore"):
        size = np.abs(numbers.to_numpy(dtype=np.float64))
    bad = values.notna().to_numpy() & ~(size <= LARGEST_VALUE)  # NaN, inf or beyond float32
    if bad.any():
        example = values[bad].iloc[0]
        raise ValueError(
            f"X column {_show(label)} was numeric in fit, but holds {int(bad.sum())} value(s) "
            f"that are not numbers within +-3.4e38 now (e.g. {example!r}): pass numbers, "
            "with NaN where a value is missing.")
    return numbers.astype("float64")


def _keep_categorical(col: pd.Series, label):
    dtype = col.dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        if _is_time(dtype):
            return col.astype(object).where(col.notna(), np.nan)
        return col
    # Numbers where fit saw categories: read them as their text (unseen levels are handled).
    return col.astype(object).where(col.notna(), np.nan)


def _datetime_seconds(col: pd.Series, label):
    dtype = col.dtype
    if isinstance(dtype, pd.PeriodDtype):
        col = col.dt.start_time
        dtype = col.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        times = col.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(dtype):
        times = col.dt.tz_localize("UTC")
    elif pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype) \
            and col.isna().all():
        times = pd.Series(pd.NaT, index=col.index, dtype="datetime64[us, UTC]")
    elif pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        raise ValueError(f"X column {_show(label)} held datetimes in fit, but is {dtype} "
                         "now: pass datetimes (or ISO-8601 text) as in fit.")
    else:
        values = _missing_text_as_nan(col).astype(object)
        values = values.where(values.notna(), None)
        times = _parse_datetimes(values)
        bad = values.notna().to_numpy() & times.isna().to_numpy()
        if bad.any():
            raise ValueError(
                f"X column {_show(label)} held datetimes in fit, but {int(bad.sum())} of its "
                f"values are not dates now (e.g. {values[bad].iloc[0]!r}): pass datetimes or "
                "ISO-8601 text such as '2024-03-01' or '2024-03-01T12:30:00'.")
    return (times - _EPOCH).dt.total_seconds().astype("float64")


def _parse_datetimes(values: pd.Series) -> pd.Series:
    """UTC datetimes from objects (ISO-8601 text, datetimes, dates) or None; others -> NaT."""
    # Microseconds: years 0001 to 9999 fit (nanoseconds stop at 1677 and 2262).
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    text = values.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    if text.any():
        parsed = pd.to_datetime(values[text].astype(str), utc=True, errors="coerce",
                                format="ISO8601")
        out[text] = parsed.dt.as_unit("us")
    for i in np.flatnonzero(~text & values.notna().to_numpy()):
        try:
            stamp = pd.Timestamp(values.iat[i])
            out.iat[i] = (stamp.tz_localize("UTC") if stamp.tzinfo is None
                          else stamp.tz_convert("UTC")).as_unit("us")
        except (TypeError, ValueError, OverflowError, pd.errors.OutOfBoundsDatetime):
            pass
    return out


def _timedelta_seconds(col: pd.Series, label):
    dtype = col.dtype
    if pd.api.types.is_timedelta64_dtype(dtype):
        return col.dt.total_seconds().astype("float64")
    if pd.api.types.is_numeric_dtype(dtype) or _is_time(dtype):
        if pd.api.types.is_numeric_dtype(dtype) and col.isna().all():
            return col.astype("float64")
        raise ValueError(f"X column {_show(label)} held time spans in fit, but is {dtype} "
                         "now: pass timedeltas (or text such as '1 days 02:00:00') as in fit.")
    values = _missing_text_as_nan(col).astype(object)
    values = values.where(values.notna(), None)
    spans = pd.to_timedelta(values.map(lambda v: v if v is None or isinstance(v, pd.Timedelta)
                                       else str(v)), errors="coerce")
    bad = values.notna().to_numpy() & spans.isna().to_numpy()
    if bad.any():
        raise ValueError(
            f"X column {_show(label)} held time spans in fit, but {int(bad.sum())} of its "
            f"values are not time spans now (e.g. {values[bad].iloc[0]!r}): pass timedeltas.")
    return spans.dt.total_seconds().astype("float64")


def _missing_text_as_nan(col: pd.Series) -> pd.Series:
    """An object copy of ``col`` with missing values, and the text of one ("nan", "NaT",
    "<NA>", "", ... as ``astype(str)`` or a CSV file writes it), as NaN."""
    values = col.astype(object)
    missing = col.isna().to_numpy() | values.map(
        lambda v: isinstance(v, str) and v.strip() in _MISSING_TEXT).to_numpy(dtype=bool)
    return values.where(~missing, np.nan)


_MISSING_TEXT = frozenset({"", "nan", "NaN", "NAN", "<NA>", "NA", "N/A", "n/a", "None", "none",
                           "null", "NULL", "NaT"})


def _is_time(dtype) -> bool:
    return (isinstance(dtype, pd.DatetimeTZDtype | pd.PeriodDtype)
            or pd.api.types.is_datetime64_dtype(dtype)
            or pd.api.types.is_timedelta64_dtype(dtype))


_CONVERTERS = {
    _NUMERIC: _keep_numeric,
    _CATEGORICAL: _keep_categorical,
    _DATETIME: _datetime_seconds,
    _TIMEDELTA: _timedelta_seconds,
}


def _array_seconds(X: np.ndarray) -> np.ndarray:
    """A datetime64 array as seconds since 1970-01-01, a timedelta64 array as seconds."""
    if X.dtype.kind == "M":
        seconds = (X - np.datetime64(0, "s")) / np.timedelta64(1, "s")
    elif X.dtype.kind == "m":
        seconds = X / np.timedelta64(1, "s")
    else:
        return X
    return np.asarray(seconds, dtype=np.float64)


_NOTES_SHOWN = 10  # notes shown in full in fit's warning; the rest are counted


def warn_notes(notes) -> None:
    """The preparation notes as one warning (the first ones in full, then a count)."""
    if not notes:
        return
    shown = list(notes[:_NOTES_SHOWN])
    if len(notes) > _NOTES_SHOWN:
        shown.append(f"... and {len(notes) - _NOTES_SHOWN} more")
    warnings.warn("LLMAlgorithmSelector prepared the table: " + " ".join(shown)
                  + " (see notes_ after fit, or the recommendation's .attrs['notes'])",
                  PreparationWarning, stacklevel=3)
