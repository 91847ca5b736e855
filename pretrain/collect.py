"""Sources -> curated tables on disk (the corpus pipeline's first two steps).

Each dataset is redacted, cleaned, fingerprinted and checked against the benchmark in a
worker (``curate_dataset``); the outcome is one JSON record per dataset, written atomically,
so a killed ``collect`` resumes where it stopped. A kept dataset's cleaned table is stored as
``tables/<id>.parquet`` (the target in column ``__target__``) with its fingerprint beside it
(``.fingerprint.npz``: arrays, and the scalars as JSON; read with ``allow_pickle=False``, so a
collection folder from someone else cannot run code).
Once every dataset has an outcome, exact and near duplicates are removed across the whole
collection (``curate.find_duplicates``) and ``index.json`` lists the datasets that survive,
in collection order (real data first), with a report of every drop by reason.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
import pandas as pd

from pretrain import curate
from pretrain.parallel import map_to_records, read_records, record_path
from pretrain.sources import Dataset
from pretrain.sources.uci import FROM_ENV, resolve_uci_path
from skllmselect.sampling import stratified_subsample

TARGET_COLUMN = "__target__"
#: Stored tables are capped at this many rows (a seeded stratified subsample): the protocol
#: scores at most 2,000 rows, and a 1.4-million-row R table would only cost disk and time.
MAX_STORED_ROWS = 50_000
INDEX = "index.json"
FINGERPRINT_SUFFIX = ".fingerprint.npz"
#: The npz entry holding the fingerprint's scalar fields (id, counts, flags) as JSON text.
_SCALARS = "__scalars__"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LazyDataset:
    """A dataset known by id and made on demand (in the worker, not the launcher)."""

    id: str
    make: callable

    def load(self) -> Dataset:
        return self.make()


@lru_cache(maxsize=2)
def _guard(benchmark_path: str) -> curate.LeakageGuard:
    """The benchmark's fingerprints, built once per worker process."""
    return curate.LeakageGuard.from_benchmark(benchmark_path)


def curate_dataset(item, *, out_dir: str, benchmark_path: str) -> dict:
    """Redact, clean, fingerprint and leakage-check one dataset; store it when it survives."""
    start = time.perf_counter()
    dataset = item.load() if isinstance(item, LazyDataset) else item
    record = {"dataset": dataset.id, "provenance": dataset.provenance, "status": None,
              "reason": None, "redactions": {}, "leakage": []}
    prepared = curate.prepare(dataset)
    record["redactions"] = prepared.redacted
    record["dropped_columns"] = {k: v for k, v in prepared.dropped_columns.items() if v}
    record["dropped_rows"] = {k: v for k, v in prepared.dropped_rows.items() if v}
    if prepared.dataset is None:
        record.update(status="rejected", reason=prepared.reason)
        return _timed(record, start)
    cleaned = _cap_rows(prepared.dataset)
    fingerprint = curate.fingerprint(cleaned)
    # The dataset itself, not only its fingerprint: row lookups on a subset of the columns
    # (MASS's Pima tables inside UCI diabetes) need the values.
    matches = _guard(benchmark_path).check(cleaned, precomputed=fingerprint)
    if matches:
        record.update(status="leakage", reason=f"matches {matches[0].benchmark}",
                      leakage=[m.to_dict() for m in matches])
        return _timed(record, start)
    table_path = record_path(Path(out_dir) / "tables", dataset.id).with_suffix(".parquet")
    table_path.parent.mkdir(parents=True, exist_ok=True)
    frame = cleaned.X.copy()
    frame.columns = [str(c) for c in frame.columns]
    frame[TARGET_COLUMN] = pd.Series(cleaned.y).to_numpy()
    _parquet_safe(frame).to_parquet(table_path, index=False)
    write_fingerprint(fingerprint, table_path.with_suffix(FINGERPRINT_SUFFIX))
    record.update(status="kept", table=table_path.name, provenance=cleaned.provenance,
                  n_rows=int(cleaned.X.shape[0]), n_features=int(cleaned.X.shape[1]))
    return _timed(record, start)


def write_fingerprint(fingerprint: curate.Fingerprint, path: Path) -> None:
    """Store ``fingerprint`` exactly: its arrays as they are, its scalars as JSON text."""
    arrays, scalars = {}, {}
    for field in dataclasses.fields(fingerprint):
        value = getattr(fingerprint, field.name)
        if isinstance(value, curate.RankRows):  # its arrays as entries of their own
            arrays[f"{field.name}.columns"] = value.columns
            arrays[f"{field.name}.ranks"] = value.ranks
            for i, ties in enumerate(value.ties):
                arrays[f"{field.name}.ties.{i}"] = ties
            scalars[field.name] = {"n_rows": value.n_rows, "n_ties": len(value.ties)}
        elif isinstance(value, np.ndarray):
            arrays[field.name] = value
        else:
            scalars[field.name] = value
    text = json.dumps(scalars, allow_nan=True)
    arrays[_SCALARS] = np.frombuffer(text.encode(), dtype=np.uint8)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    tmp.replace(path)


def read_fingerprint(path: Path) -> curate.Fingerprint:
    """What :func:`write_fingerprint` stored (no pickle: object arrays are refused)."""
    names = {field.name for field in dataclasses.fields(curate.Fingerprint)}
    try:
        with np.load(path, allow_pickle=False) as stored:
            values = {name: stored[name] for name in stored.files}
        scalars = json.loads(values.pop(_SCALARS).tobytes().decode())
        if not isinstance(scalars, dict):
            raise ValueError(f"{_SCALARS} is not a JSON object")
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path} is not a fingerprint written by collect ({error}). Delete "
                         "it: collect fingerprints the stored table again.") from None
    values.update(scalars)
    for name, value in list(values.items()):
        if isinstance(value, dict) and "n_rows" in value:  # a RankRows, stored in parts
            try:
                values[name] = curate.RankRows(
                    columns=values.pop(f"{name}.columns"), ranks=values.pop(f"{name}.ranks"),
                    ties=tuple(values.pop(f"{name}.ties.{i}") for i in range(value["n_ties"])),
                    n_rows=int(value["n_rows"]))
            except KeyError as error:
                raise ValueError(f"{path} lacks {error} of its {name}. Delete it: collect "
                                 "fingerprints the stored table again.") from None
    if set(values) != names:
        raise ValueError(f"{path} holds the fields {sorted(values)}, not those of a "
                         f"fingerprint ({sorted(names)}): it was written by another version. "
                         "Delete it: collect fingerprints the stored table again.")
    return curate.Fingerprint(**values)


def fingerprint_stored_tables(kept: list[dict], out_dir) -> int:
    """Write the fingerprint of each kept dataset's table (``kept``: their outcome records)
    that has none; return how many were written.

    Collections written before fingerprints were stored without pickle have a
    ``.fingerprint.pkl`` instead, which is never read: the fingerprint is computed again
    from the stored table and written beside it. That is the kept table as parquet stores
    it, so a few fingerprints differ a little from those computed before storing (an object
    column of Python bools comes back as a bool column, and is then summarised as numeric).
    ``collect`` does this itself before removing duplicates; ``python -m pretrain
    fingerprints`` does only this.
    """
    out_dir = Path(out_dir)
    made = 0
    for record in kept:
        table = out_dir / "tables" / record["table"]
        path = table.with_suffix(FINGERPRINT_SUFFIX)
        if not path.exists():
            frame = pd.read_parquet(table)
            y = frame.pop(TARGET_COLUMN)
            write_fingerprint(curate.fingerprint(
                Dataset(record["dataset"], frame, y, record["provenance"])), path)
            made += 1
    if made:
        log.warning("fingerprinted %d stored tables of %s that had no %s (old "
                    ".fingerprint.pkl files are never read; they can be deleted)", made,
                    out_dir, FINGERPRINT_SUFFIX)
    return made


def _cap_rows(dataset: Dataset) -> Dataset:
    if len(dataset.y) <= MAX_STORED_ROWS:
        return dataset
    rows = stratified_subsample(pd.Series(dataset.y).to_numpy(), MAX_STORED_ROWS,
                                min_per_class=10, random_state=0)
    provenance = {**dataset.provenance, "n_rows_before_cap": len(dataset.y)}
    return Dataset(dataset.id, dataset.X.iloc[rows].reset_index(drop=True),
                   pd.Series(dataset.y).iloc[rows].reset_index(drop=True), provenance)


def _parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns that mix types (numbers and text) become text: parquet needs one type."""
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object:
            kinds = {type(v) for v in values.dropna()}
            if len(kinds) > 1:
                text = values.astype(str).where(values.notna(), None)
                frame[column] = text
    return frame


def _timed(record: dict, start: float) -> dict:
    record["seconds"] = time.perf_counter() - start
    return record


def collect(items: Iterable, out_dir, *, benchmark_path=FROM_ENV, n_jobs: int = 1,
            progress: bool = True, total: int | None = None) -> dict:
    """Curate every item (``Dataset`` or ``LazyDataset``) into ``out_dir``; return the report.

    Resumable: items with an outcome record are skipped. The final duplicate removal and
    ``index.json`` always cover every outcome in the folder.
    """
    out_dir = Path(out_dir)
    # Resolved here, so a missing benchmark folder stops the run before any work (every
    # dataset is checked against it) and the workers get an explicit path.
    benchmark_path = resolve_uci_path(benchmark_path)
    outcomes_dir = out_dir / "outcomes"
    done = {r["dataset"] for r in read_records(outcomes_dir)} if outcomes_dir.is_dir() else set()
    start = time.perf_counter()
    order = []

    def remember(items):
        for item in items:
            order.append(item.id)
            yield item

    new, _ = map_to_records(
        partial(curate_dataset, out_dir=str(out_dir), benchmark_path=str(benchmark_path)),
        remember(items), outcomes_dir, done=done, n_jobs=n_jobs, progress=progress,
        total=total, desc="collect",
    )
    outcomes = {r["dataset"]: r for r in read_records(outcomes_dir)}
    ordered = [outcomes[i] for i in dict.fromkeys(order) if i in outcomes]
    ordered += [r for i, r in outcomes.items() if i not in set(order)]
    return write_index(ordered, out_dir, wall_time=time.perf_counter() - start, new=new)


def write_index(outcomes: list[dict], out_dir: Path, *, wall_time: float, new: int) -> dict:
    """Remove duplicates among kept datasets; write ``index.json``; return the report."""
    kept = [r for r in outcomes if r["status"] == "kept"]
    fingerprint_stored_tables(kept, out_dir)
    fingerprints = [read_fingerprint((out_dir / "tables" / r["table"]).with_suffix(
        FINGERPRINT_SUFFIX)) for r in kept]
    # Near duplicates are searched among real tables only. Synthetic tables come from
    # distinct (generator, seed) draws, so two can coincide only exactly; comparing their
    # thousands of look-alike columns pairwise took over ten minutes for nothing.
    duplicates = curate.find_duplicates([f for f in fingerprints if f.real])
    by_content = {}
    for f in fingerprints:
        if not f.real:
            by_content.setdefault(f.exact, []).append(f.id)
    for ids in by_content.values():
        if len(ids) > 1:
            duplicates["exact_groups"].append(ids)
            duplicates["drop"].update(ids[1:])
    final = [r for r in kept if r["dataset"] not in duplicates["drop"]]
    redactions = Counter()
    dropped_columns = Counter()
    dropped_rows = Counter()
    for record in outcomes:
        redactions.update(record["redactions"])
        dropped_columns.update(record.get("dropped_columns", {}))
        dropped_rows.update(record.get("dropped_rows", {}))
    report = {
        "seen": len(outcomes),
        "seen_by_source": Counter(r["provenance"].get("source") for r in outcomes),
        "kept": len(final),
        "kept_by_source": Counter(r["provenance"].get("source") for r in final),
        "rejected_by_reason": Counter(r["reason"] for r in outcomes
                                      if r["status"] == "rejected"),
        "dropped_columns_by_reason": dropped_columns,
        "dropped_rows_by_reason": dropped_rows,
        "redactions": redactions,
        "leakage_matches": {r["dataset"]: r["leakage"] for r in outcomes
                            if r["status"] == "leakage"},
        "duplicates": {
            "exact_groups": duplicates["exact_groups"],
            "near_groups": duplicates["near_groups"],
            "dropped": len(duplicates["drop"]),
        },
        "new_outcomes": new,
        "wall_time": wall_time,
        "curation_seconds": sum(r["seconds"] for r in outcomes),
    }
    index = {
        "datasets": [{"id": r["dataset"], "table": r["table"], "provenance": r["provenance"]}
                     for r in final],
        "report": report,
    }
    (out_dir / INDEX).write_text(json.dumps(index, indent=1, default=dict))
    return report


def iter_collection(path, keep=None) -> Iterable[Dataset]:
    """Yield the curated datasets listed in ``path/index.json``, in collection order.

    ``keep(entry)``, given an index entry (``id``, ``table``, ``provenance``), chooses which
    to read: tables it rejects are never loaded.
    """
    path = Path(path)
    for entry in read_index(path)["datasets"]:
        if keep is not None and not keep(entry):
            continue
        frame = pd.read_parquet(path / "tables" / entry["table"])
        y = frame.pop(TARGET_COLUMN)
        yield Dataset(entry["id"], frame, y, entry["provenance"])


def read_index(path) -> dict:
    """The collection's ``index.json`` (its datasets and the collection report)."""
    index_file = Path(path) / INDEX
    if not index_file.is_file():
        raise FileNotFoundError(
            f"No {INDEX} in {path}: run `python -m pretrain collect --out {path}` first."
        )
    return json.loads(index_file.read_text())


def collection_ids(path) -> list[str]:
    """The ids of the collection's datasets, in collection order."""
    return [entry["id"] for entry in read_index(path)["datasets"]]


def collection_size(path) -> int:
    return len(collection_ids(path))
