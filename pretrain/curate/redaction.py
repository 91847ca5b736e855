"""PII redaction: e-mails, phone numbers, URLs and person names in column names and values
(:func:`redact`), run first so that nothing unredacted is fingerprinted or stored."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

import numpy as np
import pandas as pd

from pretrain.curate.columns import _is_text
from pretrain.sources import Dataset

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
