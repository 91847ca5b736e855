"""The report of ``python -m benchmarks.peers``: the table of its records, the summary,
the targets, the plot and peers.md.

:mod:`benchmarks.peers` runs the methods and writes one record per dataset and method; this
module reads the records back and writes the report (``benchmarks/tables.py`` reuses
:func:`summarize` for the README).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd

from benchmarks.ground_truth import machine
from benchmarks.peers import (
    FLAML_MULTIPLIER,
    METHODS,
    OURS,
    RECORDS,
    TEST_SIZE,
    TIE,
    read_record,
    versions,
)
from pretrain.markdown import markdown_table
from pretrain.sources.uci import read_manifest


def load_table(args, methods: list[str]) -> pd.DataFrame:
    """The long table of the selected datasets and methods (one row per record)."""
    records = args.out / RECORDS
    names = args.datasets or [e["name"] for e in read_manifest(args.uci_path)]
    rows = []
    for name in names:
        for method in methods:
            record = read_record(records, f"uci/{name}", method)
            if record is None:
                continue
            rows.append({"dataset": name, "method": method, "status": record["status"],
                         "balanced_accuracy": record["balanced_accuracy"],
                         "wall_time": record["wall_time"],
                         "chosen": record["details"].get("chosen"),
                         "budget_s": record["details"].get("budget_s"),
                         "search_time": record["details"].get("search_time"),
                         "time_budget": record["details"].get("time_budget"),
                         "n_train": record["n_train"], "n_test": record["n_test"],
                         "n_classes": record["n_classes"], "error": record["error"]})
    return pd.DataFrame(rows)


def wtl(ours: pd.Series, theirs: pd.Series) -> str:
    both = pd.concat([ours, theirs], axis=1, join="inner").dropna()
    diff = both.iloc[:, 0] - both.iloc[:, 1]
    return f"{int((diff > TIE).sum())}/{int((diff.abs() <= TIE).sum())}/{int((diff < -TIE).sum())}"


def summarize(table: pd.DataFrame, methods: list[str], labels: dict) -> pd.DataFrame:
    score = table.pivot(index="dataset", columns="method", values="balanced_accuracy")
    seconds = table.pivot(index="dataset", columns="method", values="wall_time")
    status = table.pivot(index="dataset", columns="method", values="status")
    rows = {}
    for method in methods:
        if method not in score.columns:
            continue
        s = score[method].dropna()
        row = {"datasets": len(s), "failed": int((status[method].dropna() != "ok").sum()),
               "mean bal. acc.": s.mean(), "median bal. acc.": s.median(),
               "median wall s": seconds[method].dropna().median()}
        if OURS in seconds.columns:
            ratio = (seconds[method] / seconds[OURS]).dropna()
            row["median time ratio (/ top_k=3)"] = ratio.median()
        for ours in ("skllmselect_k3", "skllmselect_k1"):
            key = f"{labels[ours].split()[-1]} W/T/L"
            row[key] = ("-" if ours == method or ours not in score.columns
                        else wtl(score[ours], score[method]))
        rows[labels[method]] = row
    out = pd.DataFrame(rows).T
    out.index.name = "method"
    for column in ("mean bal. acc.", "median bal. acc."):
        out[column] = out[column].astype(float).round(3)
    for column in ("median wall s", "median time ratio (/ top_k=3)"):
        if column in out:
            out[column] = out[column].astype(float).round(2)
    return out


def target_lines(table: pd.DataFrame) -> list[str]:
    """The issue's target, checked on the table: vs FLAML at equal time and vs LazyPredict."""
    score = table.pivot(index="dataset", columns="method", values="balanced_accuracy")
    seconds = table.pivot(index="dataset", columns="method", values="wall_time")
    lines = []
    if {OURS, "flaml_1x"} <= set(score.columns):
        both = score[[OURS, "flaml_1x"]].dropna()
        diff = both[OURS] - both["flaml_1x"]
        wins, losses = int((diff > TIE).sum()), int((diff < -TIE).sum())
        met = diff.median() >= 0 and wins > losses
        lines.append(
            f"- skllmselect top_k=3 against FLAML at equal time, {len(both)} datasets: median "
            f"difference {100 * diff.median():+.2f} points of balanced accuracy (medians "
            f"{both[OURS].median():.3f} vs {both['flaml_1x'].median():.3f}), W/T/L "
            f"{wins}/{len(diff) - wins - losses}/{losses}, median FLAML/skllmselect time "
            f"{(seconds['flaml_1x'] / seconds[OURS]).median():.2f}: target "
            f"{'met' if met else 'NOT met'} (median difference >= 0 and more wins than "
            "losses).")
    if {OURS, "flaml_4x"} <= set(score.columns):
        both = score[[OURS, "flaml_4x"]].dropna()
        diff = both[OURS] - both["flaml_4x"]
        wins, losses = int((diff > TIE).sum()), int((diff < -TIE).sum())
        median_time = seconds[OURS].median()
        met = wins > losses and median_time < 3
        lines.append(
            f"- skllmselect's default fit (top_k=3, ensemble) against FLAML at "
            f"{FLAML_MULTIPLIER}x the time, {len(both)} datasets: W/T/L {wins}/"
            f"{len(diff) - wins - losses}/{losses}, median difference "
            f"{100 * diff.median():+.2f} points; median fit time {median_time:.2f} s: target "
            f"{'met' if met else 'NOT met'} (more wins than losses, median fit under 3 s).")
    if {OURS, "skllmselect_k3_single"} <= set(score.columns):
        both = score[[OURS, "skllmselect_k3_single"]].dropna()
        diff = both[OURS] - both["skllmselect_k3_single"]
        wins, losses = int((diff > TIE).sum()), int((diff < -TIE).sum())
        ratio = (seconds[OURS] / seconds["skllmselect_k3_single"]).dropna()
        lines.append(
            f"- What the ensemble adds (top_k=3 with and without it, same candidates): W/T/L "
            f"{wins}/{len(diff) - wins - losses}/{losses}, mean {100 * diff.mean():+.2f} "
            f"points, median {100 * diff.median():+.2f}; time ratio median "
            f"{ratio.median():.2f}.")
    lines.extend(budget_lines(table))
    if {OURS, "lazypredict"} <= set(seconds.columns):
        ratio = (seconds["lazypredict"] / seconds[OURS]).dropna()
        diff = (score[OURS] - score["lazypredict"]).dropna()
        lines.append(
            f"- LazyPredict's wall time over skllmselect top_k=3's: median {ratio.median():.2f} "
            f"(target: skllmselect a fraction of it, ratio > 1: "
            f"{'met' if ratio.median() > 1 else 'NOT met'}); median difference "
            f"{100 * diff.median():+.2f} points against LazyPredict's test-picked "
            "(optimistic) score.")
    return lines


def budget_lines(table: pd.DataFrame) -> list[str]:
    """How well fit keeps its time_budget: the search, and the whole fit, over the budget."""
    if "time_budget" not in table:
        return []
    part = table[table["time_budget"].notna() & (table["status"] == "ok")]
    lines = []
    for method, group in part.groupby("method", sort=False):
        budget = float(group["time_budget"].iloc[0])
        search = group["search_time"].astype(float) / budget
        whole = group["wall_time"].astype(float) / budget
        within = int((search <= 1.1).sum())
        lines.append(
            f"- {METHODS[method]}: search time (cross-validation, tuning, refits, ensemble) over "
            f"budget: median {search.median():.2f}, max {search.max():.2f}; within 10 % of "
            f"it on {within} of {len(group)} datasets (target: all: "
            f"{'met' if within == len(group) else 'NOT met'}); the whole fit, with the "
            f"meta-features and ranking, over the budget: median {whole.median():.2f}, max "
            f"{whole.max():.2f}.")
    return lines


def plot(table: pd.DataFrame, methods: list[str], labels: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    markers = dict(zip(methods, "os^vDP*Xhp<>", strict=False))
    fig, ax = plt.subplots(figsize=(9, 6))
    for i, method in enumerate(methods):
        part = table[table["method"] == method]
        if not len(part):
            continue
        color = f"C{i}"
        ax.scatter(part["wall_time"], part["balanced_accuracy"], s=18, alpha=0.55,
                   color=color, marker=markers[method])
        ax.scatter([part["wall_time"].median()], [part["balanced_accuracy"].median()], s=160,
                   color=color, marker=markers[method], edgecolor="black", linewidth=1.2,
                   zorder=3, label=f"{labels[method]} (median)")
    ax.set_xscale("log")
    ax.set_xlabel("wall time of the fit, seconds (log scale, one thread)")
    ax.set_ylabel("balanced accuracy on the 25 % test split")
    n = table["dataset"].nunique()
    ax.set_title(f"skllmselect against peers on {n} UCI datasets: one small point per "
                 "dataset,\nlarge = medians (LazyPredict picks on the test split: optimistic)",
                 fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="best", framealpha=0.9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# Long for the page's sections, one after the other: splitting them would not read better.
def write_markdown(path: Path, *, summary: pd.DataFrame, table: pd.DataFrame, methods,
                   labels: dict, targets: list[str], args, sbs: str | None,
                   elapsed: float, skipped_datasets: list[str]) -> None:
    score = table.pivot(index="dataset", columns="method", values="balanced_accuracy")
    seconds = table.pivot(index="dataset", columns="method", values="wall_time")
    chosen = table.pivot(index="dataset", columns="method", values="chosen")
    order = [m for m in methods if m in score.columns]
    short = {m: labels[m].replace(" (picks on test)", "*") for m in order}
    sizes = table.groupby("dataset")[["n_train", "n_test", "n_classes"]].first()
    per_score = pd.concat([sizes, score[order].round(3).rename(columns=short)], axis=1)
    per_time = seconds[order].round(1).rename(columns=short)
    per_chosen = chosen[order].rename(columns=short)
    budgets = table[table["method"].str.startswith("flaml")]
    versions_now = versions()
    lines = [
        "# skllmselect against FLAML and LazyPredict",
        "",
        f"Made by `python -m benchmarks.peers` on {time.strftime('%Y-%m-%d %H:%M:%S')} "
        f"({machine()}; load average now {', '.join(f'{v:.2f}' for v in os.getloadavg())}; "
        f"this invocation {elapsed:.0f} s, records from earlier invocations reused).",
        "",
        f"- Data: {score.shape[0]} datasets of the UCI benchmark folder; labelled rows capped at "
        f"{args.max_rows:,} by the ground truth's seeded stratified subsample (every class "
        f"keeps at least 5 rows), then one stratified {100 * (1 - TEST_SIZE):.0f}/"
        f"{100 * TEST_SIZE:.0f} split, seed {args.seed}. Every method fits on the "
        f"{100 * (1 - TEST_SIZE):.0f} % only; score: balanced accuracy on the "
        f"{100 * TEST_SIZE:.0f} %.",
        "- skllmselect: `LLMAlgorithmSelector(top_k=k, random_state=seed).fit` (recommend, "
        "5-fold CV of the top k, refit of the winner, and by default the ensemble of the "
        "cross-validated candidates with its members' refits), wall time T inside the timer; "
        "`no ensemble`: `ensemble=False`; `time_budget=B`: the anytime search with its "
        "default top_k=3 set first.",
        f"- FLAML: `AutoML.fit(task='classification', time_budget=B, n_jobs=1)`, B = max("
        f"{args.min_budget:g} s, T of skllmselect top_k=3) and {FLAML_MULTIPLIER} B; metric "
        "balanced accuracy (a custom metric function on FLAML's validation data); its default "
        "learners and evaluation. Its wall time can exceed B (final retrain).",
        "- LazyPredict (*): `LazyClassifier()` over all its classifiers; its winner is the "
        "top of its own table, sorted by balanced accuracy **on the test split**, so its "
        "number is optimistic: it chooses on the data it is scored on. Wall time: its whole "
        "`fit` (every model fitted and scored).",
        f"- SBS: `{sbs or args.sbs or '(from the records)'}` fitted alone, the pipeline with "
        "the best mean score over the corpus train split (the SBS of "
        "`benchmarks/selection.py`; it never looked at the UCI datasets).",
        "- One thread for every method (`OMP_NUM_THREADS=1`, `torch.set_num_threads(1)`, FLAML "
        "`n_jobs=1`), methods one after the other. Imports, the model load and a first "
        "`recommend` on a tiny table are paid before any timer; predicting the test split is "
        "not timed (except inside LazyPredict's `fit`).",
        f"- A failed or timed-out method (soft limit {args.timeout:g} s) scores chance level, "
        "1 / number of classes, on that dataset, and counts its time until the failure. "
        f"W/T/L: wins/ties/losses of skllmselect; a tie is within {100 * TIE:.1f} points. "
        "Time ratio: the method's wall time over skllmselect top_k=3's, median over datasets.",
        f"- Versions: {', '.join(f'{k} {v}' for k, v in versions_now.items())}.",
        "",
        "## Target",
        "",
        *targets,
        "",
        "## Summary",
        "",
        markdown_table(summary),
        "",
        "![balanced accuracy against wall time](peers.png)",
        "",
        "## Balanced accuracy per dataset",
        "",
        markdown_table(per_score),
        "",
        "## Wall time per dataset (s)",
        "",
        markdown_table(per_time),
        "",
        "## What each method chose",
        "",
        markdown_table(per_chosen),
        "",
        "## FLAML budgets (s)",
        "",
        markdown_table(budgets.pivot(index="dataset", columns="method", values="budget_s")
                       .rename(columns=short).round(1)) if len(budgets) else "- none",
        "",
        "## Failures",
        "",
    ]
    failures = table[table["status"] != "ok"]
    for row in failures.itertuples():
        lines.append(f"- {row.dataset} / {labels[row.method]}: {row.status}: {row.error}")
    if not len(failures):
        lines.append("- none")
    for name in skipped_datasets:
        lines.append(f"- {name}: dataset skipped (see the run's output)")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
