"""The curation pipeline: :func:`prepare` (one table) and :func:`curate` (a collection)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from pretrain.curate.cleaning import CLEAN_REASONS, COLUMN_REASONS, ROW_REASONS, clean
from pretrain.curate.config import CurateConfig
from pretrain.curate.dedup import find_duplicates
from pretrain.curate.fingerprints import Fingerprint, fingerprint
from pretrain.curate.leakage import LeakageGuard
from pretrain.curate.redaction import PII_KINDS, redact
from pretrain.sources import Dataset
from pretrain.sources.uci import FROM_ENV
from skllmselect.tabular import plan_table
from skllmselect.validation import check_finite

#: Why :func:`curate` drops a dataset, in pipeline order (with :data:`CLEAN_REASONS`).
DROP_REASONS = (*CLEAN_REASONS, "estimator_refuses", "leakage", "exact_duplicate",
                "near_duplicate")


@dataclass
class Prepared:
    """Outcome of :func:`prepare` for one dataset: the table to keep, or why not, and counts."""

    dataset: Dataset | None
    reason: str | None
    redacted: dict
    dropped_columns: dict
    dropped_rows: dict


def prepare(dataset: Dataset, config: CurateConfig = CurateConfig()) -> Prepared:
    """Redaction, cleaning and the estimator's own preparation for one dataset.

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
    prepared.dataset = cleaned
    return prepared


def estimator_prepared(dataset: Dataset) -> Dataset | None:
    """The table as ``LLMAlgorithmSelector`` prepares it (:func:`skllmselect.tabular.plan_table`).

    Curation and the estimator share one set of rules for identifier, all-missing, date,
    time-delta and numbers-as-text columns: the stored table is what the estimator would fit
    and describe, so the ground truth scores the same columns the meta-features read. The
    curation checks above (constant, target-copy and row-number columns, tiny classes,
    duplicates) are quality filters for the corpus on top of them. None when the estimator
    would refuse the table (no usable column left, infinite or float32-overflowing values).
    """
    try:
        plan = plan_table(dataset.X)
        X = plan.transform(dataset.X)
        check_finite(X)  # what fit and describe refuse would leave a scored table unused
    except (ValueError, TypeError):  # e.g. every column an identifier: fit would refuse
        return None
    if X is dataset.X:
        return dataset
    dropped = [str(c) for c in dataset.X.columns if c not in set(X.columns)]
    curation = {**dataset.provenance.get("curation", {}), "estimator_preparation": {
        "dropped": dropped, "notes": list(plan.notes)}}
    return replace(dataset, X=X, provenance={**dataset.provenance, "curation": curation})


def _prepare(dataset: Dataset, config: CurateConfig,
             report: dict | None) -> tuple[Dataset | None, str | None]:
    """:func:`prepare`, with its counts added into ``report``."""
    prepared = prepare(dataset, config)
    if report is not None:
        for kind, count in prepared.redacted.items():
            report["redacted"][kind] += count
        for reason, count in prepared.dropped_columns.items():
            report["columns_dropped"][reason] += count
        for reason, count in prepared.dropped_rows.items():
            report["rows_dropped"][reason] += count
    return prepared.dataset, prepared.reason


def curate(
    datasets: Iterable[Dataset] | Callable[[], Iterable[Dataset]],
    benchmark_path: str | Path | None = FROM_ENV,
    *,
    config: CurateConfig = CurateConfig(),
    guard: LeakageGuard | None = None,
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
        ``seconds`` per stage; ``config``.
    """
    lazy = callable(datasets)
    report = _empty_report(config)
    tick = time.perf_counter()
    if guard is None and benchmark_path is not None:
        guard = LeakageGuard.from_benchmark(benchmark_path, config)
    report["leakage_guard"] = (
        None if guard is None else sorted(f.id for f in guard.fingerprints))
    report["seconds"]["guard"] = time.perf_counter() - tick
    fingerprints, kept = _first_pass(datasets() if lazy else datasets, config, guard, report,
                                     keep=not lazy)
    keep_ids = _deduplicate(fingerprints, config, report)
    if not lazy:
        return [d for d in kept if d.id in keep_ids], report
    return _second_pass(datasets, keep_ids, config), report


def _empty_report(config: CurateConfig) -> dict:
    """The report of :func:`curate` before any dataset, every count at zero."""
    from dataclasses import asdict

    return {
        "n_input": 0, "n_kept": 0,
        "rejected": dict.fromkeys(DROP_REASONS, 0),
        "rejected_ids": {reason: [] for reason in DROP_REASONS},
        "columns_dropped": dict.fromkeys(COLUMN_REASONS, 0),
        "rows_dropped": dict.fromkeys(ROW_REASONS, 0),
        "redacted": dict.fromkeys((*PII_KINDS, "columns_renamed"), 0),
        "leakage": {}, "leakage_guard": None,
        "exact_duplicate_groups": [], "near_duplicate_groups": [], "near_duplicate_pairs": [],
        "seconds": dict.fromkeys(("guard", "prepare", "fingerprint", "leakage", "dedup"), 0.0),
        "config": asdict(config),
    }


def _drop(report: dict, dataset_id: str, reason: str) -> None:
    report["rejected"][reason] += 1
    report["rejected_ids"][reason].append(dataset_id)


def _first_pass(datasets: Iterable[Dataset], config: CurateConfig, guard: LeakageGuard | None,
                report: dict, *, keep: bool) -> tuple[list[Fingerprint], list[Dataset]]:
    """Prepare, fingerprint and guard every dataset; the fingerprints of those that pass,
    and (with ``keep``) the prepared datasets themselves."""
    clock = time.perf_counter
    fingerprints: list[Fingerprint] = []
    kept: list[Dataset] = []
    seen: set[str] = set()
    for dataset in datasets:
        if dataset.id in seen:
            raise ValueError(f"Dataset id {dataset.id!r} occurs twice; ids must be unique.")
        seen.add(dataset.id)
        report["n_input"] += 1
        tick = clock()
        cleaned, reason = _prepare(dataset, config, report)
        report["seconds"]["prepare"] += clock() - tick
        if cleaned is None:
            _drop(report, dataset.id, reason)
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
                _drop(report, dataset.id, "leakage")
                continue
        fingerprints.append(f)
        if keep:
            kept.append(cleaned)
    return fingerprints, kept


def _deduplicate(fingerprints: list[Fingerprint], config: CurateConfig, report: dict) -> set:
    """Exact and near duplicates among the passed datasets, into ``report``; the ids kept."""
    tick = time.perf_counter()
    duplicates = find_duplicates(fingerprints, config)
    report["seconds"]["dedup"] = time.perf_counter() - tick
    report["exact_duplicate_groups"] = duplicates["exact_groups"]
    report["near_duplicate_groups"] = duplicates["near_groups"]
    report["near_duplicate_pairs"] = duplicates["pairs"]
    exact_dropped = {i for group in duplicates["exact_groups"] for i in group[1:]}
    for f in fingerprints:
        if f.id in duplicates["drop"]:
            _drop(report, f.id,
                  "exact_duplicate" if f.id in exact_dropped else "near_duplicate")
    keep_ids = {f.id for f in fingerprints} - duplicates["drop"]
    report["n_kept"] = len(keep_ids)
    return keep_ids


def _second_pass(datasets: Callable[[], Iterable[Dataset]], keep_ids: set,
                 config: CurateConfig) -> Iterator[Dataset]:
    """The kept datasets, read again from the source and prepared again (deterministic)."""
    for dataset in datasets():
        if dataset.id in keep_ids:
            cleaned, _ = _prepare(dataset, config, None)
            if cleaned is not None:
                yield cleaned
