"""Command line of the reproduction pipeline: ``python -m pretrain <step> ...``.

Steps so far:

    runs    cross-validate the portfolio on every dataset of a source (the ground truth)

Examples
--------
    python -m pretrain runs --source uci --out runs/uci --n-jobs 2
    python -m pretrain runs --source folder --path my_tables/ --target label --out runs/mine
    python -m pretrain runs --source uci --out runs/uci --scheduler tcp://10.0.0.5:8786
"""

from __future__ import annotations

import argparse
import sys

from pretrain import runs
from pretrain.sources.folder import iter_folder
from pretrain.sources.uci import DEFAULT_UCI_PATH, iter_uci, read_manifest


def _datasets(args):
    """(iterable of datasets, count or None) for the chosen source."""
    names = args.names.split(",") if args.names else None
    if args.source == "uci":
        path = args.path or DEFAULT_UCI_PATH
        count = len(names) if names else len(read_manifest(path))
        return iter_uci(path, names=names), count
    if args.path is None:
        raise ValueError("--source folder needs --path, the folder of CSV/parquet tables.")
    return iter_folder(args.path, target=args.target), None


def _add_runs(subparsers):
    parser = subparsers.add_parser("runs", help="ground truth: CV every pipeline per dataset")
    parser.add_argument("--source", choices=["uci", "folder"], required=True)
    parser.add_argument("--path", help="source folder (uci: default ../shared/data/uci)")
    parser.add_argument("--target", help="folder source: class column (default: last column)")
    parser.add_argument("--names", help="comma-separated dataset names to keep (uci)")
    parser.add_argument("--out", required=True, help="folder of records (one JSON per dataset)")
    parser.add_argument("--n-jobs", type=int, default=1, help="datasets in parallel")
    parser.add_argument("--scheduler", help="Dask scheduler address (tcp://host:port)")
    defaults = runs.Protocol()
    parser.add_argument("--folds", type=int, default=defaults.n_splits)
    parser.add_argument("--max-rows", type=int, default=defaults.max_rows)
    parser.add_argument("--time-limit", type=float, default=defaults.time_limit,
                        help="seconds per pipeline over all folds")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--pipelines", help="comma-separated subset of the portfolio")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=_run_runs)


def _run_runs(args):
    protocol_args = dict(n_splits=args.folds, seed=args.seed, max_rows=args.max_rows,
                         time_limit=args.time_limit)
    if args.pipelines:
        protocol_args["pipelines"] = tuple(args.pipelines.split(","))
    protocol = runs.Protocol(**protocol_args)
    datasets, count = _datasets(args)
    summary = runs.run_all(datasets, args.out, protocol, n_jobs=args.n_jobs,
                           scheduler=args.scheduler, progress=not args.no_progress,
                           total=count)
    print(runs.format_summary(summary))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pretrain", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    subparsers = parser.add_subparsers(dest="step", required=True)
    _add_runs(subparsers)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
