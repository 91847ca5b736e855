"""The report of ``python -m benchmarks.speed``: its targets, tables, plot and speed.md.

:mod:`benchmarks.speed` measures; this module turns its result (the dict it writes to
speed.json) into the tables it prints and the markdown page, and checks the targets.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
import pandas as pd

from pretrain.markdown import markdown_table
from skllmselect import metafeatures

# The latency targets: seconds allowed for tables up to (rows, columns).
LATENCY_TARGETS = [((10_000, 100), 1.0), ((50_000, 200), 3.0)]
FIT_RATIO_TARGET = 0.25
# The first call in a fresh process: import + first recommend, at most this many seconds
# (median of the fresh processes) on a table of this size.
COLD_TARGET = 1.5


def size_label(n_rows: int, n_cols: int) -> str:
    return f"{n_rows:,} x {n_cols}"


def latency_target(n_rows: int, n_cols: int) -> float:
    for (rows, cols), seconds in LATENCY_TARGETS:
        if n_rows <= rows and n_cols <= cols:
            return seconds
    return float("nan")


# ------------------------------------------------------------------------------ report


def table(rows: list[dict], columns: list[str]) -> str:
    """The rows as a markdown table; the cells are formatted already, so kept as they are."""
    frame = pd.DataFrame([{c: row.get(c, "") for c in columns} for row in rows], columns=columns)
    return markdown_table(frame.astype(str), index=False, disable_numparse=True)


def latency_table(latency: list[dict]) -> str:
    rows = []
    for s in latency:
        st = s["stages_median"]
        rows.append({
            "size (rows x cols)": s["size"], "classes": s["n_classes"],
            "median s": f"{s['median']:.3f}", "min-max s": f"{s['min']:.2f}-{s['max']:.2f}",
            "CPU s": f"{s['cpu_median']:.3f}",
            "checks": f"{st.get('checks', 0):.3f}", "subsample": f"{st.get('subsample', 0):.3f}",
            "extract": f"{st['extract']:.3f}", "extract share": f"{s['extract_share']:.0%}",
            "rest": f"{s['median_call_wall'] - st['extract']:.3f}",
            "load1": f"{s['load1_median']:.1f}",
            "target": f"<= {s['target']:g} s", "result": "pass" if s["pass"] else "FAIL",
        })
    return table(rows, list(rows[0]))


def extract_table(latency: list[dict]) -> str:
    groups = ["encode", *metafeatures._PYMFE_GROUPS, "other"]
    rows = []
    for s in latency:
        st = s["stages_median"]
        row = {"size (rows x cols)": s["size"], "extract": f"{st['extract']:.3f}"}
        row |= {g: f"{st.get('extract: ' + g, 0.0):.3f}" for g in groups}
        row |= {"network": f"{st['network']:.3f}", "table": f"{st.get('table', 0):.3f}"}
        rows.append(row)
    return table(rows, list(rows[0]))


def fit_table(fits: list[dict]) -> str:
    rows = [{
        "dataset": f["dataset"], "rows x cols": f"{f['n_rows']:,} x {f['n_cols']}",
        "fit s": f"{f['fit']['wall']:.1f}", "exhaustive s": f"{f['exhaustive']['wall']:.1f}",
        "ratio": f"{f['ratio']:.3f}", "CPU ratio": f"{f['cpu_ratio']:.3f}",
        "fit chose": f["fit"]["chosen"], "exhaustive winner": f["exhaustive"]["best"],
        "same": "yes" if f["same_pipeline"] else ("tie" if f["winner_score_found"] else "no"),
        "rank": f["chosen_exhaustive_rank"], "regret": f"{f['regret']:.4f}",
    } for f in fits]
    return table(rows, list(rows[0]))


def cold_table(cold: dict) -> str:
    rows = []
    for name, key in (("import", "import"), ("first recommend", "first"),
                      ("import + first recommend", "import_and_first"),
                      ("second recommend", "second")):
        rows.append({"step": name, "median s": f"{cold['median'][key]:.2f}",
                     "all runs s": ", ".join(f"{v:.2f}" for v in cold["all"][key]),
                     "CPU s (this process)": (f"{cold['cpu_median'][key]:.2f}"
                                              if key in cold["cpu_median"] else "")})
    return table(rows, list(rows[0]))


def targets_table(latency: list[dict], fits: list[dict], quick: bool,
                  cold: dict | None = None) -> tuple[str, list]:
    rows = []
    if cold:
        rows.append({
            "target": f"import + first recommend <= {cold['target']:g} s in a fresh process, "
                      f"{cold['size']} (median of {cold['runs']})",
            "measured": f"median {cold['median']['import_and_first']:.2f} s (import "
                        f"{cold['median']['import']:.2f} s, first recommend "
                        f"{cold['median']['first']:.2f} s)",
            "result": "met" if cold["met"] else "NOT met",
        })
    for (rows_max, cols_max), seconds in LATENCY_TARGETS:
        lower = [t for t in LATENCY_TARGETS if t[1] < seconds]
        covered = [s for s in latency if latency_target(s["n_rows"], s["n_cols"]) == seconds]
        scope = (f"up to {size_label(rows_max, cols_max)}" if not lower else
                 f"above {size_label(*lower[-1][0])}, up to {size_label(rows_max, cols_max)}")
        worst = max(covered, key=lambda s: s["median"]) if covered else None
        largest = max((s["n_rows"] * s["n_cols"] for s in covered), default=0)
        measured_all = largest == rows_max * cols_max
        # The target is on wall time; the CPU time says what an idle core would likely give.
        worst_cpu = max((s["cpu_median"] for s in covered), default=float("nan"))
        rows.append({
            "target": f"recommend median <= {seconds:g} s, {scope}",
            "measured": (f"worst {worst['median']:.3f} s wall ({worst['size']}); "
                         f"worst CPU time {worst_cpu:.3f} s" if worst else "not measured"),
            "result": ("not measured" if not worst else
                       ("pass" if worst["median"] <= seconds else "FAIL")
                       + f" (CPU time: {'pass' if worst_cpu <= seconds else 'FAIL'})"
                       + ("" if measured_all else " (largest size not run)")),
        })
    if fits:
        ratios = [f["ratio"] for f in fits]
        median = statistics.median(ratios)
        rows.append({
            "target": f"fit(top_k=3) <= {FIT_RATIO_TARGET:g} x exhaustive (median ratio)",
            "measured": f"median {median:.3f} (range {min(ratios):.3f}-{max(ratios):.3f}; "
                        f"CPU {statistics.median(f['cpu_ratio'] for f in fits):.3f})",
            "result": "pass" if median <= FIT_RATIO_TARGET else "FAIL",
        })
    if quick:
        for row in rows:
            row["result"] += " (quick run)"
    return table(rows, ["target", "measured", "result"]), rows


def plot(latency: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = np.array([s["n_rows"] * s["n_cols"] for s in latency], dtype=float)
    total = np.array([s["median"] for s in latency])
    extract = np.array([s["stages_median"]["extract"] for s in latency])
    low = total - np.array([s["min"] for s in latency])
    high = np.array([s["max"] for s in latency]) - total
    fig, (ax, bars) = plt.subplots(1, 2, figsize=(12, 5), gridspec_kw={"width_ratios": [3, 2]})
    ax.errorbar(cells, total, yerr=[low, high], marker="o", capsize=3,
                label="recommend (median, min-max)")
    ax.plot(cells, extract, marker="s", label="meta-feature extraction (extract)")
    ax.plot(cells, np.maximum(total - extract, 1e-3), marker="^", label="the rest")
    for i, (x, t, s) in enumerate(zip(cells, total, latency, strict=True)):
        below = i % 2 == 1  # alternate, so that neighbouring sizes do not overlap
        ax.annotate(f"{s['size']}\n{s['extract_share']:.0%} extract", (x, t),
                    textcoords="offset points", xytext=(0, -10 if below else 8), ha="center",
                    va="top" if below else "bottom", fontsize=7)
    for ((rows, cols), seconds), style in zip(LATENCY_TARGETS, (":", "--"), strict=True):
        ax.axhline(seconds, color="grey", linestyle=style, linewidth=1,
                   label=f"target: {seconds:g} s up to {rows:,} x {cols}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(top=max(total.max(), LATENCY_TARGETS[-1][1]) * 2)
    ax.set_xlim(cells.min() / 2, cells.max() * 2)
    ax.set_xlabel("table size (rows x columns, cells)")
    ax.set_ylabel("seconds (wall)")
    ax.set_title("LLMAlgorithmSelector.recommend latency")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    ax.grid(True, which="both", alpha=0.3)

    parts = ["checks", "subsample", "extract: encode", *(f"extract: {g}" for g in
             metafeatures._PYMFE_GROUPS), "extract: other", "network", "table"]
    left = np.zeros(len(latency))
    colours = [plt.get_cmap("tab20").colors[i] for i in (*range(0, 20, 2), 1, 3)]
    for part, colour in zip(parts, colours, strict=False):
        share = np.array([s["stages_median"].get(part, 0.0) for s in latency]) / total
        share = np.clip(share, 0, None)
        bars.barh(range(len(latency)), share, left=left, label=part, color=colour)
        left += share
    bars.set_yticks(range(len(latency)), [s["size"] for s in latency], fontsize=8)
    bars.invert_yaxis()
    bars.set_xlabel("share of the median call's wall time")
    bars.set_title("where the time goes")
    bars.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


# Long for the page's sections, one after the other: splitting them would not read better.
def markdown(result: dict, tables: dict) -> str:
    env, model = result["environment"], result["model"]
    loads = result["load"]
    arch = model["architecture"]
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    quick = " (quick smoke run: not the reference numbers)" if result["quick"] else ""
    lines = [
        f"# Speed of LLMAlgorithmSelector{quick}",
        "",
        f"Written by `benchmarks/speed.py`{' --quick' if result['quick'] else ''} on "
        f"{env['date']} in {result['total_seconds'] / 60:.1f} min.",
        "",
        "## Machine and load",
        "",
        f"- Machine: {env['machine']}; {env['cpu_count']} CPUs ({env['cpus_usable']} usable "
        "by this process); threads: "
        + ", ".join(f"{k}={v}" for k, v in env["threads"].items()) + ".",
        f"- Load average (1, 5, 15 min) at start {triple(loads['start'])}, at end "
        f"{triple(loads['end'])}; the 1-min load at the measurements: median "
        f"{loads['median_1min']:.2f}, range {loads['min_1min']:.2f}-{loads['max_1min']:.2f}. "
        "Above the CPU count, other processes were competing for the cores and wall times "
        "are inflated: compare the CPU-time columns.",
        f"- Versions: {versions}.",
        f"- Code: git {env['git_commit']}{' (uncommitted changes)' if env['git_dirty'] else ''}.",
        f"- Model: {model['source']} ({model['folder']}), revision {model['revision']}, "
        f"commit {model['commit']}, weights sha256 {model['weights_sha256'][:16]}; "
        f"{arch['architecture']}, d_model {arch['d_model']}, {arch['n_layers']} layers, "
        f"{model['n_parameters']:,} parameters, {', '.join(model['dtypes'])}; "
        f"{model['n_metafeatures']} meta-features, {model['n_pipelines']} pipelines; "
        f"trained with {_versions(model['versions'])}. "
        f"Shipped weights: {model['training'].get('shipped weights', 'not stated')}",
        "",
        "## Targets",
        "",
        tables["targets"],
        "",
        *(_cold_section(result["cold"], tables["cold"]) if result.get("cold") else []),
        "## recommend latency",
        "",
        f"`LLMAlgorithmSelector(random_state=0).recommend(X, y)`, bundled model, median of "
        f"{result['repeats']} calls per size after one warm-up call "
        f"({result['warmup_seconds']:.2f} s: loads the network and imports pymfe). Synthetic "
        "tables (seeded): a fifth of the columns categorical, a third of the columns with "
        "2-10 % missing values. The split, in seconds, is that of the median call (its "
        "parts add up to its time): `checks` = input validation, "
        "`subsample` = the selector's stratified 2,000-row subsample, `extract` = "
        "`skllmselect.metafeatures.extract` as the selector calls it (`time_budget=None, "
        "random_state=0`), `rest` = everything else (network, table). `load1` is the 1-min "
        "load average before the calls.",
        "",
        tables["latency"],
        "",
        "Inside the median call (seconds): `encode` = reading the table, the 1,000-row "
        "subsample and the column encoding; one column per pymfe group; `network` = "
        "tokenizer and forward pass; `table` = building the 20 unfitted pipelines.",
        "",
        tables["extract"],
        "",
        "![latency](speed_latency.png)",
        "",
    ]
    if result["fits"]:
        lines += [
            "## fit(top_k=3) against exhaustive cross-validation",
            "",
            "Back to back on each dataset: `LLMAlgorithmSelector(top_k=3, random_state=0)"
            ".fit(X, y)` (the model already loaded; meta-features, 3 candidates, refit), then "
            "all 20 pipelines with the same folds (`StratifiedKFold(5, shuffle=True, "
            "random_state=0)`) and `balanced_accuracy`, and a refit of the winner. `ratio` = "
            "fit wall time / exhaustive wall time (`CPU ratio` the same in CPU time); `same`: "
            "fit chose the exhaustive winner (`tie`: another pipeline with the same score); "
            "`rank` of fit's choice among the 20; `regret` = the exhaustive winner's score "
            "minus the score of fit's choice.",
            "",
            tables["fit"],
            "",
            f"fit's CV score of its choice equals the exhaustive score of that pipeline on "
            f"{sum(f['scores_agree'] for f in result['fits'])} of {len(result['fits'])} "
            "datasets (same folds, same seeds).",
            "",
        ]
    return "\n".join(lines)


def _cold_section(cold: dict, cold_table_text: str) -> list[str]:
    return [
        "## The first call in a fresh process",
        "",
        f"{cold['runs']} new Python processes, one after the other, measured on "
        f"{cold['date']}: in each, numpy and scikit-learn imported and a {cold['size']} "
        "`make_classification` table made, then the wall time of `from skllmselect import "
        "LLMAlgorithmSelector`, of the first `LLMAlgorithmSelector(random_state=0)"
        ".recommend(X, y)` (it computes the meta-features, importing pymfe, and loads the "
        "network, which runs in numpy) and of a second one. CPU time is the calling process's: "
        "all of the work unless a meta-feature worker process is started (its CPU is not "
        "counted). Torch was imported in "
        f"{sum(c.get('torch_imported', True) for c in cold['calls'])} and a worker started in "
        f"{sum(c.get('worker_started', True) for c in cold['calls'])}"
        f" of the {cold['runs']} processes. 1-min load average before the runs: median "
        f"{cold['load1_median']:.2f}. Code: git {cold.get('git_commit', 'unknown')}.",
        "",
        cold_table_text,
        "",
    ]


def triple(values) -> str:
    """A load-average triple as text: 1.00/0.50/0.25."""
    return "/".join(f"{v:.2f}" for v in values)


def _versions(versions: dict) -> str:
    keep = ("numpy", "scikit-learn", "torch", "metafeatures", "portfolio", "tokenizer")
    return ", ".join(f"{k} {versions[k]}" for k in keep if k in versions)
