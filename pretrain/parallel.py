"""Resumable parallel work over datasets: one JSON record per dataset, written atomically.

Workers (joblib processes, or a Dask cluster) compute; this process writes each record as it
arrives (temporary file, then ``os.replace``), so a run killed at any moment loses only the
datasets in flight, and a rerun skips every dataset already recorded.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import joblib

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def record_path(out_dir: str | Path, dataset_id: str) -> Path:
    """File of one dataset's record; distinct ids always get distinct files.

    The name is the id with each run of other characters than ``A-Za-z0-9._-`` replaced by
    ``__`` ("uci/iris" -> ``uci__iris.json``) when reading ``__`` as ``/`` gives the id
    back. Otherwise ("a b" and "a,b" are both ``a__b``) a hash of the exact id follows an
    ``@``, which no name of the first kind contains: ``a__b@<32 hex digits>.json``.
    """
    name = _UNSAFE.sub("__", dataset_id)
    if name.replace("__", "/") != dataset_id:
        name += "@" + hashlib.blake2b(dataset_id.encode(), digest_size=16).hexdigest()
    return Path(out_dir) / f"{name}.json"


def write_record(record: dict, out_dir: str | Path) -> Path:
    """Write ``record`` (keyed by ``record["dataset"]``) atomically: readers see all or nothing."""
    path = record_path(out_dir, record["dataset"])
    if path.exists():  # a rewrite; on a case-insensitive disk, maybe another id's file
        other = json.loads(path.read_text()).get("dataset")
        if other != record["dataset"]:
            raise ValueError(f"{path} holds the record of {other!r}, not {record['dataset']!r}: "
                             "on this disk the two ids name one file (letter case?). Rename "
                             "one of the datasets.")
    return write_json_atomic(record, path)


def write_json_atomic(obj, path: str | Path) -> Path:
    """Write ``obj`` as JSON to ``path`` through a temporary file and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as handle:
        json.dump(obj, handle, indent=1, allow_nan=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return path


def read_records(out_dir: str | Path) -> list[dict]:
    """Every record in ``out_dir``, sorted by dataset id (temporary files ignored)."""
    records = [json.loads(p.read_text()) for p in Path(out_dir).glob("*.json")]
    return sorted(records, key=lambda r: r["dataset"])


def map_to_records(
    task: Callable,
    datasets: Iterable,
    out_dir: str | Path,
    *,
    done: set[str] | Callable[[object], bool],
    n_jobs: int = 1,
    scheduler: str | None = None,
    progress: bool = True,
    total: int | None = None,
    desc: str = "datasets",
) -> tuple[int, int]:
    """Run ``task(dataset)`` for each dataset not ``done``; write each record.

    ``done`` is a set of recorded ids, or a predicate on the dataset (to redo a record whose
    dataset has changed since).

    Returns
    -------
    (new, skipped)
        Records written now, and datasets skipped because already recorded.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob(".*.tmp"):  # left by a run killed mid-write
        stale.unlink()
    skipped = 0
    is_done = done if callable(done) else (lambda dataset: dataset.id in done)

    def todo():
        nonlocal skipped
        for dataset in datasets:
            if is_done(dataset):
                skipped += 1
                continue
            yield joblib.delayed(task)(dataset)

    new = 0
    with _Backend(scheduler, n_jobs) as parallel:
        bar = _progress_bar(progress, total, desc)
        for record in parallel(todo()):
            write_record(record, out_dir)
            new += 1
            bar.update(1)
        bar.close()
    return new, skipped


class _Backend:
    """joblib.Parallel over local processes, or over a Dask cluster given its address."""

    def __init__(self, scheduler, n_jobs):
        self.scheduler, self.n_jobs = scheduler, n_jobs
        self.client = self.config = None

    def __enter__(self):
        if self.scheduler is not None:
            from distributed import Client  # optional dependency: the pretrain extra

            self.client = Client(self.scheduler)
            self.config = joblib.parallel_config(backend="dask")
            self.config.__enter__()
        return joblib.Parallel(n_jobs=self.n_jobs, return_as="generator_unordered")

    def __exit__(self, *exc):
        if self.config is not None:
            self.config.__exit__(*exc)
        if self.client is not None:
            self.client.close()


class _Silent:
    def update(self, n):
        pass

    def close(self):
        pass


def _progress_bar(enabled, total, desc):
    if not enabled:
        return _Silent()
    try:
        from tqdm.auto import tqdm
    except ImportError:  # the bar is a nicety; the run does not need it
        return _Silent()
    return tqdm(total=total, unit="dataset", desc=desc)


def pack_records(out_dir: str | Path, archive: str | Path) -> int:
    """Write every record of ``out_dir`` into one gzip JSON-lines file (for committing).

    The same records give the same bytes (no time stamp or file name in the gzip header), so packing
    again after a run that added nothing leaves git with nothing to commit."""
    import gzip
    import io

    records = read_records(out_dir)
    with open(archive, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb",
                                                   compresslevel=9, mtime=0) as zipped, \
            io.TextIOWrapper(zipped, encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, allow_nan=True) + "\n")
    return len(records)


def unpack_records(archive: str | Path, out_dir: str | Path) -> int:
    """Restore records from :func:`pack_records`'s file; existing records are kept."""
    import gzip

    count = 0
    with gzip.open(archive, "rt") as handle:
        for line in handle:
            record = json.loads(line)
            if not record_path(out_dir, record["dataset"]).exists():
                write_record(record, out_dir)
                count += 1
    return count
