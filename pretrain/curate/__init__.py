"""Curation before the expensive CV runs: redaction, quality filters, dedup, leakage guard.

The order of :func:`curate` is fixed: PII redaction (:func:`redact`, so that nothing
unredacted is fingerprinted or stored) -> column cleaning and accept/reject (:func:`clean`)
-> the estimator's own table preparation (:func:`estimator_prepared`) -> leakage guard
against the held-out benchmark (:class:`LeakageGuard`) -> exact and near-duplicate removal
(:func:`find_duplicates`).

One module per concept; every public name is re-exported here, so ``from pretrain.curate
import X`` and ``curate.X`` work whichever module defines ``X``:

- ``config``: the thresholds (:class:`CurateConfig`);
- ``columns``: how a column is read (text, numbers, jittered levels);
- ``redaction``: PII in names and values;
- ``cleaning``: useless columns and rows, accept or reject;
- ``fingerprints``: a table's content summary (:class:`Fingerprint`);
- ``matching``: two fingerprints compared (:func:`compare`);
- ``near_rows``: rows as quantiles, near copies of rows (:func:`near_row_shares`);
- ``leakage``: the guard against the benchmark (:class:`LeakageGuard`);
- ``dedup``: exact and near duplicates (:func:`find_duplicates`);
- ``pipeline``: :func:`prepare` for one table and :func:`curate` for many.
"""

from pretrain.curate.cleaning import (
    CLEAN_REASONS,
    COLUMN_REASONS,
    ROW_REASONS,
    CleanResult,
    clean,
    column_drop_reason,
    duplicate_share,
)
from pretrain.curate.columns import (
    PROFILE_MAX_LEVELS,
    SNAP_RATIO,
    SNAP_WIDTH,
    TIE_MIN_ROWS,
    TIE_SHARE,
    TIE_WIDTH,
)
from pretrain.curate.config import CurateConfig
from pretrain.curate.dedup import find_duplicates, lsh_candidates, minhash
from pretrain.curate.fingerprints import (
    ASSOC_BINS,
    ASSOC_CELL_BUDGET,
    ASSOC_MAX_COLUMNS,
    ASSOC_MIN_ROWS,
    NOISE_FLOOR,
    ROW_MIN_BITS,
    ROW_SKETCH_SIZE,
    SHAPE_LEVELS,
    Fingerprint,
    fingerprint,
    is_real,
    row_hashes,
)
from pretrain.curate.leakage import LeakageGuard, LeakMatch
from pretrain.curate.matching import (
    ASSOC_NOISE,
    ASSOC_TRIM,
    PAIR_TOLERANCE,
    PROFILE_NOISE,
    SHAPE_NOISE,
    Match,
    compare,
    row_containment,
    rows_are_specific,
)
from pretrain.curate.near_rows import (
    NEAR_ROWS_COLUMNS,
    NEAR_ROWS_GUARD_SAMPLE,
    NEAR_ROWS_MAX_GAP,
    NEAR_ROWS_RATIO,
    NEAR_ROWS_SAMPLE,
    TIE_MIN_SHARE,
    RankRows,
    near_row_shares,
    rank_rows,
)
from pretrain.curate.pipeline import DROP_REASONS, Prepared, curate, estimator_prepared, prepare
from pretrain.curate.redaction import (
    FIRST_NAMES,
    NON_PERSON_COLUMN_WORDS,
    PERSON_COLUMN_WORDS,
    PII_KINDS,
    PII_TOKENS,
    is_person_column,
    redact,
    redact_values,
)

__all__ = [
    "CurateConfig",
    "PROFILE_MAX_LEVELS",
    "SNAP_WIDTH",
    "SNAP_RATIO",
    "TIE_WIDTH",
    "TIE_SHARE",
    "TIE_MIN_ROWS",
    "FIRST_NAMES",
    "PERSON_COLUMN_WORDS",
    "NON_PERSON_COLUMN_WORDS",
    "PII_KINDS",
    "PII_TOKENS",
    "is_person_column",
    "redact_values",
    "redact",
    "COLUMN_REASONS",
    "ROW_REASONS",
    "CLEAN_REASONS",
    "CleanResult",
    "column_drop_reason",
    "duplicate_share",
    "clean",
    "SHAPE_LEVELS",
    "ASSOC_BINS",
    "ASSOC_MAX_COLUMNS",
    "ASSOC_CELL_BUDGET",
    "ASSOC_MIN_ROWS",
    "ROW_SKETCH_SIZE",
    "ROW_MIN_BITS",
    "NOISE_FLOOR",
    "Fingerprint",
    "row_hashes",
    "fingerprint",
    "is_real",
    "PAIR_TOLERANCE",
    "ASSOC_TRIM",
    "PROFILE_NOISE",
    "SHAPE_NOISE",
    "ASSOC_NOISE",
    "Match",
    "compare",
    "row_containment",
    "rows_are_specific",
    "NEAR_ROWS_SAMPLE",
    "NEAR_ROWS_GUARD_SAMPLE",
    "NEAR_ROWS_COLUMNS",
    "NEAR_ROWS_RATIO",
    "TIE_MIN_SHARE",
    "NEAR_ROWS_MAX_GAP",
    "RankRows",
    "rank_rows",
    "near_row_shares",
    "LeakMatch",
    "LeakageGuard",
    "minhash",
    "lsh_candidates",
    "find_duplicates",
    "DROP_REASONS",
    "Prepared",
    "prepare",
    "estimator_prepared",
    "curate",
]
