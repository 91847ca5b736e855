"""Ground truth of the UCI benchmark: every portfolio pipeline on all 55 datasets.

Runs the one protocol of ``pretrain/runs.py`` (the same code that scores the corpus) and
writes, under ``benchmarks/results/``:

- ``uci_ground_truth/``: one JSON record per dataset (resumable: a rerun skips what is done);
- ``uci_ground_truth.csv``: the long table (dataset, pipeline, status, metrics, times);
- ``uci_ground_truth.md``: machine, versions, wall time, and the balanced-accuracy table;
- ``uci_metafeatures/``: each dataset's meta-feature vector on the rows the protocol scored
  (``pretrain/corpus.py``, the same computation as for the corpus), for evaluation.

Usage::

    python -m benchmarks.ground_truth [--uci-path FOLDER] [--n-jobs 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import pandas as pd

from pretrain import corpus, runs
from pretrain.jsonl import append_jsonl, read_jsonl
from pretrain.markdown import markdown_table
from pretrain.sources.uci import iter_uci, read_manifest, resolve_uci_path

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {cpu}"


def log_invocation(out: Path, summary: dict, elapsed: float, n_jobs: int) -> list[dict]:
    """Append this invocation to ``uci_ground_truth.log.jsonl``; return every entry."""
    log = out / "uci_ground_truth.log.jsonl"
    entry = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "new_records": summary["new"],
             "wall_time": round(elapsed, 1), "n_jobs": n_jobs, "machine": machine()}
    append_jsonl(log, entry)
    return read_jsonl(log)


def write_report(records: list[dict], invocations: list[dict], out: Path) -> str:
    table = runs.records_table(records)
    table.to_csv(out / "uci_ground_truth.csv", index=False, float_format="%.6g")
    scores = table.pivot(index="dataset", columns="pipeline", values="score")
    scores = scores[[p for p in runs.PIPELINE_NAMES if p in scores.columns]]
    scores.index = [d.removeprefix("uci/") for d in scores.index]
    status = table[table["status"] != "ok"]
    compute = sum(r["wall_time"] for r in records)
    computing = [i for i in invocations if i["new_records"]]
    computing_wall = sum(i["wall_time"] for i in computing)
    runs_text = ", ".join(
        f"{i['new_records']} records in {i['wall_time']:.0f} s with {i['n_jobs']} jobs"
        for i in computing
    )
    protocol = records[0]["protocol"] if records else {}
    versions = records[0]["versions"] if records else {}
    best = scores.idxmax(axis=1).value_counts()
    lines = [
        "# UCI benchmark ground truth",
        "",
        f"Made by `python -m benchmarks.ground_truth` with `pretrain/runs.py`, "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        f"- Machine: {machine()}; one thread per dataset, datasets in parallel.",
        f"- Versions: {', '.join(f'{k} {v}' for k, v in versions.items())}.",
        f"- Protocol: {protocol}.",
        f"- Datasets: {len(records)}; pipelines: {scores.shape[1]}; "
        f"(dataset, pipeline) pairs: {len(table)}.",
        f"- Compute: {compute:.0f} s summed over datasets (one core each); wall time "
        f"{computing_wall:.0f} s over the invocations that computed records "
        f"({runs_text}).",
        f"- Not ok: {len(status)} pairs ({status['status'].value_counts().to_dict()}); "
        "their score is the chance level 1/n_classes, as the protocol says.",
        "",
        "Pipelines that win (best balanced accuracy, ties to the first) on most datasets: "
        + ", ".join(f"{name} {count}" for name, count in best.items()) + ".",
        "",
        "## Mean balanced accuracy over 5-fold CV (score; chance level when not ok)",
        "",
        markdown_table(scores.round(3)),
        "",
        "## Pipelines that failed or timed out",
        "",
    ]
    for row in status.itertuples():
        lines.append(f"- {row.dataset} / {row.pipeline}: {row.status}: {row.error}")
    if not len(status):
        lines.append("- none")
    text = "\n".join(lines) + "\n"
    (out / "uci_ground_truth.md").write_text(text)
    return text


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uci-path", default=None,
                        help="UCI benchmark folder (default: $SKLLMSELECT_UCI)")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--seed", type=int, default=0,
                        help="fold seed of the protocol; another seed only writes the records, "
                             "to uci_ground_truth_seed<N>/ (the noise floor in selection.py)")
    args = parser.parse_args(argv)
    try:
        args.uci_path = resolve_uci_path(args.uci_path)
    except ValueError as error:
        parser.error(str(error))
    out = Path(args.out)
    start = time.perf_counter()
    if args.seed != 0:
        summary = runs.run_all(iter_uci(args.uci_path), out / f"uci_ground_truth_seed{args.seed}",
                               runs.Protocol(seed=args.seed), n_jobs=args.n_jobs,
                               total=len(read_manifest(args.uci_path)))
        print(runs.format_summary(summary))
        return
    summary = runs.run_all(iter_uci(args.uci_path), out / "uci_ground_truth", runs.Protocol(),
                           n_jobs=args.n_jobs, total=len(read_manifest(args.uci_path)))
    elapsed = time.perf_counter() - start
    corpus.compute_metafeatures(iter_uci(args.uci_path), out / "uci_metafeatures",
                                runs.Protocol(), n_jobs=args.n_jobs,
                                total=len(read_manifest(args.uci_path)))
    records = runs.read_records(out / "uci_ground_truth")
    write_report(records, log_invocation(out, summary, elapsed, args.n_jobs), out)
    pd.set_option("display.width", 200)
    print(runs.format_summary(summary))


if __name__ == "__main__":
    main()
