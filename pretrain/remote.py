"""Score synthetic datasets of a collection on another machine that does not hold it.

A collection's tables are gigabytes; a synthetic table is fully determined by its
(generator, seed). So a borrowed machine (many cores, nothing else of ours on it) gets a
small list -- id, generator, seed and the fingerprint of the stored table -- regenerates
each table, curates it with the very code ``collect`` used, checks that the result is the
stored table bit for bit (``runs.fingerprint``), and only then scores it with the one
ground-truth protocol. A regenerated table that differs is skipped and counted, never
scored: its record would describe another table than the corpus holds.

The records come back as one packed file (``parallel.pack_records``); ``python -m pretrain
unpack`` merges them into the local records, and ``runs`` then skips those datasets.

    # here: the work list, the datasets that still lack a record
    python -m pretrain.remote todo --collection work/collection --runs work/runs \
        --out work/remote/todo.json
    # there: regenerate, verify, score
    python -m pretrain.remote score --todo todo.json --out /tmp/runs --n-jobs 15
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import pandas as pd

from pretrain import curate, runs
from pretrain.collect import TARGET_COLUMN, _cap_rows, _parquet_safe
from pretrain.parallel import map_to_records, read_records
from pretrain.sources import Dataset
from pretrain.sources.synthetic import make_synthetic


def todo_list(collection, runs_dir, *, reverse: bool = False) -> list[dict]:
    """Synthetic datasets of ``collection`` without a record in ``runs_dir``."""
    from pretrain.collect import iter_collection

    recorded = {r["dataset"] for r in read_records(runs_dir)} if Path(runs_dir).is_dir() else set()
    entries = []

    def wanted(entry) -> bool:  # decided from the index: other tables are never read
        return entry["provenance"].get("source") == "synthetic" and entry["id"] not in recorded
    for dataset in iter_collection(collection, keep=wanted):
        entries.append({"id": dataset.id, "generator": dataset.provenance["generator"],
                        "seed": dataset.provenance["seed"],
                        "fingerprint": runs.fingerprint(dataset.X, dataset.y)})
    return entries[::-1] if reverse else entries


def regenerate(entry: dict) -> Dataset | None:
    """The curated table of ``entry`` as ``collect`` stored it, or None if it differs."""
    raw = make_synthetic(entry["generator"], entry["seed"])
    prepared = curate.prepare(raw)
    if prepared.dataset is None:
        return None
    cleaned = _cap_rows(prepared.dataset)
    frame = cleaned.X.copy()
    frame.columns = [str(c) for c in frame.columns]
    frame[TARGET_COLUMN] = pd.Series(cleaned.y).to_numpy()
    # The parquet round trip fixes the dtypes exactly as the stored table has them.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.parquet"
        _parquet_safe(frame).to_parquet(path, index=False)
        frame = pd.read_parquet(path)
    y = frame.pop(TARGET_COLUMN)
    if runs.fingerprint(frame, y) != entry["fingerprint"]:
        return None
    return Dataset(entry["id"], frame, y, cleaned.provenance)


def score_entry(entry: dict, protocol: runs.Protocol, scored_on: str) -> dict:
    dataset = regenerate(entry)
    if dataset is None:
        return {"dataset": entry["id"], "mismatch": True}
    record = runs.evaluate_dataset(dataset, protocol)
    record["scored_on"] = scored_on
    return record


class _Entry:
    """A work-list entry with the ``id`` that ``map_to_records`` expects."""

    def __init__(self, entry):
        self.entry, self.id = entry, entry["id"]


def _score(item, protocol, scored_on):
    return score_entry(item.entry, protocol, scored_on)


def _pack(runs_dir, archive) -> int:
    import gzip

    records = read_records(runs_dir)
    scored = [r for r in records if not r.get("mismatch")]
    tmp = Path(str(archive) + ".tmp")
    with gzip.open(tmp, "wt") as handle:
        for record in scored:
            handle.write(json.dumps(record, allow_nan=True) + "\n")
    tmp.replace(archive)  # atomic: a reader never sees half a file
    print(f"packed {len(scored)} records, {len(records) - len(scored)} mismatches left out")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pretrain.remote", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    todo = sub.add_parser("todo", help="write the work list (run where the collection is)")
    todo.add_argument("--collection", required=True)
    todo.add_argument("--runs", required=True)
    todo.add_argument("--out", required=True)
    todo.add_argument("--reverse", action="store_true", help="last dataset first")
    score = sub.add_parser("score", help="regenerate, verify and score (run anywhere)")
    score.add_argument("--todo", required=True)
    score.add_argument("--out", required=True, help="folder of records")
    score.add_argument("--n-jobs", type=int, default=1)
    score.add_argument("--scored-on", default="", help="machine description kept in records")
    pack = sub.add_parser("pack", help="pack the scored records (mismatches left out)")
    pack.add_argument("--runs", required=True)
    pack.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.command == "todo":
        entries = todo_list(args.collection, args.runs, reverse=args.reverse)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(entries))
        print(f"{len(entries)} synthetic datasets to score -> {args.out}")
        return 0
    if args.command == "pack":
        return _pack(args.runs, args.out)
    from functools import partial

    entries = json.loads(Path(args.todo).read_text())
    done = {r["dataset"] for r in read_records(args.out)} if Path(args.out).is_dir() else set()
    new, skipped = map_to_records(
        partial(_score, protocol=runs.Protocol(), scored_on=args.scored_on),
        (_Entry(e) for e in entries), args.out, done=done, n_jobs=args.n_jobs,
        total=len(entries), desc="remote runs")
    mismatches = sum(bool(r.get("mismatch")) for r in read_records(args.out))
    print(f"{new} scored now, {skipped} already recorded, {mismatches} regenerated tables "
          "differ from the stored ones (not scored)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
