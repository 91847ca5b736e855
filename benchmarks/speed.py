"""Speed of LLMAlgorithmSelector: ``recommend`` latency by data size, ``fit`` against exhaustive CV.

    python -m benchmarks.speed               # the full run (about 10-15 min on 2 busy cores)
    python -m benchmarks.speed --repeats 7   # more repeats per size
    python -m benchmarks.speed --quick       # smoke run: small sizes, 2 repeats, 3 fit datasets
    python -m benchmarks.speed --cold-only   # only measurement 0 (a minute), into speed.md/.json

Three measurements, all with the bundled model and one thread (``OMP_NUM_THREADS=1``):

0. The first call in a fresh process: in each of ``--cold-runs`` new Python processes (numpy
   and scikit-learn imported, a 1,000 x 20 ``make_classification`` table made), the wall time
   of ``from skllmselect import LLMAlgorithmSelector``, of the first
   ``LLMAlgorithmSelector(random_state=0).recommend(X, y)`` (it computes the meta-features,
   importing pymfe, and loads the model, whose network runs in numpy; each process records
   whether torch was imported and whether a meta-feature worker process was started) and
   of a second one, with the CPU time of each. The target is on import + first
   call, median over the processes. ``--cold-only`` measures just this and rewrites it into
   the existing ``speed.md``/``speed.json`` (the other sections are kept as they were).

1. ``LLMAlgorithmSelector(random_state=0).recommend(X, y)`` on seeded synthetic tables from
   200 x 10 to 50,000 x 200 (numeric and categorical columns, missing values, 2-5 classes):
   the median wall time of ``--repeats`` calls after one warm-up call that loads the model
   and pymfe. Each call is split into its stages by timing the functions the selector calls
   (input checks, the 2,000-row subsample, ``skllmselect.metafeatures.extract`` with the
   selector's own arguments and, inside it, each pymfe group), so the split is of the very
   calls that are timed; what is left is the network (tokenize, forward pass) and the table.
2. ``fit(top_k=3)`` against exhaustive cross-validation of all 20 portfolio pipelines by the
   ground-truth protocol (``pretrain.runs``, on every row and without its time limit; same
   folds as fit: ``StratifiedKFold(5, shuffle=True, random_state=0)``, same
   ``balanced_accuracy``, then a refit of the winner), back to back on each dataset: the time
   ratio, whether fit chose the exhaustive winner, and the balanced accuracy it gave up.

Checks the issue's targets (``recommend`` at most 1 s up to 10,000 x 100 and at most 3 s up
to 50,000 x 200; import and first call at most 1.5 s in a fresh process; ``fit`` at most a
quarter of the exhaustive time, median ratio) and writes
``benchmarks/results/speed.md``, ``speed_latency.png`` and ``speed.json`` (every raw number,
the load average at each measurement, versions and the model). A ``--quick`` run writes to a
new temporary folder unless ``--out`` is given, so it never replaces the full results. Wall
times depend on the machine's load: the report records the load average and CPU times
(``time.process_time``) beside the wall times. Never imported by the package or the tests.
"""

from __future__ import annotations

import os

# One thread everywhere, before numpy, torch or scikit-learn start their pools (measured:
# on two cores more threads were slower, and the selector is meant to be timed on one).
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import gc  # noqa: E402
import hashlib  # noqa: E402
import importlib.metadata  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402
from unittest import mock  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn import datasets  # noqa: E402
from sklearn.base import clone  # noqa: E402

import skllmselect  # noqa: E402
from benchmarks.speed_report import (  # noqa: E402
    COLD_TARGET,
    cold_table,
    extract_table,
    fit_table,
    latency_table,
    latency_target,
    markdown,
    plot,
    size_label,
    targets_table,
    triple,
)
from pretrain.runs import Protocol, evaluate_dataset  # noqa: E402
from pretrain.sources import Dataset  # noqa: E402
from skllmselect import describe, loading, metafeatures, selector  # noqa: E402
from skllmselect.portfolio import make_pipeline_by_name  # noqa: E402
from skllmselect.sampling import CORPUS_N_SPLITS  # noqa: E402
from skllmselect.selector import LLMAlgorithmSelector  # noqa: E402
from skllmselect.tabular import plan_table  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SEED = 0

# (rows, columns, classes) of the synthetic tables.
SIZES = [(200, 10, 2), (1_000, 20, 3), (2_000, 50, 5), (10_000, 100, 4), (20_000, 100, 3),
         (50_000, 200, 5)]
QUICK_SIZES = SIZES[:3]
COLD_SIZE = (1_000, 20)
COLD_RUNS = 5

REAL = {"iris": datasets.load_iris, "wine": datasets.load_wine,
        "breast_cancer": datasets.load_breast_cancer, "digits": datasets.load_digits}
# Synthetic tables for the fit comparison: small enough that all 20 pipelines cross-validate
# in about a minute (measured: 18.5 s at 1,000 x 20, 148 s at 5,000 x 50, one idle core).
FIT_SYNTHETIC = [(200, 10, 2), (1_000, 20, 3), (2_000, 50, 5)]
QUICK_FIT = ["iris", "wine", (200, 10, 2)]


# ------------------------------------------------------------------------------ data


def synthetic(n_rows: int, n_cols: int, n_classes: int, seed: int = SEED):
    """A seeded table: numeric and categorical columns, missing values, ``n_classes`` classes.

    A fifth of the columns are categorical (half ``category``, half ``str`` dtype, 2-12
    levels); the numbers are correlated Gaussians, a few of them skewed or on a large scale.
    The class is the argmax of a noisy linear function of some numeric columns and of the
    levels of some categorical ones. Afterwards a third of the columns lose 2-10 % of their
    values (NaN). Returns ``(X, y)``: a DataFrame and an int array.
    """
    rng = np.random.default_rng([seed, n_rows, n_cols, n_classes])
    n_cat = max(1, n_cols // 5)
    n_num = n_cols - n_cat
    latent = rng.standard_normal((n_rows, max(2, n_num // 4)))
    numeric = latent @ rng.standard_normal((latent.shape[1], n_num)) * 0.5
    numeric += rng.standard_normal((n_rows, n_num))
    informative = rng.choice(n_num, size=max(1, n_num // 3), replace=False)
    logits = numeric[:, informative] @ rng.standard_normal((len(informative), n_classes))
    logits /= np.sqrt(len(informative))
    columns = {}
    for j in range(n_cat):
        n_levels = int(rng.integers(2, 13))
        codes = rng.integers(0, n_levels, size=n_rows)
        if j % 2 == 0:  # every other categorical column carries signal
            logits += rng.standard_normal((n_levels, n_classes))[codes] * 0.5
        labels = np.array([f"level_{k}" for k in range(n_levels)], dtype=object)[codes]
        columns[f"cat_{j}"] = (pd.Categorical(labels) if j % 2 == 0
                               else pd.array(labels, dtype="str"))
    logits += rng.gumbel(size=logits.shape) * 0.7
    y = logits.argmax(axis=1)
    skewed = rng.random(n_num) < 0.1
    numeric[:, skewed] = np.exp(numeric[:, skewed])
    numeric *= np.where(rng.random(n_num) < 0.1, 1000.0, 1.0)
    for j in range(n_num):
        columns[f"num_{j}"] = numeric[:, j]
    X = pd.DataFrame(columns)
    X = X[rng.permutation(X.columns)]
    for name in X.columns[rng.random(n_cols) < 1 / 3]:
        missing = rng.random(n_rows) < rng.uniform(0.02, 0.10)
        X.loc[missing, name] = np.nan
    return X, y


def fit_datasets(quick: bool):
    """``(name, X, y)`` of the fit comparison."""
    chosen = QUICK_FIT if quick else [*REAL, *FIT_SYNTHETIC]
    for item in chosen:
        if isinstance(item, str):
            X, y = REAL[item](return_X_y=True, as_frame=True)
            yield item, X, y.to_numpy()
        else:
            X, y = synthetic(*item)
            yield f"synthetic {size_label(*item[:2])}", X, y


# ------------------------------------------------------------------------------ clocks


def load1() -> float:
    return os.getloadavg()[0]


class StageClock:
    """Seconds spent in named functions while active: patched in, timed, patched out."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)

    def timed(self, original, key):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[key(args) if callable(key) else key] += time.perf_counter() - start
        return wrapper

    @contextlib.contextmanager
    def active(self, targets):
        """``targets``: ``(owner, attribute, key)``; key is a name or a function of the args."""
        with contextlib.ExitStack() as stack:
            for owner, attribute, key in targets:
                original = getattr(owner, attribute)
                stack.enter_context(mock.patch.object(owner, attribute,
                                                      self.timed(original, key)))
            yield self


# What recommend calls, by the names the selector and the meta-feature module look them up.
RECOMMEND_STAGES = [
    (describe, "check_X", "checks"),
    (describe, "check_y", "checks"),
    (describe, "check_finite", "checks"),
    (describe, "stratified_subsample", "subsample"),
    (describe, "extract", "extract"),
    (selector, "make_pipeline_by_name", "table"),
    (metafeatures, "as_frame", "extract: encode"),
    (metafeatures, "encode_target", "extract: encode"),
    (metafeatures, "subsample_rows", "extract: encode"),
    (metafeatures, "encode_columns", "extract: encode"),
    (metafeatures, "_pymfe_group", lambda args: f"extract: {args[0]}"),
]
FIT_STAGES = [(LLMAlgorithmSelector, "_rank", "recommend"),
              (LLMAlgorithmSelector, "_cross_validate", "cross-validation")]


@contextlib.contextmanager
def measured():
    """Wall and CPU seconds, and the 1-minute load average before and after, of a block."""
    gc.collect()
    record = {"load1_before": load1()}
    wall, cpu = time.perf_counter(), time.process_time()
    yield record
    record["wall"] = time.perf_counter() - wall
    record["cpu"] = time.process_time() - cpu
    record["load1_after"] = load1()


# ------------------------------------------------------------------------------ recommend


def time_recommend(X, y, repeats: int) -> list[dict]:
    """``repeats`` timed calls of ``recommend``, each with its stage split."""
    calls = []
    for repeat in range(repeats):
        clock = StageClock()
        with clock.active(RECOMMEND_STAGES), measured() as record:
            LLMAlgorithmSelector(random_state=0).recommend(X, y)
        stages = dict(clock.seconds)
        inside = sum(v for k, v in stages.items() if k.startswith("extract: "))
        stages["extract: other"] = stages["extract"] - inside
        top = ("checks", "subsample", "extract", "table")
        stages["network"] = record["wall"] - sum(stages.get(k, 0.0) for k in top)
        calls.append({"repeat": repeat, **record, "stages": stages})
    return calls


def summarise_latency(size, calls) -> dict:
    n_rows, n_cols, n_classes = size
    walls = [c["wall"] for c in calls]
    stage_names = sorted({k for c in calls for k in c["stages"]})
    # The split shown is that of the median call (the lower one for an even count), so that
    # its parts add up to its wall time; medians taken stage by stage would not.
    middle = next(c for c in calls if c["wall"] == statistics.median_low(walls))
    stages = {k: middle["stages"].get(k, 0.0) for k in stage_names}
    median = statistics.median(walls)
    target = latency_target(n_rows, n_cols)
    return {
        "size": size_label(n_rows, n_cols), "n_rows": n_rows, "n_cols": n_cols,
        "n_classes": n_classes, "repeats": len(calls), "median": median,
        "min": min(walls), "max": max(walls),
        "cpu_median": statistics.median(c["cpu"] for c in calls),
        "median_call": middle["repeat"], "median_call_wall": middle["wall"],
        "stages_median": stages, "extract_share": stages["extract"] / middle["wall"],
        "stage_by_stage_medians": {k: statistics.median(c["stages"].get(k, 0.0) for c in calls)
                                   for k in stage_names},
        "load1_median": statistics.median(c["load1_before"] for c in calls),
        "target": target, "pass": bool(median <= target),
    }


# ------------------------------------------------------------------------------ first call

# Run in a fresh interpreter per measurement; prints one JSON line. The clock starts after
# numpy, scikit-learn and the table (the caller's own imports), before skllmselect's import.
COLD_SCRIPT = """
import json, os, time
from sklearn.datasets import make_classification
X, y = make_classification({n_rows}, {n_cols}, random_state=0)
load1 = os.getloadavg()[0]
marks = [(time.perf_counter(), time.process_time())]
from skllmselect import LLMAlgorithmSelector
marks.append((time.perf_counter(), time.process_time()))
first = LLMAlgorithmSelector(random_state=0).recommend(X, y)
marks.append((time.perf_counter(), time.process_time()))
import sys
from skllmselect import metafeatures
where = {{"torch_imported": "torch" in sys.modules,
          "worker_started": metafeatures._worker is not None}}
second = LLMAlgorithmSelector(random_state=0).recommend(X, y)
marks.append((time.perf_counter(), time.process_time()))
assert first["pipeline"].tolist() == second["pipeline"].tolist()
steps = ("import", "first", "second")
print(json.dumps({{"load1_before": load1, **where,
                  **{{s: b[0] - a[0] for s, a, b in zip(steps, marks, marks[1:])}},
                  **{{s + "_cpu": b[1] - a[1] for s, a, b in zip(steps, marks, marks[1:])}}}}))
"""


def time_cold_start(runs: int) -> list[dict]:
    """``runs`` fresh processes, each timing the import, a first and a second ``recommend``."""
    package_root = str(Path(skllmselect.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [package_root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    code = COLD_SCRIPT.format(n_rows=COLD_SIZE[0], n_cols=COLD_SIZE[1])
    calls = []
    for run in range(runs):
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, timeout=300)
        if done.returncode:
            raise RuntimeError(f"the cold-start process failed:\n{done.stderr}")
        record = json.loads(done.stdout.strip().splitlines()[-1])
        record["import_and_first"] = record["import"] + record["first"]
        calls.append({"run": run, **record})
    return calls


def summarise_cold(calls: list[dict]) -> dict:
    keys = ("import", "first", "second", "import_and_first")
    medians = {k: statistics.median(c[k] for c in calls) for k in keys}
    return {
        "size": size_label(*COLD_SIZE), "runs": len(calls), "target": COLD_TARGET,
        "median": medians, "all": {k: [c[k] for c in calls] for k in keys},
        "cpu_median": {k: statistics.median(c[k + "_cpu"] for c in calls)
                       for k in ("import", "first", "second")},
        "load1_median": statistics.median(c["load1_before"] for c in calls),
        "met": bool(medians["import_and_first"] <= COLD_TARGET), "calls": calls,
    }


# ------------------------------------------------------------------------------ fit


def exhaustive(X, y) -> dict:
    """Cross-validate every portfolio pipeline with the ground-truth protocol, then refit the
    best one: what fit's search would cost without the model's ranking.

    The protocol is ``pretrain.runs.evaluate_dataset``, the one that makes the corpus and the
    benchmarks' ground truth, on the folds fit draws (``StratifiedKFold(5, shuffle=True,
    random_state=0)``, pipelines seeded 0, balanced accuracy). Two of its settings change here,
    both so that it scores what fit scores: every row (fit cross-validates all of them; the
    corpus cuts tables to 2,000) and no time limit (fit stops no candidate midway).
    """
    rows = len(y)
    protocol = Protocol(seed=SEED, max_rows=max(rows, 2 * CORPUS_N_SPLITS),
                        time_limit=float("inf"))
    record = evaluate_dataset(Dataset("speed", X, pd.Series(y)), protocol)
    if record["error"]:
        raise ValueError(f"the protocol could not score this table: {record['error']}")
    pipelines = record["pipelines"]
    # A failing pipeline is passed over, as fit does (the protocol records NaN for it).
    scores = {name: p["balanced_accuracy"] for name, p in pipelines.items()}
    times = {name: p["fit_time"] + p["predict_time"] for name, p in pipelines.items()}
    best = max((s, -i, n) for i, (n, s) in enumerate(scores.items()) if np.isfinite(s))[2]
    start = time.perf_counter()
    clone(make_pipeline_by_name(best, random_state=SEED)).fit(plan_table(X).transform(X), y)
    return {"scores": scores, "cv_seconds": times, "best": best,
            "refit_seconds": time.perf_counter() - start}


def compare_fit(name, X, y) -> dict:
    """fit(top_k=3) and the exhaustive search, back to back, on one dataset."""
    clock = StageClock()
    with clock.active(FIT_STAGES), measured() as fit_time:
        model = LLMAlgorithmSelector(top_k=3, random_state=0).fit(X, y)
    with measured() as full_time:
        full = exhaustive(X, y)
    scores = full["scores"]
    best_score = scores[full["best"]]
    chosen_score = scores[model.best_pipeline_]
    ranking = sorted((s for s in scores.values() if np.isfinite(s)), reverse=True)
    return {
        "dataset": name, "n_rows": X.shape[0], "n_cols": X.shape[1],
        "n_classes": int(len(np.unique(y))),
        "fit": {**fit_time, "stages": dict(clock.seconds), "refit": model.refit_time_,
                "candidates": list(model.cv_results_["pipeline"]),
                "candidate_scores": [float(s) for s in model.cv_results_["mean_test_score"]],
                "chosen": model.best_pipeline_, "best_score": model.best_score_},
        "exhaustive": {**full_time, **full},
        "ratio": fit_time["wall"] / full_time["wall"],
        "cpu_ratio": fit_time["cpu"] / full_time["cpu"],
        "same_pipeline": model.best_pipeline_ == full["best"],
        # A tie in score counts as finding the winner: fit cannot tell tied pipelines apart.
        "winner_score_found": bool(chosen_score >= best_score),
        "regret": best_score - chosen_score,
        "chosen_exhaustive_rank": 1 + sum(s > chosen_score for s in ranking),
        # Same folds, same seed: fit's CV score of its choice must equal the exhaustive one.
        "scores_agree": bool(np.isclose(model.best_score_, chosen_score)),
    }


# ------------------------------------------------------------------------------ environment


def environment() -> dict:
    import torch

    def version(package):
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return None

    repo = Path(__file__).resolve().parent.parent

    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                                  timeout=10, check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": f"{platform.system()} {platform.machine()}, {cpu}",
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "threads": {name: os.environ.get(name) for name in
                    ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
        | {"torch": torch.get_num_threads()},
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": None if status is None else bool(status),
        "versions": {
            "python": platform.python_version(), "skllmselect": skllmselect.__version__,
            **{p: version(p) for p in ("numpy", "pandas", "scikit-learn", "scipy", "pymfe",
                                       "torch", "threadpoolctl")},
        },
    }


def model_description() -> dict:
    info = loading.model_info(loading.BUNDLED)
    weights = Path(info["folder"]) / loading.WEIGHTS_NAME
    info["weights_sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    info.pop("pipelines", None)
    return info


# ------------------------------------------------------------------------------ main


def _arguments(argv) -> argparse.Namespace:
    """The command line, with the defaults that depend on --quick filled in."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: the 3 smallest sizes, 2 repeats, 3 fit datasets")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed recommend calls per size (default 5, 2 with --quick)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for speed.md/.json/_latency.png (default "
                             "benchmarks/results; a new temporary folder with --quick)")
    parser.add_argument("--cold-only", action="store_true",
                        help="measure only the first call in fresh processes and rewrite "
                             "that section of the existing speed.md/speed.json in --out")
    parser.add_argument("--cold-runs", type=int, default=None,
                        help=f"fresh processes for the first-call measurement (default "
                             f"{COLD_RUNS}, 2 with --quick)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 5)
    if repeats < 1:
        parser.error(f"--repeats must be at least 1, got {repeats}")
    cold_runs = args.cold_runs or (2 if args.quick else COLD_RUNS)
    if cold_runs < 1:
        parser.error(f"--cold-runs must be at least 1, got {cold_runs}")
    out = args.out or (Path(tempfile.mkdtemp(prefix="speed-")) if args.quick else RESULTS)
    args.repeats, args.cold_runs, args.out = repeats, cold_runs, out
    return args


def main(argv=None) -> int:
    args = _arguments(argv)
    repeats, cold_runs, out = args.repeats, args.cold_runs, args.out
    if args.cold_only:
        return cold_only(out, cold_runs)
    out.mkdir(parents=True, exist_ok=True)
    warnings.filterwarnings("ignore")  # convergence warnings of the pipelines, pymfe's notes

    started = time.perf_counter()
    loads = [os.getloadavg()]
    env = environment()
    model = model_description()
    print(f"speed: {env['date']}, load {triple(loads[0])}, {env['cpu_count']} CPUs; "
          f"writing to {out}", flush=True)

    # First, while this process has loaded nothing that runs in the background.
    cold = measure_cold(cold_runs)
    loads += [(c["load1_before"],) for c in cold["calls"]]

    X, y = synthetic(*SIZES[0])
    with measured() as warmup:
        LLMAlgorithmSelector(random_state=0).recommend(X, y)
    print(f"warm-up recommend (loads the model, imports pymfe): {warmup['wall']:.2f} s",
          flush=True)

    latency, raw_latency = [], []
    for size in QUICK_SIZES if args.quick else SIZES:
        X, y = synthetic(*size)
        calls = time_recommend(X, y, repeats)
        loads += [(c["load1_before"],) for c in calls]
        summary = summarise_latency(size, calls)
        latency.append(summary)
        raw_latency.append({"size": summary["size"], "calls": calls})
        print(f"recommend {summary['size']:>12}: median {summary['median']:.3f} s, extract "
              f"{summary['extract_share']:.0%}, load {summary['load1_median']:.1f}", flush=True)
        del X, y

    fits = []
    for name, X, y in fit_datasets(args.quick):
        record = compare_fit(name, X, y)
        loads += [(record["fit"]["load1_before"],), (record["exhaustive"]["load1_before"],)]
        fits.append(record)
        print(f"fit {name:>24}: {record['fit']['wall']:.1f} s vs exhaustive "
              f"{record['exhaustive']['wall']:.1f} s (ratio {record['ratio']:.3f}), chose "
              f"{record['fit']['chosen']}, winner {record['exhaustive']['best']}", flush=True)

    loads.append(os.getloadavg())
    ones = [entry[0] for entry in loads]
    result = {
        "quick": args.quick, "repeats": repeats, "total_seconds": time.perf_counter() - started,
        "environment": env, "model": model,
        "load": {"start": loads[0], "end": loads[-1], "median_1min": statistics.median(ones),
                 "min_1min": min(ones), "max_1min": max(ones)},
        "warmup_seconds": warmup["wall"], "cold": cold,
        "latency": latency, "latency_calls": raw_latency, "fits": fits,
        "fit_ratio_median": statistics.median(f["ratio"] for f in fits) if fits else None,
    }
    tables = write_results(result, out)
    plot(latency, out / "speed_latency.png")

    print(f"\nwrote {out / 'speed.md'}, speed_latency.png, speed.json; total "
          f"{result['total_seconds'] / 60:.1f} min; load average start {triple(loads[0])}, "
          f"end {triple(loads[-1])}, 1-min median {result['load']['median_1min']:.2f}\n")
    print("recommend latency (seconds)\n" + tables["latency"] + "\n")
    print("inside the median call (seconds)\n" + tables["extract"] + "\n")
    if fits:
        print("fit(top_k=3) vs exhaustive CV of 20 pipelines\n" + tables["fit"] + "\n")
    print("targets\n" + tables["targets"])
    return 0


def measure_cold(runs: int) -> dict:
    cold = summarise_cold(time_cold_start(runs))
    cold["date"] = time.strftime("%Y-%m-%d %H:%M:%S %z")
    repo = Path(__file__).resolve().parent.parent
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        cold["git_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, text=True,
                                            capture_output=True, check=True).stdout.strip()
    print(f"first call in a fresh process ({cold['size']}, {runs} runs): import + first "
          f"recommend median {cold['median']['import_and_first']:.2f} s (target "
          f"{COLD_TARGET:g} s: {'met' if cold['met'] else 'NOT met'}), second recommend "
          f"{cold['median']['second']:.2f} s", flush=True)
    return cold


def write_results(result: dict, out: Path) -> dict:
    """Write speed.md and speed.json from ``result`` (targets recomputed); return the tables."""
    latency, fits = result["latency"], result["fits"]
    targets, result["targets"] = targets_table(latency, fits, result["quick"], result["cold"])
    tables = {"targets": targets, "latency": latency_table(latency),
              "extract": extract_table(latency), "fit": fit_table(fits) if fits else "",
              "cold": cold_table(result["cold"]) if result["cold"] else ""}
    (out / "speed.md").write_text(markdown(result, tables))
    (out / "speed.json").write_text(json.dumps(result, indent=1, default=_json_default) + "\n")
    return tables


def cold_only(out: Path, runs: int) -> int:
    """Measure the first call only; rewrite its section of the results already in ``out``."""
    previous = out / "speed.json"
    if not previous.is_file():
        sys.exit(f"--cold-only updates the results of a full run, and {previous} does not "
                 "exist: run benchmarks/speed.py without --cold-only first (or give --out "
                 "the folder of one).")
    result = json.loads(previous.read_text())
    result["cold"] = measure_cold(runs)
    tables = write_results(result, out)
    print(f"\nwrote {out / 'speed.md'} and speed.json (first-call section and targets)\n")
    print("first call in a fresh process (seconds)\n" + tables["cold"] + "\n")
    print("targets\n" + tables["targets"])
    return 0


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


if __name__ == "__main__":
    sys.exit(main())
