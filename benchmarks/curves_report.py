"""The report of ``python -m benchmarks.curves``: accuracy against time per method and budget.

Reads the records under ``OUT/curves/<tier>/`` and writes ``OUT/curves_<tier>.csv`` (one row
per record), ``OUT/curves_<tier>.md`` (the summary per method and budget, skllmselect's
wins/ties/losses against each peer at each budget, failures) and ``OUT/curves_<tier>.png``
(median balanced accuracy and mean rank against median wall time, one line per method
through its budgets, LazyPredict and the SBS as single points). ``benchmarks/tables.py``
makes the docs' generated blocks from the CSV with :func:`summary` and :func:`wtl_table`.

Definitions: a tie is within ``peers.TIE`` (0.5 points of balanced accuracy), as in
``benchmarks/peers_report.py``; a failed or timed-out fit scores chance level. Mean rank: on
each dataset every (method, budget) is ranked by balanced accuracy (1 = best, ties share the
mean rank), over the datasets where all of them have a record, then averaged.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from benchmarks.peers import TIE
from benchmarks.peers_report import wtl
from pretrain.markdown import markdown_table

OURS = "skllmselect"
PEERS = ("flaml", "autogluon_default", "autogluon_best")
LABELS = {
    "skllmselect": "skllmselect `time_budget=B`",
    "flaml": "FLAML `time_budget=B`",
    "autogluon_default": "AutoGluon default, `time_limit=B`",
    "autogluon_best": "AutoGluon best_quality, `time_limit=B`",
    "lazypredict": "LazyPredict (picks on test: optimistic)",
    "sbs": "single best pipeline alone",
}
COLUMNS = ["dataset", "method", "family", "budget", "status", "balanced_accuracy",
           "wall_time", "search_time", "chosen", "n_train", "n_classes", "reused", "error"]


def load_records(folder: Path) -> pd.DataFrame:
    """Every record of one tier's folder, one row each (empty frame when there is none)."""
    rows = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        record = json.loads(path.read_text())
        rows.append({"dataset": record["dataset"], "method": record["method"],
                     "family": record["family"], "budget": record["budget"],
                     "status": record["status"],
                     "balanced_accuracy": record["balanced_accuracy"],
                     "wall_time": record["wall_time"],
                     # skllmselect's: what time_budget bounds (wall less the meta-features)
                     "search_time": record["details"].get("search_time", float("nan")),
                     "chosen": record["details"].get("chosen"),
                     "n_train": record["n_train"], "n_classes": record["n_classes"],
                     "reused": "reused_from" in record, "error": record["error"]})
    return pd.DataFrame(rows, columns=COLUMNS)


def _config(row) -> str:
    return row["family"] if pd.isna(row["budget"]) else f"{row['family']} @ {row['budget']:g} s"


def mean_ranks(table: pd.DataFrame) -> tuple[pd.Series, int]:
    """Mean rank of each (method, budget) over the datasets where all have a record; and how
    many datasets that is."""
    scores = table.assign(config=table.apply(_config, axis=1)).pivot(
        index="dataset", columns="config", values="balanced_accuracy")
    complete = scores.dropna()
    ranks = complete.rank(axis=1, ascending=False, method="average")
    return ranks.mean(), len(complete)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (method, budget): datasets, failures, median and mean balanced accuracy,
    mean rank, median wall time and its median ratio to the budget."""
    ranks, _ = mean_ranks(table)
    rows = []
    for (family, budget), group in table.groupby(["family", table["budget"].fillna(-1)],
                                                 sort=False):
        budget = None if budget == -1 else budget
        config = family if budget is None else f"{family} @ {budget:g} s"
        rows.append({
            "method": LABELS.get(family, family), "budget s": "-" if budget is None
            else f"{budget:g}", "datasets": len(group),
            "failed": int((group["status"] != "ok").sum()),
            "median bal. acc.": round(group["balanced_accuracy"].median(), 3),
            "mean bal. acc.": round(group["balanced_accuracy"].mean(), 3),
            "mean rank": round(ranks[config], 2) if config in ranks else float("nan"),
            "median wall s": round(group["wall_time"].median(), 2),
            "median wall / budget": "-" if budget is None
            else round((group["wall_time"] / budget).median(), 2)})
    order = {name: i for i, name in enumerate(LABELS.values())}
    out = pd.DataFrame(rows)
    if not len(out):
        return out
    out["_order"] = out["method"].map(order)
    out["_budget"] = pd.to_numeric(out["budget s"], errors="coerce")
    return out.sort_values(["_order", "_budget"]).drop(columns=["_order", "_budget"]) \
        .set_index("method")


def wtl_table(table: pd.DataFrame) -> pd.DataFrame:
    """skllmselect at each budget against each peer at the same budget (and LazyPredict and
    the SBS, once): wins/ties/losses over the datasets both have."""
    scores = table.assign(config=table.apply(_config, axis=1)).pivot(
        index="dataset", columns="config", values="balanced_accuracy")
    ours_budgets = sorted(table.loc[table["family"] == OURS, "budget"].dropna().unique())
    rows = {}
    for budget in ours_budgets:
        ours = scores[f"{OURS} @ {budget:g} s"]
        row = {}
        for peer in PEERS:
            column = f"{peer} @ {budget:g} s"
            row[LABELS[peer]] = wtl(ours, scores[column]) if column in scores else "-"
        for peer in ("lazypredict", "sbs"):
            row[LABELS[peer]] = wtl(ours, scores[peer]) if peer in scores else "-"
        rows[f"{budget:g}"] = row
    out = pd.DataFrame(rows).T
    out.index.name = "skllmselect budget s"
    return out


def plot(table: pd.DataFrame, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ranks, n_complete = mean_ranks(table)
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    for i, family in enumerate(LABELS):
        part = table[table["family"] == family]
        if not len(part):
            continue
        groups = part.groupby(part["budget"].fillna(-1))
        seconds = groups["wall_time"].median()
        accuracy = groups["balanced_accuracy"].median()
        configs = [family if b == -1 else f"{family} @ {b:g} s" for b in seconds.index]
        style = dict(color=f"C{i}", marker="os^vDP"[i], label=LABELS[family].replace("`", ""))
        axes[0].plot(seconds.to_numpy(), accuracy.to_numpy(), "-", **style)
        axes[1].plot(seconds.to_numpy(), [ranks.get(c, float("nan")) for c in configs], "-",
                     **style)
        for b, x, y in zip(seconds.index, seconds, accuracy, strict=True):
            if b != -1:
                axes[0].annotate(f"{b:g}", (x, y), textcoords="offset points", xytext=(4, 4),
                                 fontsize=7, color=f"C{i}")
    axes[0].set_ylabel("median balanced accuracy (25 % test split)")
    axes[1].set_ylabel(f"mean rank over every method and budget (1 = best; "
                       f"{n_complete} datasets)")
    axes[1].invert_yaxis()
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("median wall time of the fit, s (log; one thread)")
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def budget_table(table: pd.DataFrame) -> pd.DataFrame:
    """skllmselect at each budget: how its search time and its wall time compare with it."""
    ours = table[(table["family"] == OURS) & (table["status"] == "ok")]
    rows = {}
    for budget, group in ours.groupby("budget"):
        search, wall = group["search_time"] / budget, group["wall_time"] / budget
        rows[f"{budget:g}"] = {
            "datasets": len(group), "median search / budget": round(search.median(), 2),
            "max search / budget": round(search.max(), 2),
            "search over 1.1 budget": int((search > 1.1).sum()),
            "max wall / budget": round(wall.max(), 2),
            "median wall - search s": round((group["wall_time"] - group["search_time"])
                                            .median(), 2)}
    out = pd.DataFrame(rows).T
    if len(out):
        out = out.astype({"datasets": int, "search over 1.1 budget": int})
    out.index.name = "skllmselect budget s"
    return out


def write_report(out: Path, tier: str) -> list[Path]:
    """The tier's CSV, markdown and plot from its records; the paths written (none when
    there is no record yet)."""
    table = load_records(out / "curves" / tier)
    if not len(table):
        return []
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"curves_{tier}.csv", out / f"curves_{tier}.md", out / f"curves_{tier}.png"]
    table.to_csv(paths[0], index=False, float_format="%.6g")
    n = table["dataset"].nunique()
    what = "UCI tables (at most 2,000 rows)" if tier == "uci" else \
        "large-tier tables (10,000 to 200,000 rows)"
    plot(table, paths[2], f"Accuracy against time on {n} {what}: medians over datasets, "
                          "one point per budget")
    _, n_complete = mean_ranks(table)
    failures = table[table["status"] != "ok"]
    lines = [
        f"# Accuracy against time: {tier} tier",
        "",
        f"Made by `python -m benchmarks.curves --tier {tier}` (see its docstring): {n} "
        f"datasets, {len(table)} records ({int(table['reused'].sum())} reused from "
        "peers.py). One stratified 75/25 split per dataset; balanced accuracy on the 25 %; "
        "one thread per method; a failure or timeout scores chance. Mean rank over the "
        f"{n_complete} datasets where every method and budget has a record. W/T/L: "
        f"skllmselect's wins/ties/losses, a tie within {100 * TIE:.1f} points.",
        "",
        "## Per method and budget",
        "",
        markdown_table(summary(table)),
        "",
        f"![accuracy against time]({paths[2].name})",
        "",
        "## skllmselect against each peer at the same budget (W/T/L)",
        "",
        markdown_table(wtl_table(table)),
        "",
        "## skllmselect's time against its budget",
        "",
        "`time_budget` bounds the search (cross-validation, tuning, refits, ensemble); the "
        "wall time also counts the meta-features and the ranking before it (the last column).",
        "",
        markdown_table(budget_table(table)),
        "",
        "## Failures",
        "",
        *([f"- {r.dataset} / {r.method}: {r.status}: {str(r.error)[:300]}"
           for r in failures.itertuples()] or ["- none"]),
    ]
    paths[1].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths


def block(csv: Path, png: Path, command: str, shown: str | None = None) -> str:
    """The docs' generated block of one tier: its summary and W/T/L tables from the CSV, or
    a line saying it has not been run yet (naming the CSV as ``shown``)."""
    shown = shown or csv.name
    if not csv.is_file():
        return f"Not yet run: `{command}` writes `{shown}`, from which this is made."
    table = pd.read_csv(csv)
    if not len(table):
        return f"No records yet in `{shown}`."
    table["reused"] = table["reused"].astype(bool)
    parts = [markdown_table(summary(table)), "skllmselect against each peer at the same "
             "budget, wins/ties/losses:", markdown_table(wtl_table(table))]
    if png.is_file():
        parts.append(f"![accuracy against time]({png.name})")
    return "\n\n".join(parts)
