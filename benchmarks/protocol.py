"""The decision protocol's results, gathered: every model variant tried, side by side.

``python -m pretrain evaluate`` writes one folder per variant (fold records, fold models,
``report.md``). This script copies what is worth keeping of each into
``benchmarks/results/protocol/<variant>/`` (settings, per-dataset metrics of every method,
the report; not the fold models nor the predictions) and writes
``benchmarks/results/protocol.md``: one row per variant with the transformer's regret@1 and
regret@3 and the paired differences against the best baselines. Decisions cite this table
(docs/decisions.md); UCI plays no part in it.

    python -m benchmarks.protocol work/protocol/d64L2_1000 work/protocol/small ...
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pandas as pd

from pretrain import protocol
from pretrain.markdown import markdown_table

RESULTS = Path(__file__).resolve().parent / "results"
BASELINES = ("greedy portfolio", "RF regression", protocol.RF_REAL, "pairwise RF")


def keep(run: Path, out: Path) -> list[dict]:
    """Copy a run's settings, report and fold metrics (no predictions); return the records."""
    out.mkdir(parents=True, exist_ok=True)
    records = []
    for path in sorted(run.glob("fold_*.json")):
        record = json.loads(path.read_text())
        record.pop("predictions", None)
        record.pop("uncertainty", None)
        record["metrics"] = {m: {k: [round(v, 4) for v in values] for k, values in ms.items()}
                             for m, ms in record["metrics"].items()}
        (out / path.name).write_text(json.dumps(record))
        records.append(record)
    for name in ("settings.json", "report.md"):
        if (run / name).is_file():
            shutil.copyfile(run / name, out / name)
    return records


def row(name: str, records: list[dict], n_resamples: int) -> dict:
    _, per_method = protocol.pooled(records)
    settings = json.loads((RESULTS / "protocol" / name / "settings.json").read_text())
    out = {"variant": name, "n": len(per_method[protocol.MODEL]["regret@1"]),
           "settings": ", ".join(f"{k}={v}" for k, v in settings.items()
                                 if k not in ("corpus", "n_folds") and v not in (None, {}))}
    for k in ("regret@1", "regret@3"):
        out[f"transformer {k}"] = round(float(per_method[protocol.MODEL][k].mean()), 2)
    for baseline in BASELINES:
        if baseline not in per_method:
            continue
        for k in ("regret@1", "regret@3"):
            mean, low, high = protocol.paired_difference(
                per_method[protocol.MODEL][k], per_method[baseline][k], n_resamples)
            out[f"{k} vs {baseline}"] = f"{mean:+.2f} [{low:+.2f}, {high:+.2f}]"
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", type=Path, help="protocol run folders to add")
    parser.add_argument("--n-resamples", type=int, default=1000)
    args = parser.parse_args(argv)
    for run in args.runs:
        keep(run, RESULTS / "protocol" / run.name)
    rows = []
    for folder in sorted((RESULTS / "protocol").iterdir()):
        records = [json.loads(p.read_text()) for p in sorted(folder.glob("fold_*.json"))]
        if records and protocol.MODEL in records[0]["metrics"]:
            rows.append(row(folder.name, records, args.n_resamples))
    table = pd.DataFrame(rows).set_index("variant")
    text = ("# Decision protocol: every variant tried\n\n"
            "Grouped 5-fold cross-validation over the corpus's real datasets (folds by source "
            "package; synthetic datasets always in training; the model retrained on each "
            "fold): `python -m pretrain evaluate`, gathered by `python -m benchmarks.protocol`."
            " Regrets in points of balanced accuracy; 'vs' columns are the transformer's "
            "regret minus the baseline's, paired by dataset, with 95 % bootstrap intervals "
            "(negative: the transformer is better). Each variant's full table is its "
            "`protocol/<variant>/report.md`.\n\n" + markdown_table(table) + "\n")
    (RESULTS / "protocol.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
