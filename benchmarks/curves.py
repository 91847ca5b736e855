"""Accuracy against time: every method at several budgets, on the UCI tables or the large tier.

    python -m benchmarks.curves [--tier uci|large] [--uci-path FOLDER] [--datasets iris,glass]
        [--methods skllmselect,flaml,autogluon_default,autogluon_best,lazypredict,sbs]
        [--budgets 2,5,10,30,60] [--autogluon-python PATH] [--timeout-factor 5]
        [--once-timeout 1800]
        [--retry-failed] [--out DIR]

The question behind it: which tool gives the best model for each second spent. The protocol
is :mod:`benchmarks.peers`' (same rows, same stratified 75/25 split and seed, balanced
accuracy on the 25 %, one thread per method, methods one after the other, imports and the
model's load paid before any timer, failures and timeouts scored as chance), with a budget B
per method instead of one clock:

- ``skllmselect``: ``LLMAlgorithmSelector(time_budget=B, random_state=seed).fit``;
- ``flaml``: ``AutoML.fit(time_budget=B)``, as in peers.py (balanced accuracy as its metric);
- ``autogluon_default``, ``autogluon_best``: ``TabularPredictor.fit(time_limit=B)`` with the
  default preset and with ``best_quality``, in AutoGluon's own environment, one subprocess
  per fit (:mod:`benchmarks.autogluon_peer` says why and how);
- ``lazypredict`` and ``sbs``: once, at their own time (they take no budget). On the UCI
  tier, a record of ``benchmarks/results/peers/`` with the same settings (rows, seed, split,
  data fingerprint) is reused, marked ``reused_from``; otherwise they are measured here.

Tiers: ``uci`` (default): the 55 tables of the UCI benchmark folder capped at 2,000 rows as
in peers.py, budgets 2, 5, 10, 30 and 60 s. ``large``: the tables of
:mod:`benchmarks.large_tier` (10,000 to 200,000 rows, uncapped, checked by the leakage guard:
the run refuses a table its manifest does not list as clean), budgets 10, 30 and 60 s.

A method may overrun its budget (FLAML's final retrain, skllmselect's meta-features and
refits, AutoGluon's last model): its wall time is recorded as measured. The timeout that
turns a run into a "timeout" record is ``--timeout-factor`` x B + 120 s (default 5 x B +
120), soft for the in-process methods (it fires when Python regains control), a kill for
AutoGluon's subprocess; for the methods without a budget it is ``--once-timeout`` (default
1800 s), soft for the SBS, a kill for LazyPredict, which runs in a forked child (its SVC or
label propagation on tens of thousands of rows stays in C code for hours).

Resumable: one JSON record per (dataset, method, budget) under ``OUT/curves/<tier>/``,
named ``<dataset>__<method>_b<B>.json`` (``<dataset>__lazypredict.json`` for the methods
without a budget), written atomically when measured; a rerun skips every record with the
same settings (for skllmselect its options and the bundled weights' hash, for AutoGluon
its preset), so a killed run loses only the fit in progress. Then
:mod:`benchmarks.curves_report` writes ``OUT/curves_<tier>.{md,csv,png}``.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
              "LOKY_MAX_CPU_COUNT"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks import autogluon_peer, large_tier, peers  # noqa: E402
from pretrain.parallel import write_json_atomic  # noqa: E402
from skllmselect.sampling import CORPUS_MAX_ROWS, CORPUS_SEED  # noqa: E402

RESULTS = peers.RESULTS

SEARCH_REVISION = peers.SEARCH_REVISION
TIERS = {"uci": (2, 5, 10, 30, 60), "large": (10, 30, 60)}
#: Methods fitted at every budget, and those fitted once at their own time.
BUDGETED = ("skllmselect", "flaml", "autogluon_default", "autogluon_best")
ONCE = ("lazypredict", "sbs")
METHODS = {
    "skllmselect": "skllmselect fit(time_budget=B)",
    "flaml": "FLAML AutoML(time_budget=B)",
    "autogluon_default": "AutoGluon default preset, time_limit=B",
    "autogluon_best": "AutoGluon best_quality, time_limit=B",
    "lazypredict": "LazyPredict (picks on test)",
    "sbs": "SBS alone",
}
NEEDS = {"flaml": ["flaml", "lightgbm", "xgboost"],
         "lazypredict": ["lazypredict", "lightgbm", "xgboost"]}


def record_key(method: str, budget: float | None) -> str:
    """``skllmselect_b10``; ``lazypredict`` (no budget)."""
    if method in ONCE:
        return method
    if budget is None:
        raise ValueError(f"{method} needs a budget")
    return f"{method}_b{budget:g}"


def parse_key(key: str) -> tuple[str, float | None]:
    """The inverse of :func:`record_key`."""
    if key in ONCE:
        return key, None
    method, _, budget = key.rpartition("_b")
    if method not in BUDGETED:
        raise ValueError(f"{key!r} is not a curve record key")
    return method, float(budget)


def records_folder(out: Path, tier: str) -> Path:
    return out / "curves" / tier


def settings_for(method: str, budget: float | None, common: dict) -> dict:
    """What a record must have been measured with to be reused."""
    settings = {**common, "method": method, "budget": budget}
    if method == "skllmselect":
        settings.update(options={"time_budget": float(budget)}, model=peers.bundled_model_id(),
                        search_revision=SEARCH_REVISION)
    elif method in autogluon_peer.PRESETS:
        preset, fit_options = autogluon_peer.PRESETS[method]
        settings.update(preset=preset, fit_options=fit_options)
    return settings


def is_done(record: dict | None, settings: dict, retry_failed: bool) -> bool:
    if record is None or record.get("settings") != settings:
        return False
    return record["status"] == "ok" or not retry_failed


def reusable_peer_record(peer_records: Path, dataset: str, method: str,
                         common: dict) -> dict | None:
    """A peers.py record of ``method`` (lazypredict, sbs) measured on the same split."""
    record = peers.read_record(peer_records, dataset, method)
    if record is None:
        return None
    theirs = record.get("settings", {})
    same = all(theirs.get(k) == common[k] for k in ("max_rows", "seed", "test_size",
                                                    "fingerprint"))
    return record if same and record["status"] == "ok" else None


TIMEOUT_FACTOR = 5.0
"""A budgeted fit is a timeout after TIMEOUT_FACTOR x budget + 120 s (``--timeout-factor``)."""


def timeout_for(budget: float | None, factor: float = TIMEOUT_FACTOR,
                once: float = peers.TIMEOUT) -> float:
    # LazyPredict and the SBS, which take no budget: ``once`` (``--once-timeout``)
    return once if budget is None else factor * budget + 120.0


def measure(method: str, budget: float | None, data, *, seed: int, timeout: float,
            sbs: str | None, autogluon_python: Path | None) -> dict:
    X_train, X_test, y_train, y_test = data

    def call():
        if method == "skllmselect":
            return peers.run_skllmselect(X_train, y_train, X_test,
                                         options={"time_budget": float(budget)}, seed=seed)
        if method == "flaml":
            return peers.run_flaml(X_train, y_train, X_test, budget=budget, seed=seed)
        if method in autogluon_peer.PRESETS:
            return autogluon_peer.run_autogluon(X_train, y_train, X_test, method=method,
                                                budget=budget, timeout=timeout,
                                                python=autogluon_python)
        if method == "lazypredict":
            return peers.in_child(lambda: peers.run_lazypredict(
                X_train, y_train, X_test, y_test, seed=seed), timeout)
        if method == "sbs":
            return peers.run_sbs(X_train, y_train, X_test, pipeline=sbs, seed=seed)
        raise ValueError(f"unknown method {method!r}")

    # the subprocess is killed at `timeout`; the soft alarm is a margin behind it
    killed = method in autogluon_peer.PRESETS or method == "lazypredict"
    alarm = timeout + 30 if killed else timeout
    return peers.guarded(call, y_test, alarm)


def datasets(args):
    """(dataset id, the prepared split) for the tier's selected tables."""
    if args.tier == "large":
        names = args.datasets
        chosen = [t for t in large_tier.TABLES
                  if names is None or t.id in names or t.item in names]
        large_tier.check_manifest(large_tier.read_manifest(args.manifest),
                                  [t.id for t in chosen])
        for entry in chosen:
            yield large_tier.load(entry)
        return
    from pretrain.sources.uci import iter_uci, read_manifest

    names = args.datasets or [e["name"] for e in read_manifest(args.uci_path)]
    yield from iter_uci(args.uci_path, names=names)


def run(args, methods: list[str], budgets: list[float]) -> tuple[int, int, int]:
    """Measure every (dataset, method, budget) not recorded yet: (new, skipped, reused)."""
    records = records_folder(args.out, args.tier)
    records.mkdir(parents=True, exist_ok=True)
    for stale in records.glob(".*.tmp"):  # left by a run killed mid-write
        stale.unlink()
    max_rows = CORPUS_MAX_ROWS if args.tier == "uci" else None
    new = skipped = reused = 0
    warmed, sbs = False, args.sbs
    for dataset in datasets(args):
        try:
            # the large tier is not capped: a cap above any table's size keeps every row
            X_train, X_test, y_train, y_test, fingerprint = peers.prepare(
                dataset, max_rows or 10**9, args.seed)
        except ValueError as error:
            print(f"{dataset.id}: skipped, {error}", flush=True)
            continue
        common = {"tier": args.tier, "max_rows": max_rows, "seed": args.seed,
                  "test_size": peers.TEST_SIZE, "fingerprint": fingerprint}
        for method in methods:
            for budget in ([None] if method in ONCE else budgets):
                key = record_key(method, budget)
                settings = settings_for(method, budget, common)
                if is_done(peers.read_record(records, dataset.id, key), settings,
                           args.retry_failed):
                    skipped += 1
                    continue
                peer_common = {**common, "max_rows": CORPUS_MAX_ROWS}
                earlier = (reusable_peer_record(args.peer_records, dataset.id, method,
                                                peer_common)
                           if method in ONCE and args.tier == "uci" else None)
                if earlier is not None:
                    result = {k: earlier[k] for k in ("status", "error", "balanced_accuracy",
                                                      "wall_time", "details")}
                    result["reused_from"] = peers.record_path(
                        args.peer_records, dataset.id, method).name
                    reused += 1
                else:
                    if not warmed:
                        peers.warm_up(methods)  # it reads the names' prefixes
                        warmed = True
                    if method == "sbs" and sbs is None:
                        sbs = peers.sbs_pipeline()
                    result = measure(method, budget, (X_train, X_test, y_train, y_test),
                                     seed=args.seed,
                                     timeout=timeout_for(budget, args.timeout_factor,
                                                         args.once_timeout),
                                     sbs=sbs, autogluon_python=args.autogluon_python)
                    new += 1
                record = {"dataset": dataset.id, "method": key, "family": method,
                          "budget": budget, **result,
                          "n_train": len(y_train), "n_test": len(y_test),
                          "n_features": int(X_train.shape[1]),
                          "n_classes": int(len(np.unique(y_train))),
                          "settings": settings, "versions": peers.versions(),
                          "load_average": list(np.round(os.getloadavg(), 2)),
                          "date": time.strftime("%Y-%m-%d %H:%M:%S")}
                write_json_atomic(record, peers.record_path(records, dataset.id, key))
                print(f"{dataset.id:40s} {key:24s} {result['status']:7s} "
                      f"{result['balanced_accuracy']:.3f} {result['wall_time']:7.1f} s"
                      f"{'  (reused)' if 'reused_from' in result else ''}"
                      f"{'  ' + str(result['error'])[:80] if result['error'] else ''}",
                      flush=True)
    return new, skipped, reused


def check_peers(methods: list[str], args) -> None:
    import importlib.util

    missing = sorted({name for m in methods for name in NEEDS.get(m, [])
                      if importlib.util.find_spec(name) is None})
    if missing:
        raise SystemExit(f"curves: {', '.join(missing)} not installed: pip install -e "
                         "\".[peers]\", or leave their methods out with --methods.")
    if any(m in autogluon_peer.PRESETS for m in methods):
        try:
            args.autogluon_python = autogluon_peer.autogluon_python(args.autogluon_python)
        except FileNotFoundError as error:
            raise SystemExit(f"curves: {error}") from error


def parse_list(text: str) -> list[str]:
    return [part for part in text.split(",") if part]


def main(argv=None) -> int:
    from benchmarks import curves_report

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", choices=sorted(TIERS), default="uci")
    parser.add_argument("--uci-path", type=Path, default=None,
                        help="UCI benchmark folder (default: $SKLLMSELECT_UCI); uci tier only")
    parser.add_argument("--datasets", type=parse_list, default=None,
                        help="comma-separated dataset names (default: the whole tier)")
    parser.add_argument("--methods", type=parse_list, default=list(METHODS),
                        help=f"comma-separated, of {', '.join(METHODS)}")
    parser.add_argument("--budgets", type=lambda s: [float(b) for b in parse_list(s)],
                        default=None, help="seconds, comma-separated (default: the tier's: "
                        + "; ".join(f"{t} {','.join(map(str, b))}" for t, b in TIERS.items())
                        + ")")
    parser.add_argument("--seed", type=int, default=CORPUS_SEED)
    parser.add_argument("--timeout-factor", type=float, default=TIMEOUT_FACTOR,
                        help="a fit is a timeout after FACTOR x budget + 120 s")
    parser.add_argument("--once-timeout", type=float, default=peers.TIMEOUT,
                        help="seconds before LazyPredict (killed) or the SBS (soft) is a "
                             "timeout")
    parser.add_argument("--autogluon-python", type=Path, default=None,
                        help="AutoGluon's interpreter (default: $SKLLMSELECT_AUTOGLUON_PYTHON "
                             "or work/venv-autogluon/bin/python)")
    parser.add_argument("--sbs", default=None,
                        help="portfolio pipeline of the SBS (default: from the corpus)")
    parser.add_argument("--manifest", type=Path, default=large_tier.MANIFEST,
                        help="the large tier's leakage verdicts")
    parser.add_argument("--peer-records", type=Path, default=None,
                        help="peers.py records reused for lazypredict and sbs "
                             "(default: OUT/peers)")
    parser.add_argument("--retry-failed", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help="records go to OUT/curves/<tier>/, the report to "
                             "OUT/curves_<tier>.{md,csv,png}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.methods) - set(METHODS))
    if unknown or not args.methods:
        parser.error(f"unknown methods {unknown}; choose from {', '.join(METHODS)}")
    if args.budgets is not None and (not args.budgets or min(args.budgets) <= 0):
        parser.error("--budgets needs positive seconds, such as 2,5,10")
    budgets = args.budgets or list(TIERS[args.tier])
    if args.tier == "uci":
        from pretrain.sources.uci import resolve_uci_path

        try:
            args.uci_path = resolve_uci_path(args.uci_path)
        except ValueError as error:
            parser.error(str(error))
    args.peer_records = args.peer_records or args.out / peers.RECORDS
    methods = [m for m in METHODS if m in args.methods]
    check_peers(methods, args)

    start = time.perf_counter()
    new, skipped, reused = run(args, methods, budgets)
    elapsed = time.perf_counter() - start
    print(f"\n{new} new records, {reused} reused from peers.py, {skipped} already recorded; "
          f"{elapsed:.0f} s.")
    written = curves_report.write_report(args.out, args.tier)
    print("wrote " + ", ".join(str(p) for p in written) if written else "no records yet")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

