"""The ``skllmselect`` command: rank pipelines for a table, fit, save, predict; describe a model.

Usage::

    skllmselect recommend data.csv --target species [--top-k 3] [--fit] [--json]
                [--cv 5] [--scoring balanced_accuracy] [--time-budget S] [--no-ensemble]
                [--n-jobs N] [--sep ;] [--save selector.joblib] [--quiet]
                [--model bundled|FOLDER|namespace/name] [--revision REV]
    skllmselect predict selector.joblib new.csv [--sep ;] [--out predictions.csv] [--proba]
    skllmselect info [--model M] [--revision R] [--json]
    skllmselect --version

Also ``python -m skllmselect``. A thin layer over
:class:`skllmselect.selector.LLMAlgorithmSelector` and :func:`skllmselect.loading.model_info`.
What a user can get wrong (a missing file, a missing target column, a single class, a model
that cannot be loaded) ends in one line on stderr and exit code 2, without a traceback.

Progress: the long steps (ranking, each candidate's cross-validation, the refit) are shown on
stderr with tqdm, only when stderr is a terminal (so logs and pipes stay clean) and not with
``--quiet``. tqdm rather than rich: one small pure-Python package with no dependencies of its
own, already what ``pretrain`` uses, and it turns itself off when stderr is not a terminal.
The selector reports its steps as ``logging`` records (logger ``skllmselect``), which this
module turns into the progress line, so the library itself never prints.

``--save`` writes the fitted selector with joblib (pickle): loading such a file runs code from
it, so ``predict`` must only be given files you saved yourself or got from someone you trust.
joblib rather than skops: skops would still have to be told to trust the selector's own types
(and the pipelines' and the calibration's), so it would not make loading a stranger's file
safe, and joblib is already installed with scikit-learn.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import sys
import time
import warnings
from pathlib import Path

EXIT_USAGE = 2
_READERS = {".csv": "csv", ".tsv": "tsv", ".txt": "csv", ".parquet": "parquet",
            ".pq": "parquet"}
_COMPRESSION = (".gz", ".bz2", ".zip", ".xz", ".zst")


class CommandError(ValueError):
    """A mistake in the command's input, reported as one line."""


# ---------------------------------------------------------------------------------------------
# arguments


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _nonzero_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value == 0:
        raise argparse.ArgumentTypeError(f"must be a nonzero integer (-1: all cores), got "
                                          f"{text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def _separator(text: str) -> str:
    """A CSV separator as typed in a shell: ``\\t`` (backslash t) or ``tab`` is a tab."""
    value = {"\\t": "\t", "tab": "\t"}.get(text, text)
    if not value:
        raise argparse.ArgumentTypeError("must not be empty")
    return value


_TRUST = ("The file is a pickle (joblib): loading it runs code from it, so only predict with "
          "files you saved yourself or got from someone you trust.")


# Long for a flat list of subcommands and their options: splitting it would not read better.
def _parser() -> argparse.ArgumentParser:
    from skllmselect import __version__

    parser = argparse.ArgumentParser(
        prog="skllmselect",
        description="Which classifier should I use on this dataset? A small pretrained "
                    "transformer ranks scikit-learn pipelines from the table's meta-features.")
    parser.add_argument("--version", action="version", version=f"skllmselect {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def model_options(sub):
        sub.add_argument("--model", default="bundled",
                         help="'bundled' (default: the weights shipped in the package), a "
                              "local model folder, or a Hugging Face Hub repo id")
        sub.add_argument("--revision", default=None,
                         help="branch, tag or commit of a Hub repo (a commit pins it)")
        sub.add_argument("--json", action="store_true", help="print JSON instead of text")

    def sep_option(sub):
        sub.add_argument("--sep", type=_separator, default=None,
                         help="column separator of a CSV file (default ',' for .csv and "
                              "'\\t' for .tsv; type \\t or tab for a tab)")

    rec = commands.add_parser(
        "recommend", help="rank the pipelines for a CSV or parquet table",
        description="Rank every portfolio pipeline for a classification table (CSV or "
                    "parquet); with --fit, cross-validate the best-ranked ones and pick one.")
    rec.add_argument("data", help="a .csv, .tsv or .parquet file (CSV may be compressed)")
    rec.add_argument("--target", required=True, help="name of the class column")
    sep_option(rec)
    rec.add_argument("--top-k", type=_positive_int, default=3,
                     help="how many of the best-ranked pipelines --fit cross-validates "
                          "(default 3)")
    rec.add_argument("--fit", action="store_true",
                     help="cross-validate the top-k pipelines and report the chosen one")
    rec.add_argument("--cv", type=_positive_int, default=5,
                     help="folds of the cross-validation with --fit (default 5)")
    rec.add_argument("--scoring", default="balanced_accuracy",
                     help="the metric that picks the winner with --fit: a scikit-learn scorer "
                          "name (default balanced_accuracy; e.g. accuracy, f1_macro, "
                          "roc_auc_ovr, neg_log_loss)")
    rec.add_argument("--time-budget", type=_positive_float, default=None, metavar="SECONDS",
                     help="seconds for the search of --fit (cross-validation, refits, "
                          "ensemble; not the model load and meta-features): candidates are "
                          "planned from their predicted costs, beyond --top-k while the "
                          "budget lasts (default: no limit, exactly --top-k)")
    rec.add_argument("--no-ensemble", dest="ensemble", action="store_false",
                     help="with --fit, keep the best candidate alone instead of a weighted "
                          "ensemble of the cross-validated candidates")
    rec.add_argument("--n-jobs", type=_nonzero_int, default=None,
                     help="parallel jobs of each candidate's cross-validation (-1: all "
                          "cores; default 1)")
    rec.add_argument("--random-state", type=int, default=0,
                     help="seed of the pipelines and the fold shuffle (default 0)")
    rec.add_argument("--save", type=Path, default=None, metavar="PATH",
                     help="write the fitted selector to PATH (joblib) for 'skllmselect "
                          "predict'; implies --fit. " + _TRUST)
    rec.add_argument("--quiet", action="store_true",
                     help="no progress on stderr (shown only when stderr is a terminal)")
    model_options(rec)
    rec.set_defaults(run=_recommend)

    pred = commands.add_parser(
        "predict", help="predict a table with a selector saved by 'recommend --save'",
        description="Predict the class of every row of a table with a selector saved by "
                    "'skllmselect recommend --fit --save PATH'. Writes CSV: a 'prediction' "
                    "column, and with --proba one 'proba_<class>' column per class. Columns "
                    "the selector was not fitted on (the target, say) are ignored. " + _TRUST)
    pred.add_argument("saved", metavar="SAVED",
                      help="the file 'recommend --save' wrote (only one you trust)")
    pred.add_argument("data", help="a .csv, .tsv or .parquet file with the fitted columns")
    sep_option(pred)
    pred.add_argument("--out", type=Path, default=None,
                      help="write the predictions to this CSV file (default: stdout)")
    pred.add_argument("--proba", action="store_true",
                      help="add the probability of every class")
    pred.set_defaults(run=_predict)

    info = commands.add_parser(
        "info", help="describe a model: source, revision, network, training, versions",
        description="Describe a selector model without running it.")
    model_options(info)
    info.set_defaults(run=_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 a user error)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help (0) or a usage error (2), already printed
        return exit_.code if isinstance(exit_.code, int) else 0
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return args.run(args)
    except (OSError, ValueError, TypeError) as error:
        print(f"skllmselect: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("skllmselect: interrupted", file=sys.stderr)
        return 130


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one line on stderr (the unpinned Hub revision, an ignored --revision)."""
    from tqdm import tqdm

    # tqdm.write: above the progress line, when one is shown, rather than through it.
    tqdm.write(f"skllmselect: warning: {_one_line(message)}", file=sys.stderr)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


# ---------------------------------------------------------------------------------------------
# recommend


def read_table(path, sep: str | None = None) -> tuple:
    """``(frame, path)``: a CSV, TSV or parquet file as a DataFrame, or a one-line error.

    ``sep``: the separator of a CSV or TSV file (None: ',' or a tab, by the suffix).
    """
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise CommandError(f"no such file: {str(path)!r}")
    if path.is_dir():
        raise CommandError(f"{str(path)!r} is a folder; pass a .csv or .parquet file")
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION:
        suffixes = suffixes[:-1]
    kind = _READERS.get(suffixes[-1] if suffixes else "")
    if kind is None:
        raise CommandError(f"cannot read {path.name!r}: expected a .csv, .tsv or .parquet file "
                           "(CSV may be compressed: .csv.gz, .csv.zip, ...)")
    if sep is not None and kind == "parquet":
        raise CommandError(f"--sep is for CSV files; {path.name!r} is parquet: drop --sep")
    if sep is None:
        sep = "\t" if kind == "tsv" else ","
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, sep=sep)
    except ImportError as error:
        raise CommandError(f"reading {path.name!r} needs a parquet engine: pip install pyarrow "
                           f"({_one_line(error)})") from error
    except pd.errors.EmptyDataError as error:
        raise CommandError(f"{str(path)!r} is empty: no columns to read") from error
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise CommandError(f"cannot parse {str(path)!r} as {kind}: "
                           f"{_one_line(error)}") from error
    except OSError as error:  # unreadable, or not parquet at all
        raise CommandError(f"cannot read {str(path)!r}: {_one_line(error)}") from error
    return frame, path


def split_target(frame, target: str, path) -> tuple:
    """``(X, y, n_dropped)``: features, the class column (rows without a class dropped)."""
    if target not in frame.columns:
        columns = [str(c) for c in frame.columns]
        shown = ", ".join(repr(c) for c in columns[:30])
        more = f", ... ({len(columns) - 30} more)" if len(columns) > 30 else ""
        raise CommandError(f"no column {target!r} in {str(path)!r}; its {len(columns)} "
                           f"columns are: {shown}{more}")
    if frame.columns.tolist().count(target) > 1:
        raise CommandError(f"{str(path)!r} has several columns named {target!r}; rename them")
    y = frame[target]
    keep = y.notna().to_numpy()
    n_dropped = int((~keep).sum())
    X = frame.drop(columns=[target])[keep].reset_index(drop=True)
    y = y[keep].reset_index(drop=True)
    if X.shape[1] == 0:
        raise CommandError(f"{str(path)!r} has no feature columns besides the target "
                           f"{target!r}")
    classes = y.unique()
    if len(classes) < 2:
        found = (f"only one class ({classes[0]!r}) in its {len(y)} labelled rows"
                 if len(classes) else "no values at all")
        raise CommandError(f"the target column {target!r} has {found}: a classifier needs at "
                           "least two classes; check --target")
    return X, y, n_dropped


class _ProgressHandler(logging.Handler):
    """Shows each step the selector logs (``skllmselect`` logger, INFO) on a tqdm line."""

    def __init__(self, bar):
        super().__init__(logging.INFO)
        self.bar = bar

    def emit(self, record) -> None:
        self.bar.set_description_str(record.getMessage())


@contextlib.contextmanager
def _progress(quiet: bool):
    """A ``step(text)`` function; the steps show on stderr while it is a terminal."""
    if quiet:
        yield lambda text: None
        return
    from tqdm import tqdm

    # disable=None: tqdm turns itself off when stderr is not a terminal (a log, a pipe).
    bar = tqdm(file=sys.stderr, disable=None, leave=False, bar_format="{desc} [{elapsed}]")
    logger = logging.getLogger("skllmselect")
    handler = _ProgressHandler(bar)
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # the steps are progress here, not log lines
    try:
        yield bar.set_description_str
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
        bar.close()


def _check_scoring(name: str) -> str:
    import difflib

    from sklearn.metrics import get_scorer_names

    names = get_scorer_names()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise CommandError(f"unknown --scoring {name!r}: {hint}it takes a scikit-learn scorer "
                           "name (python -c 'import sklearn.metrics as m; "
                           "print(m.get_scorer_names())' lists them)")
    return name


def _recommend(args) -> int:
    fit = args.fit or args.save is not None
    scoring = _check_scoring(args.scoring)
    with _progress(args.quiet) as step:
        step(f"reading {Path(args.data).name}")
        frame, path = read_table(args.data, args.sep)
        X, y, n_dropped = split_target(frame, args.target, path)
        from skllmselect import loading

        # A bad model fails now, before any work. A Hub revision is resolved here only: the
        # selector and the report below read this same commit from the cache, without a
        # request.
        folder = loading.resolve(args.model, args.revision)
        revision = loading.pinned_revision(args.model, folder, args.revision)
        from skllmselect.selector import LLMAlgorithmSelector

        selector = LLMAlgorithmSelector(model=args.model, revision=revision,
                                        top_k=args.top_k, cv=args.cv, scoring=scoring,
                                        time_budget=args.time_budget,
                                        ensemble=args.ensemble, n_jobs=args.n_jobs,
                                        random_state=args.random_state)
        from skllmselect.tabular import PreparationWarning

        start = time.perf_counter()
        with warnings.catch_warnings():  # the report lists the notes itself
            warnings.simplefilter("ignore", PreparationWarning)
            if fit:
                selector.fit(X, y)
                table = selector.recommendations_
            else:
                step("ranking the pipelines (model, meta-features)")
                table = selector.recommend(X, y)
        elapsed = time.perf_counter() - start
        if args.save is not None:
            step(f"saving to {args.save}")
            _save(selector, args.save)
    info = loading.model_info(args.model, revision)
    if info["source"] == "hub":
        info["revision"] = args.revision  # as asked; info["commit"] is what it resolved to
    report = _report(args, path, X, y, n_dropped, table, selector if fit else None,
                     info, elapsed)
    if args.json:
        print(json.dumps(report, indent=1, allow_nan=False))
    else:
        print(_format_report(report))
    return 0


def _number(value):
    """A JSON-safe float (NaN and inf become None)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _report(args, path, X, y, n_dropped, table, selector, info, elapsed) -> dict:
    rows = [{"rank": int(rank), "pipeline": str(row.pipeline),
             "predicted_score": _number(row.predicted_score),
             "uncertainty": _number(row.uncertainty),
             "predicted_fit_time": _number(row.predicted_fit_time)}
            for rank, row in table.iterrows()]
    report = {
        "data": {"path": str(path), "target": args.target, "n_rows": int(X.shape[0]),
                 "n_features": int(X.shape[1]), "n_classes": int(y.nunique()),
                 "dropped_rows_without_target": n_dropped},
        "model": {key: info[key] for key in ("model", "source", "revision", "commit",
                                             "folder")},
        "recommendations": rows,
        "notes": [str(note) for note in table.attrs.get("notes", [])],
        "top_k": args.top_k,
        "fit": None,
        "seconds": round(elapsed, 3),
    }
    if selector is not None:
        results = selector.cv_results_
        candidates = []
        for i, name in enumerate(results["pipeline"]):
            candidates.append({
                "pipeline": str(name),
                "recommendation_rank": int(results["recommendation_rank"][i]),
                "mean_test_score": _number(results["mean_test_score"][i]),
                "std_test_score": _number(results["std_test_score"][i]),
                "mean_fit_time": _number(results["mean_fit_time"][i]),
                "status": str(results["status"][i]),
                "error": str(results["error"][i]),
                "ensemble_weight": _number(results["ensemble_weight"][i]),
            })
        report["fit"] = {
            "best_pipeline": selector.best_pipeline_,
            "best_score": _number(selector.best_score_),
            "scoring": selector.scoring if isinstance(selector.scoring, str) else "custom",
            "cv_folds": int(selector.n_splits_),  # what was used: --cv may have been lowered
            "cv_folds_requested": args.cv,
            "top_k": args.top_k,
            "time_budget": args.time_budget,
            "n_jobs": args.n_jobs,
            "saved": None if args.save is None else str(args.save),
            "refit_seconds": round(float(selector.refit_time_), 3),
            "ranking_seconds": round(float(selector.ranking_time_), 3),
            "search_seconds": round(float(selector.search_time_), 3),
            "ensemble": None if selector.ensemble_ is None else {
                "members": dict(zip(selector.ensemble_.names,
                                    [round(float(w), 4) for w in selector.ensemble_.weights],
                                    strict=True)),
                "score": _number(selector.ensemble_score_)},
            "candidates": candidates,
            "skipped": dict(getattr(selector, "skipped_", {})),
        }
    return report


def _seconds(value) -> str:
    if value is None:
        return "?"
    if value < 1:
        return f"{value:.2f} s"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min"


def _score(mean, std) -> str:
    if mean is None:
        return "failed"
    return f"{mean:6.3f} ± {std:.3f}" if std is not None else f"{mean:6.3f}"


def _model_line(model: dict) -> str:
    if model["source"] == "hub":
        return (f"{model['model']} (revision {model['revision'] or 'main'}, commit "
                f"{model['commit']})")
    if model["source"] == "bundled":
        return f"bundled ({model['folder']})"
    return model["folder"]


def _folds(fit: dict) -> str:
    folds = f"{fit['cv_folds']}-fold"
    if fit["cv_folds"] != fit["cv_folds_requested"]:
        folds += f", lowered from --cv {fit['cv_folds_requested']}"
    return folds


def _format_report(report: dict) -> str:
    data, fit = report["data"], report["fit"]
    cv = {c["pipeline"]: c for c in fit["candidates"]} if fit else {}
    width = max(len("pipeline"), *(len(r["pipeline"]) for r in report["recommendations"]))
    dropped = (f"; {data['dropped_rows_without_target']} rows without a class dropped"
               if data["dropped_rows_without_target"] else "")
    lines = [
        f"{data['path']}: {data['n_rows']} rows, {data['n_features']} features, "
        f"{data['n_classes']} classes in {data['target']!r}{dropped}",
        f"model: {_model_line(report['model'])}",
        "",
        f"{'rank':>4}  {'pipeline':<{width}}  {'predicted score':<15}  {'predicted fit time':>18}"
        + ("  CV score" if fit else ""),
    ]
    for row in report["recommendations"]:
        line = (f"{row['rank']:>4}  {row['pipeline']:<{width}}  "
                f"{_score(row['predicted_score'], row['uncertainty']):<15}  "
                f"{_seconds(row['predicted_fit_time']):>18}")
        if fit:
            c = cv.get(row["pipeline"])
            line += f"  {_score(c['mean_test_score'], c['std_test_score']) if c else '':<15}"
            if row["pipeline"] == fit["best_pipeline"]:
                line += "  <- chosen"
        lines.append(line.rstrip())
    lines.append("")
    lines.extend(f"note: {note}" for note in report["notes"])
    lines.append("predicted score: the model's estimate of 5-fold balanced accuracy ± its "
                 "uncertainty; fit time: of that 5-fold cross-validation.")
    if fit:
        best = cv[fit["best_pipeline"]]
        lines.append(
            f"chosen: {fit['best_pipeline']}, cross-validated {fit['scoring']} "
            f"{_score(best['mean_test_score'], best['std_test_score']).strip()} "
            f"({_folds(fit)}, best of {len(fit['candidates'])} tried); refit on all rows in "
            f"{_seconds(fit['refit_seconds'])}; {_seconds(report['seconds'])} in all "
            f"(ranking {_seconds(fit['ranking_seconds'])}, search "
            f"{_seconds(fit['search_seconds'])}).")
        if fit["ensemble"]:
            members = ", ".join(f"{name} {weight:.2f}"
                                for name, weight in fit["ensemble"]["members"].items())
            lines.append(f"predicts with an ensemble: {members} (cross-validated "
                         f"{fit['ensemble']['score']:.3f} on the same folds; --no-ensemble "
                         "for the chosen pipeline alone)")
        for name, why in fit["skipped"].items():
            lines.append(f"skipped: {name} ({why})")
        if fit["saved"]:
            lines.append(f"saved: {fit['saved']} (skllmselect predict {fit['saved']} "
                         "DATA.csv)")
    else:
        lines.append(f"ranked in {_seconds(report['seconds'])}; add --fit to cross-validate "
                     f"the top {report['top_k']} and choose one.")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# save and predict


def _predictor(selector) -> str:
    """What predicts: the chosen pipeline, or the ensemble with its members' weights."""
    ensemble = getattr(selector, "ensemble_", None)
    if ensemble is None:
        return selector.best_pipeline_
    return "an ensemble (" + ", ".join(f"{name} {weight:.2f}" for name, weight in zip(
        ensemble.names, ensemble.weights, strict=True)) + ")"


def _save(selector, path: Path) -> None:
    import joblib

    if path.is_dir():
        raise CommandError(f"--save {str(path)!r} is a folder; give a file name, e.g. "
                           f"{str(path / 'selector.joblib')!r}")
    joblib.dump(selector, path)


def _load(path) -> object:
    """The selector ``recommend --save`` wrote (a pickle: trusted files only)."""
    import joblib

    from skllmselect.selector import LLMAlgorithmSelector

    path = Path(path)
    if not path.is_file():
        raise CommandError(f"no such file: {str(path)!r}" if not path.exists()
                           else f"{str(path)!r} is a folder; pass the file --save wrote")
    try:
        selector = joblib.load(path)
    except Exception as error:  # whatever a file that is not a pickle raises
        raise CommandError(f"cannot load {str(path)!r}: not a file written by 'skllmselect "
                           f"recommend --save' ({type(error).__name__}: "
                           f"{_one_line(error)})") from error
    if not isinstance(selector, LLMAlgorithmSelector) or not hasattr(selector, "classes_"):
        raise CommandError(f"{str(path)!r} holds a {type(selector).__name__}, not a fitted "
                           "LLMAlgorithmSelector: save one with 'skllmselect recommend "
                           "--fit --save PATH'")
    return selector


def _predict(args) -> int:
    import pandas as pd

    selector = _load(args.saved)
    frame, path = read_table(args.data, args.sep)
    columns = getattr(selector, "feature_names_in_", None)
    if columns is not None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            shown = ", ".join(repr(str(c)) for c in missing[:10])
            more = f", ... ({len(missing)} in all)" if len(missing) > 10 else ""
            raise CommandError(f"{str(path)!r} lacks column(s) the selector was fitted on: "
                               f"{shown}{more}")
        frame = frame[list(columns)]  # in the fitted order; other columns are ignored
    out = pd.DataFrame({"prediction": selector.predict(frame)})
    if args.proba:
        proba = selector.predict_proba(frame)
        for i, label in enumerate(selector.classes_):
            out[f"proba_{label}"] = proba[:, i]
    if args.out is None:
        out.to_csv(sys.stdout, index=False)
    else:
        out.to_csv(args.out, index=False)
        print(f"{len(out)} predictions of {_predictor(selector)} written to {args.out}",
              file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------------------------
# info


def _info(args) -> int:
    from skllmselect import loading

    info = loading.model_info(args.model, args.revision)
    if args.json:
        print(json.dumps(info, indent=1))
    else:
        print(_format_info(info))
    return 0


def _format_info(info: dict) -> str:
    arch = info["architecture"]
    network = (f"{arch['architecture']}, d_model {arch['d_model']}, {arch['n_layers']} layers, "
               f"{arch['n_heads']} heads, {arch['norm']} ({arch['norm_position']}-norm), "
               f"{arch['activation']}, {arch['positions']} positions")
    if "n_decoder_layers" in arch:
        network += f", {arch['n_decoder_layers']} decoder layers"
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items()) or "not recorded"
    revision = "-"
    if info["source"] == "hub":
        revision = f"{info['revision'] or 'main'} (commit {info['commit']})"
    pipelines = ", ".join(info["pipelines"])
    fields = [
        ("model", info["model"]),
        ("source", {"bundled": "bundled with skllmselect", "local": "local folder",
                    "hub": "Hugging Face Hub (cached)"}[info["source"]]),
        ("folder", info["folder"]),
        ("revision", revision),
        ("network", network),
        ("parameters", f"{info['n_parameters']:,} ({info['weights_megabytes']:.2f} MB, "
                       f"{'/'.join(info['dtypes'])})"),
        ("inputs", f"{info['n_metafeatures']} meta-features, {info['tokenizer']['n_bins']} "
                   f"bins each, vocabulary {info['tokenizer']['vocab_size']:,}"),
        ("pipelines", f"{info['n_pipelines']}: {pipelines}"),
        ("versions", versions),
        ("compatible", "yes" if info["compatible"] else f"NO: {info['problems']}"),
        ("top-k", "chosen as a set, over the model's residuals on "
                  f"{info['residual_datasets']:,} training datasets"
         if info["residual_datasets"] else "by predicted score (no residuals.safetensors)"),
        ("forest", f"{info['forest']['trees']} trees ({info['forest']['nodes']:,} nodes), "
                   f"blended at weight {info['forest']['weight']:g}"
         if info.get("forest") else "none (the network's scores alone)"),
    ]
    training = dict(info["training"])
    metrics = training.pop("metrics", {})
    training.pop("title", None)
    if not training and not metrics:
        fields.append(("training", "not recorded (no model card with a training summary)"))
    shown = {key for key, _ in fields}
    # The card repeats the config's network and versions: show only what it adds.
    fields.extend((key, value) for key, value in training.items() if key not in shown)
    for name, values in metrics.items():
        fields.append(("validation", f"{name}: "
                       + ", ".join(f"{k} {v}" for k, v in values.items())))
    width = max(len(k) for k, _ in fields)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in fields)


if __name__ == "__main__":
    sys.exit(main())
