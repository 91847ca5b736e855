"""Selection quality of the bundled model (or ``--model``) against meta-learning baselines.

Every baseline is trained on the corpus TRAIN split (the model's own training data) with the
same 73 meta-features, then evaluated on two held-out benchmarks: the 55 UCI datasets
(ground truth from ``benchmarks/ground_truth.py``) and the corpus TEST split. Also:
masked-token perplexity of the model on the test split; leave-one-source-out (and, on
request, leave-one-domain-out) generalisation of the cheap baselines (the model would need
one training run per fold: not done here); and the stability of the model's recommendation
under transformations of the data that should not matter much (the smallest UCI datasets,
through ``LLMAlgorithmSelector.recommend``).

On UCI, the model's rows are what a user gets: each table is loaded as a user loads it
(:func:`pretrain.sources.uci.iter_uci`, nominal columns as text), its unlabelled rows dropped
(as the estimator's error asks), and ranked by ``LLMAlgorithmSelector(model=...,
random_state=0).recommend(X, y)``: "transformer, top 3 as a set" is its order with
``top_k=3``, "transformer, by score" its order with ``top_k=1`` (no set to choose: plain
descending predicted score, :func:`skllmselect.ranking.complementary_order`), and the score
MAE reads its ``predicted_score`` column. Pipelines the labels rule out are put last by the
estimator itself. No second implementation of inference: an earlier version scored stored
meta-feature vectors with its own code, and those vectors had gone stale (they predate the
table preparation of :mod:`skllmselect.describe`). The baselines read the vectors the
estimator computed for its ranking (``recommend(...).attrs["meta_features"]``, from
:func:`skllmselect.describe.describe`, the estimator's and the corpus's one path), not
stored records; they and the oracles put last the pipelines that cannot fit the protocol's
folds (:func:`protocol_eligible`, the same rule on the protocol's rows). On the corpus test
split, where no raw tables are at hand, the model rows rank the stored corpus vectors (made
by the same ``describe``) through :class:`pretrain.evaluate.ModelScorer`, which calls the
estimator's :func:`skllmselect.prediction.predict_and_rank`.

Writes ``benchmarks/results/selection.md``, ``selection.json``, ``selection_regret.png`` and
``selection_pred_vs_true.png``; prints the tables last. A few minutes on 2 cores::

    python -m benchmarks.selection [--uci-path FOLDER] [--model bundled]
        [--n-resamples 1000] [--leave-one-domain-out] [--no-robustness]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # the machines this runs on have 2 cores

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pretrain import evaluate as ev  # noqa: E402
from pretrain.batches import check_manifest  # noqa: E402
from pretrain.corpus import assemble  # noqa: E402
from pretrain.markdown import markdown_table  # noqa: E402
from pretrain.parallel import read_records  # noqa: E402
from pretrain.sources.uci import iter_uci, read_manifest, resolve_uci_path  # noqa: E402
from skllmselect import loading  # noqa: E402
from skllmselect.portfolio import PIPELINE_NAMES  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

RESULTS = ROOT / "benchmarks" / "results"
CORPUS = ROOT / "pretrain" / "data" / "corpus"
MODEL = "transformer, top 3 as a set"
MODEL_BY_SCORE = "transformer, by score"
REMEASURED = "oracle, other CV seed"
#: Robustness is measured on the datasets with the fewest rows (a fixed rule, no choice).
N_ROBUSTNESS = 8

QUALITY = [("regret@1", "regret@1", 2), ("regret@3", "regret@3", 2),
           ("gap_closed", "gap closed", 2), ("hit@1", "hit@1", 2), ("hit@3", "hit@3", 2),
           ("ndcg@5", "NDCG@5", 2), ("spearman", "Spearman", 2)]
PRACTICAL = [("fail@1", "fail@1 %", 1), ("fail@3", "fail@3 %", 1),
             ("cost@3_s", "cost@3 s", 1), ("mae", "score MAE", 2)]


def sha(path: Path, n: int = 16) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:n]


def fmt(summary: pd.DataFrame, columns, percent=("fail@1", "fail@3")) -> pd.DataFrame:
    """Cells 'mean [low, high]'; '-' where a metric does not apply."""
    out = pd.DataFrame(index=summary.index)
    for key, label, digits in columns:
        if key not in summary.columns.get_level_values(0):
            continue
        scale = 100.0 if key in percent else 1.0
        cells = []
        for method in summary.index:
            mean, low, high = (summary.loc[method, (key, part)] * scale
                               for part in ("mean", "low", "high"))
            if not np.isfinite(mean):
                cells.append("-")
            elif not np.isfinite(low) or low == high:
                cells.append(f"{mean:.{digits}f}")
            else:
                cells.append(f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]")
        out[label] = cells
    out.index.name = "method"
    return out


def methods(network, tokenizer, residuals, forest=None) -> dict:
    """Corpus test split: the baselines and the model on stored vectors, by score and as a set.

    (On UCI the model rows come from the estimator on the raw tables: :func:`uci_benchmark`.)
    """
    return {**ev.cheap_baselines(random_state=0),
            MODEL_BY_SCORE: ev.ModelScorer(network, tokenizer, forest=forest),
            MODEL: ev.ModelScorer(network, tokenizer, residuals=residuals, k=3,
                                  forest=forest)}


def remeasured_scores(results: Path, datasets: list[str]) -> np.ndarray | None:
    """(n, P) UCI scores of the same protocol with another CV seed, if they were measured.

    ``python -m benchmarks.ground_truth --seed 1`` writes them to
    ``uci_ground_truth_seed1/``. Ranking by them is an oracle that knows every pipeline's true
    score up to the noise of cross-validation: what no selector can beat, and how much of any
    regret is that noise.
    """
    folder = results / "uci_ground_truth_seed1"
    if not folder.is_dir():
        return None
    scores = {r["dataset"]: [r["pipelines"][p]["score"] for p in PIPELINE_NAMES]
              for r in read_records(folder) if not r.get("error")}
    if set(datasets) - set(scores):
        return None
    return np.array([scores[d] for d in datasets], dtype=np.float64)


def user_rows(dataset) -> tuple[pd.DataFrame, pd.Series]:
    """``dataset``'s labelled rows (fresh index): what a user passes after the estimator's
    error about missing labels."""
    labelled = dataset.y.notna().to_numpy()
    return (dataset.X[labelled].reset_index(drop=True),
            dataset.y[labelled].reset_index(drop=True))


def protocol_eligible(dataset) -> np.ndarray:
    """(P,) bool: can each pipeline fit the protocol's folds of ``dataset``?

    From the labels alone (:func:`skllmselect.portfolio.unmet_requirements`), on exactly the
    rows and folds of the ground truth (pretrain/runs.py), as the selector checks its own.
    """
    from pretrain.runs import Protocol, protocol_folds, protocol_rows
    from skllmselect.portfolio import unmet_requirements

    protocol = Protocol()
    X, y, _ = protocol_rows(dataset.X, dataset.y, protocol)
    with warnings.catch_warnings():  # "least populated class has only 2 members": known
        warnings.simplefilter("ignore", UserWarning)
        splits = protocol_folds(X, y, protocol)
    labels = [y.iloc[train].to_numpy() for train, _ in splits] + [y.to_numpy()]
    unmet = unmet_requirements(labels)
    return np.array([name not in unmet for name in PIPELINE_NAMES])


def uci_benchmark(results: Path, uci_path: Path, model) -> tuple[pd.DataFrame, dict]:
    """The UCI ground truth with the estimator's vectors, and the estimator's rankings.

    Each ground-truth dataset is loaded from ``uci_path`` (and checked to be the table that
    was measured), reduced to its labelled rows (:func:`user_rows`), and then:

    - described by the estimator itself (``recommend``'s ``attrs["meta_features"]``, from
      :func:`skllmselect.describe.describe`: the vector the baselines read);
    - ranked by ``LLMAlgorithmSelector(model=model, top_k=k, random_state=0).recommend``
      with k = 3 (the selector's set-aware order) and k = 1 (by predicted score alone);
    - checked for the pipelines that cannot fit the protocol's folds
      (:func:`protocol_eligible`).

    Returns
    -------
    frame : pandas.DataFrame
        Corpus layout (:func:`pretrain.corpus.assemble`), datasets sorted.
    estimator : dict
        ``"eligible"``: (n, P) bool; ``MODEL`` and ``MODEL_BY_SCORE``: (n, P) rankings
        (pipeline indices, best first); ``"predicted"``: (n, P) predicted scores. Rows in
        ``frame`` order, columns in ``PIPELINE_NAMES`` order.
    """
    from pretrain.runs import fingerprint
    from skllmselect.selector import LLMAlgorithmSelector
    from skllmselect.tabular import PreparationWarning

    truth = [r for r in read_records(results / "uci_ground_truth") if r["error"] is None]
    wanted = {r["dataset"]: r for r in truth}
    unknown = sorted({d.split("/", 1)[1] for d in wanted}
                     - {entry["name"] for entry in read_manifest(uci_path)})
    if unknown:
        raise SystemExit(f"{unknown[:3]} are in the ground truth but not in {uci_path}.")
    selectors = {row: LLMAlgorithmSelector(model=model, top_k=k, random_state=0)
                 for row, k in ((MODEL, 3), (MODEL_BY_SCORE, 1))}
    position = {name: i for i, name in enumerate(PIPELINE_NAMES)}
    vectors, found = [], {}
    for dataset in iter_uci(uci_path, names=[d.split("/", 1)[1] for d in wanted]):
        if fingerprint(dataset.X, dataset.y) != wanted[dataset.id]["fingerprint"]:
            raise SystemExit(f"{dataset.id} in {uci_path} is not the table the ground truth "
                             "measured (its fingerprint differs): rerun ground_truth.py.")
        X, y = user_rows(dataset)
        with warnings.catch_warnings():  # the preparation's notes (identifier columns
            warnings.simplefilter("ignore", PreparationWarning)  # dropped) are the user's
            tables = {row: selector.recommend(X, y) for row, selector in selectors.items()}
        vector = list(tables[MODEL].attrs["meta_features"].values())  # describe()'s, as fit's
        vectors.append({"dataset": dataset.id, "error": None,
                        "metafeatures": [float(v) for v in vector]})
        predicted = {row: table.set_index("pipeline").loc[list(PIPELINE_NAMES),
                                                          "predicted_score"].to_numpy()
                     for row, table in tables.items()}
        np.testing.assert_array_equal(predicted[MODEL], predicted[MODEL_BY_SCORE])
        eligible = protocol_eligible(dataset)
        # The estimator's own rule (its folds on all labelled rows), from its notes.
        ruled_out = {name for name in PIPELINE_NAMES for note in tables[MODEL].attrs["notes"]
                     if note.startswith(f"{name} ranked last:")}
        if ruled_out != {name for name, ok in zip(PIPELINE_NAMES, eligible, strict=True)
                         if not ok}:
            print(f"warning: on {dataset.id} the estimator ranks last {sorted(ruled_out)}, "
                  "the protocol's folds rule out "
                  f"{[n for n, ok in zip(PIPELINE_NAMES, eligible, strict=True) if not ok]}.")
        found[dataset.id] = {"eligible": eligible, "predicted": predicted[MODEL],
                             **{row: table["pipeline"].map(position).to_numpy()
                                for row, table in tables.items()}}
    frame = assemble(truth, vectors)
    return frame, {key: np.stack([found[d][key] for d in frame["dataset"]])
                   for key in ("eligible", "predicted", MODEL, MODEL_BY_SCORE)}


# ------------------------------------------------------------------------- robustness


def _numeric(X: pd.DataFrame) -> list:
    return [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])
            and not pd.api.types.is_bool_dtype(X[c])]


def perturbations(X: pd.DataFrame, y: pd.Series, seed: int = 0) -> dict:
    """Transformed copies of (X, y) that carry the same information."""
    from skllmselect.sampling import stratified_subsample

    rng = np.random.default_rng(seed)
    rows = rng.permutation(len(X))
    columns = list(rng.permutation(X.columns))
    numeric = _numeric(X)
    affine = X.copy()
    affine[numeric] = affine[numeric] * 3.0 + 7.0
    exp = X.copy()
    for c in numeric:
        values = exp[c].astype(float)
        if values.min() > 0:  # exp(x / max) is monotone and cannot overflow
            exp[c] = np.exp(values / values.max())
    half = stratified_subsample(np.asarray(y), len(y) // 2, min_per_class=2, random_state=seed)
    return {
        "same data again": (X, y),
        "rows shuffled": (X.iloc[rows].reset_index(drop=True), y.iloc[rows].reset_index(drop=True)),
        "columns permuted": (X[columns], y),
        "3x + 7 (numeric)": (affine, y),
        "exp(x / max) (positive)": (exp, y),
        "50% stratified rows": (X.iloc[half].reset_index(drop=True),
                                y.iloc[half].reset_index(drop=True)),
    }


def robustness(uci_path: Path, names: list[str], model=loading.BUNDLED) -> pd.DataFrame:
    """Kendall tau of predicted scores (and top-1 / top-3 agreement) against the original."""
    from skllmselect.selector import LLMAlgorithmSelector
    from skllmselect.tabular import PreparationWarning

    selector = LLMAlgorithmSelector(model=model, random_state=0)
    rows = []
    with warnings.catch_warnings():
        # Notes on the table (bridges' IDENTIF column is dropped as an identifier) would
        # repeat for every copy; they do not change what is measured.
        warnings.simplefilter("ignore", PreparationWarning)
        for dataset in iter_uci(uci_path, names=names):
            rows.extend(_robustness_rows(selector, dataset))
    return pd.DataFrame(rows)


def _robustness_rows(selector, dataset) -> list[dict]:
    """One row per perturbation of ``dataset``: its ranking's agreement with the original's."""
    from scipy.stats import kendalltau

    X0, y0 = user_rows(dataset)
    base = selector.recommend(X0, y0).set_index("pipeline")
    a = base.loc[list(PIPELINE_NAMES), "predicted_score"].to_numpy()
    rows = []
    for kind, (X, y) in perturbations(X0, y0).items():
        other = selector.recommend(X, y).set_index("pipeline")
        b = other.loc[list(PIPELINE_NAMES), "predicted_score"].to_numpy()
        rows.append({"dataset": dataset.id, "perturbation": kind,
                     "kendall_tau": float(kendalltau(a, b).statistic),
                     "same_top1": float(base.index[0] == other.index[0]),
                     "top3_overlap": len(set(base.index[:3]) & set(other.index[:3])) / 3})
    return rows


def worst_datasets(per_method: dict, frame: pd.DataFrame, datasets: list[str],
                   n: int = 8) -> pd.DataFrame:
    """The datasets with the largest top-3 regret of the model, beside two baselines'."""
    regret = {m: per_method[m]["regret@3"] for m in (MODEL, "greedy portfolio", "pairwise RF")}
    rows_used = frame.set_index("dataset")["n_rows_used"]
    worst = np.argsort(-regret[MODEL], kind="stable")[:n]
    total = regret[MODEL].sum()
    table = pd.DataFrame({
        "dataset": [datasets[i] for i in worst],
        "rows": [int(rows_used[datasets[i]]) for i in worst],
        **{f"regret@3, {m}": np.round(regret[m][worst], 2) for m in regret},
        "share of the model's total": [f"{regret[MODEL][i] / total:.0%}" if total else "-"
                                       for i in worst],
    })
    return table.set_index("dataset")


# ------------------------------------------------------------------------- plots


def plot_regret(per_benchmark: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(per_benchmark), figsize=(7 * len(per_benchmark), 5),
                             sharey=False)
    rng = np.random.default_rng(0)
    for ax, (title, per_method) in zip(np.atleast_1d(axes), per_benchmark.items(), strict=True):
        names = list(per_method)
        data = [per_method[m]["regret@1"] for m in names]
        ax.boxplot(data, orientation="horizontal", widths=0.6, showfliers=False)
        for i, values in enumerate(data, start=1):
            ax.scatter(values, i + rng.uniform(-0.18, 0.18, len(values)), s=8, alpha=0.5,
                       color="tab:blue")
            ax.scatter([np.mean(values)], [i], marker="D", color="tab:red", zorder=3, s=25)
        ax.set_yticks(range(1, len(names) + 1), names)
        ax.invert_yaxis()
        ax.set_xlabel("top-1 regret (points of balanced accuracy); red diamond = mean")
        ax.set_title(title)
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xlim(left=-0.3)
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_pred_vs_true(true: np.ndarray, predictions: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(predictions), figsize=(4.5 * len(predictions), 4.5),
                             sharex=True, sharey=True)
    for ax, (name, predicted) in zip(np.atleast_1d(axes), predictions.items(), strict=True):
        ax.scatter(true.ravel(), predicted.ravel(), s=6, alpha=0.4)
        ax.plot([0, 1], [0, 1], color="grey", lw=1)
        mae = ev.score_mae(predicted, true).mean()
        ax.set_title(f"{name}\nMAE {mae:.2f} points")
        ax.set_xlabel("measured balanced accuracy (UCI, 5-fold CV)")
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
    np.atleast_1d(axes)[0].set_ylabel("predicted")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ------------------------------------------------------------------------- main


def group_table(groups: dict, n_resamples: int) -> pd.DataFrame:
    """Held-out group x method -> n, regret@1, regret@3, gap closed, hit@1, Spearman."""
    frames = []
    for group, per_method in groups.items():
        summary = ev.summarize(per_method, n_resamples=n_resamples)
        table = fmt(summary, [QUALITY[0], QUALITY[1], QUALITY[2], QUALITY[3], QUALITY[6]])
        table.insert(0, "n", summary[("n", "mean")].astype(int))
        table.insert(0, "method", table.index)
        table.index = pd.Index([group] * len(table), name="held out")
        frames.append(table)
    return pd.concat(frames)


def main(argv=None) -> int:
    args = _arguments(argv)
    start = time.perf_counter()

    import torch

    torch.set_num_threads(1)
    manifest, corpus, train, test, model = _inputs(args)
    network, tokenizer = model[:2]

    timings = {}
    uci_frame, uci, per_benchmark, predictions = _evaluate(
        args, train, test, model, timings)
    summaries = {name: ev.summarize(per_method, n_resamples=args.n_resamples, seed=args.seed)
                 for name, per_method in per_benchmark.items()}

    perplexity = {
        "corpus test split": ev.masked_perplexity(network, tokenizer, test.metafeatures,
                                                  train_metafeatures=train.metafeatures,
                                                  seed=args.seed),
        "UCI": ev.masked_perplexity(network, tokenizer, uci.metafeatures,
                                    train_metafeatures=train.metafeatures, seed=args.seed),
    }

    t0 = time.perf_counter()
    everything = corpus  # all splits: the held-out group is never seen, whatever its split
    generalisation = {
        column: ev.leave_one_group_out(everything, column,
                                       lambda: ev.cheap_baselines(random_state=0))
        for column in ("source", "domain")
        if column == "source" or args.leave_one_domain_out}
    timings["leave-one-group-out"] = time.perf_counter() - t0
    print(f"leave-one-group-out: {timings['leave-one-group-out']:.0f} s")

    robust = None
    if not args.no_robustness:
        t0 = time.perf_counter()
        smallest = uci_frame.sort_values(["n_rows", "dataset"])["dataset"].head(N_ROBUSTNESS)
        robust = robustness(args.uci_path, [d.split("/", 1)[1] for d in smallest],
                            model=args.model)
        timings["robustness"] = time.perf_counter() - t0
        print(f"robustness: {timings['robustness']:.0f} s")

    tables = _tables(summaries, per_benchmark, generalisation, perplexity, robust, uci_frame,
                     uci, args.n_resamples)

    # ---- files
    args.results.mkdir(parents=True, exist_ok=True)
    plot_regret(per_benchmark, args.results / "selection_regret.png")
    uci_predictions = predictions["UCI (55 datasets)"]
    plot_pred_vs_true(uci.scores, {k: uci_predictions[k] for k in
                                   (MODEL, "RF regression", "kNN (L1, k=10)", "SBS")},
                      args.results / "selection_pred_vs_true.png")
    elapsed = time.perf_counter() - start
    provenance = _provenance(args, manifest, network, timings, robust, elapsed)
    per_dataset = {
        name: {"datasets": target.datasets,
               "regret@1": {m: np.round(v["regret@1"], 4).tolist()
                            for m, v in per_benchmark[name].items()}}
        for name, target in (("UCI (55 datasets)", uci), ("corpus test split", test))}
    (args.results / "selection.json").write_text(json.dumps({
        "provenance": provenance,
        "summaries": {name: {m: {f"{a}.{b}": (None if not np.isfinite(v) else float(v))
                                 for (a, b), v in row.items()}
                             for m, row in s.iterrows()} for name, s in summaries.items()},
        "perplexity": perplexity,
        "robustness": None if robust is None else robust.to_dict(orient="records"),
        "per_dataset": per_dataset,
    }, indent=1), encoding="utf-8")
    write_markdown(args.results / "selection.md", tables, provenance)

    for title, table in tables.items():
        print(f"\n## {title}\n")
        print(markdown_table(table))
    print(f"\nwrote {args.results / 'selection.md'} and the plots; {elapsed:.0f} s in all")
    return 0


def _arguments(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uci-path", type=Path, default=None,
                        help="UCI benchmark folder (default: $SKLLMSELECT_UCI)")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--model", default=loading.BUNDLED)
    parser.add_argument("--n-resamples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0, help="bootstrap and perplexity mask")
    parser.add_argument("--no-robustness", action="store_true")
    parser.add_argument("--leave-one-domain-out", action="store_true",
                        help="also hold out each domain in turn (about 2 more minutes)")
    args = parser.parse_args(argv)
    try:
        args.uci_path = resolve_uci_path(args.uci_path)
    except ValueError as error:
        parser.error(str(error))
    return args


def _inputs(args):
    """``(manifest, corpus, train, test, model)``: the corpus and its splits, and the model as
    ``(network, tokenizer, residuals, forest)``; warns when the model was trained on another
    corpus."""
    manifest = json.loads((args.corpus / "manifest.json").read_text(encoding="utf-8"))
    check_manifest(manifest)
    frame = pd.read_parquet(args.corpus / "corpus.parquet")
    corpus = ev.selection_table(frame)
    split = corpus.groups["split"].to_numpy()
    train, test = corpus.subset(split == "train"), corpus.subset(split == "test")
    if not (args.results / "uci_ground_truth").is_dir():
        raise SystemExit(f"No UCI ground truth under {args.results}; run "
                         "`python -m benchmarks.ground_truth` first.")
    network, tokenizer, residuals, forest = loading.load(args.model, with_residuals=True,
                                                         with_forest=True)
    network.eval()
    model_config = network.config.to_dict()
    trained_on = {k[len("corpus_"):]: v for k, v in model_config["versions"].items()
                  if k.startswith("corpus_")}
    if trained_on and trained_on != manifest.get("content_hashes"):
        print(f"warning: the model was trained on corpus {trained_on}, this corpus is "
              f"{manifest.get('content_hashes')}: its 'held-out' splits may not be held out.")
    return manifest, corpus, train, test, (network, tokenizer, residuals, forest)


def _evaluate(args, train, test, model, timings: dict):
    """Every method on the UCI tables (through the estimator) and on the corpus test split.

    Returns ``(uci_frame, uci, per_benchmark, predictions)``; adds each step's seconds to
    ``timings``.
    """
    network, tokenizer, residuals, forest = model
    per_benchmark, predictions = {}, {}
    t0 = time.perf_counter()
    uci_frame, estimator = uci_benchmark(args.results, args.uci_path, args.model)
    uci = ev.selection_table(uci_frame)
    uci.eligible = estimator["eligible"]
    timings["UCI tables through the estimator"] = time.perf_counter() - t0
    print(f"corpus: {len(train)} train / {len(test)} test datasets; UCI: {len(uci)} datasets "
          f"through the estimator in {timings['UCI tables through the estimator']:.0f} s")

    name = "UCI (55 datasets)"
    t0 = time.perf_counter()
    per_method, predictions[name] = ev.evaluate_methods(
        train, uci, ev.cheap_baselines(random_state=0), with_oracle=False)
    for row in (MODEL_BY_SCORE, MODEL):  # the estimator's own order: no eligibility re-applied
        per_method[row] = ev.per_dataset_metrics(uci, estimator[row], estimator["predicted"])
        predictions[name][row] = estimator["predicted"]
    per_method["oracle"] = ev.oracle_per_dataset_metrics(uci)
    per_benchmark[name] = per_method
    timings[name] = time.perf_counter() - t0
    print(f"{name}: evaluated in {timings[name]:.0f} s")
    name = "corpus test split"
    t0 = time.perf_counter()
    per_benchmark[name], predictions[name] = ev.evaluate_methods(
        train, test, methods(network, tokenizer, residuals, forest))
    timings[name] = time.perf_counter() - t0
    print(f"{name}: evaluated in {timings[name]:.0f} s")
    remeasured = remeasured_scores(args.results, uci.datasets)
    if remeasured is not None:  # beside the oracle, as the last row but one
        uci_methods = per_benchmark["UCI (55 datasets)"]
        oracle = uci_methods.pop("oracle")
        uci_methods[REMEASURED] = ev.per_dataset_metrics(
            uci, ev.put_ineligible_last(ev.ranking_from_scores(remeasured), uci.eligible))
        uci_methods["oracle"] = oracle
    return uci_frame, uci, per_benchmark, predictions


def _tables(summaries, per_benchmark, generalisation, perplexity, robust, uci_frame, uci,
            n_resamples: int) -> dict:
    """The report's tables, by title, in the order selection.md shows them."""
    tables = {}
    for name, summary in summaries.items():
        tables[f"{name}: selection quality"] = fmt(summary, QUALITY)
        tables[f"{name}: failures, cost and score error"] = fmt(summary, PRACTICAL)
    tables["leave one source out (cheap baselines; train on all other corpus datasets)"] = \
        group_table(generalisation["source"], n_resamples)
    if "domain" in generalisation:
        tables["leave one domain out (cheap baselines)"] = \
            group_table(generalisation["domain"], n_resamples)
    tables["where the UCI top-3 regret comes from (the 8 largest, model as the selector ranks)"] \
        = worst_datasets(per_benchmark["UCI (55 datasets)"], uci_frame, uci.datasets)
    tables["masked-token perplexity of the model"] = pd.DataFrame(perplexity).T[
        ["n_datasets", "n_masked_tokens", "perplexity", "unigram_perplexity"]].rename(
        columns={"n_datasets": "datasets", "n_masked_tokens": "masked tokens",
                 "perplexity": "model", "unigram_perplexity": "train unigram per feature"}
    ).astype(float).round(2)
    if robust is not None:
        stats = robust.groupby("perturbation", sort=False)[
            ["kendall_tau", "same_top1", "top3_overlap"]].agg(["mean", "min"]).round(2)
        stats.columns = ["Kendall tau (mean)", "Kendall tau (min)", "same top-1 (share)",
                         "same top-1 (min)", "top-3 overlap (mean)", "top-3 overlap (min)"]
        tables[f"robustness of the model's ranking ({N_ROBUSTNESS} smallest UCI datasets)"] = \
            stats.drop(columns="same top-1 (min)")

    return tables


def _provenance(args, manifest: dict, network, timings: dict, robust, elapsed: float) -> dict:
    """What selection.json records about the run: the corpus, the model, the settings."""
    model_config = network.config.to_dict()
    weights = Path(loading.resolve(args.model)) if args.model != loading.BUNDLED \
        else loading.WEIGHTS_DIR
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
        "elapsed_s": round(elapsed, 1),
        "corpus": {"path": str(args.corpus.relative_to(ROOT)) if args.corpus.is_relative_to(ROOT)
                   else str(args.corpus), "content_hashes": manifest.get("content_hashes"),
                   "by_split": manifest.get("by_split"), "versions": manifest.get("versions"),
                   "parquet_sha256": sha(args.corpus / "corpus.parquet")},
        "uci_ground_truth_sha256": sha(args.results / "uci_ground_truth.csv"),
        "model": {"source": args.model,
                  "weights_sha256": sha(weights / loading.WEIGHTS_NAME),
                  **{k: model_config[k] for k in (
                      "architecture", "d_model", "n_layers", "n_heads", "norm", "positions",
                      "mask_missing")},
                  "n_parameters": network.num_parameters(),
                  "versions": model_config["versions"]},
        "bootstrap": {"n_resamples": args.n_resamples, "seed": args.seed, "confidence": 0.95},
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "robustness_datasets": (None if robust is None
                                else sorted(robust["dataset"].unique().tolist())),
    }


NOTES = """\
- Every baseline is fitted on the corpus train split with the same 73 meta-features as the
  model; on UCI it reads each table's vector from `skllmselect.describe.describe`, the
  estimator's own path (not stored records). Scores are the protocol's (5-fold CV balanced
  accuracy on at most 2,000 rows; a failed or timed-out pipeline scores chance level,
  1 / n_classes, which is what a user who picked it gets).
- **regret@k**: 100 x (oracle score - best true score among the method's top k), points of
  balanced accuracy. **gap closed**: 1 - mean regret@1 / mean regret@1 of the SBS (1 =
  oracle, 0 = SBS, < 0 worse than the SBS); interval from a paired bootstrap.
  **hit@k**: share of datasets whose top k holds a best pipeline (ties count). **NDCG@5**:
  gains = each pipeline's score min-max scaled within its dataset (worst 0, best 1), so it
  measures the order within a dataset rather than how easy the dataset is. **Spearman**:
  rank correlation of the method's order with the true scores (mean over datasets).
- **fail@k**: share of the top-k picks whose status is not "ok" (failed or timed out).
  **cost@3 s**: seconds the protocol spent cross-validating the top 3 picks; for the oracle,
  all 20 pipelines (what knowing the best costs). **score MAE**: mean |predicted - measured|
  score in points, for methods that predict scores (the SBS "predicts" each pipeline's train
  mean: the reference).
- **random (expected)** is the exact expectation over a uniformly random ranking, not a
  sample. **greedy portfolio**: a static order, each pick maximising the mean best-so-far
  score on train (its first pick is the SBS, so its regret@1 equals the SBS's).
  **kNN (L1, k=10)**: mean scores of the 10 nearest train datasets, meta-features
  median-imputed and robust-scaled. **RF regression**: one multi-output random forest (100
  trees). **pairwise RF**: 190 cost-sensitive forests of 10 trees, ranked by votes.
  Hyperparameters are fixed defaults; none was tuned on either benchmark.
- **transformer, by score**: the model's ranking by predicted score.
  **transformer, top 3 as a set**: what `LLMAlgorithmSelector` does (skllmselect/ranking.py):
  the same first pick, then the two pipelines that most raise the expected best score of
  the set over the model's residuals on the corpus train split; chosen on the validation
  split before either benchmark was looked at. Its regret@1 is the by-score one by
  construction. On UCI both rows are what a user gets:
  `LLMAlgorithmSelector(model=..., top_k=k, random_state=0).recommend(X, y)` on the table as
  `pretrain.sources.uci.iter_uci` loads it, unlabelled rows dropped, with k = 3 (as a set)
  and k = 1 (by score); the score MAE reads its `predicted_score`. On the corpus test split
  (no raw tables at hand) the same inference, `skllmselect.prediction.predict_and_rank`,
  reads the stored corpus vectors.
- **oracle, other CV seed** (UCI): the ranking by every pipeline's score measured again
  with the same protocol but another fold seed (`python -m benchmarks.ground_truth --seed 1`),
  scored against the seed-0 ground truth like every method. It knows everything a selector
  could know, so its regret is the part of any regret that is cross-validation noise
  (the winner's curse of taking the best of 20 noisy estimates on small data).
- On UCI, every method's ranking puts last the pipelines the labels rule out (QDA when a
  class has one row in a training fold: `skllmselect.portfolio.unmet_requirements`): the
  transformer's by the estimator itself (its folds of the labelled rows), the others' on the
  protocol's folds (the script warns where the two rules differ; on none of the 55 when
  this was written); the corpus tables do not hold the labels, so there every method ranks
  as it is.
- Intervals: percentile bootstrap over datasets, 95 %, the same resamples for every method.
- The leave-one-group-out tables train on every corpus dataset (all splits) outside the held
  out source or domain; the transformer is not in them (it would need one training run per
  fold). Groups of 1 to 5 datasets give very wide or no intervals.
- Perplexity: the model's token head on the clean tokens with 15 % of the meta-feature
  positions masked (pretrain.batches.Collator, fixed seed), against a per-feature unigram of
  the train split's bins on the same masked positions.
- Robustness: LLMAlgorithmSelector(random_state=0).recommend on the original and on each
  transformed copy; Kendall tau between the 20 predicted scores; mean and minimum over
  datasets. Since meta-features version 4, numeric columns are standardized before pymfe
  and rows are ordered by keys built from per-column ranks, so an increasing affine
  transform (3x + 7) leaves the vector, hence the ranking, unchanged, and a non-linear
  increasing one (exp) keeps the rows, the subsample and the landmarking folds and moves
  only the values it changes by design (skewness, the landmarks' scores). Version 3 keyed
  rows by hashes of their values, so any new values drew other rows and folds: Kendall tau
  0.88 (minimum 0.34; same top 1 on 7 of 8) under 3x + 7 on these datasets with the
  version-3 model.
"""


def write_markdown(path: Path, tables: dict, provenance: dict) -> None:
    model = provenance["model"]
    corpus = provenance["corpus"]
    lines = [
        "# Algorithm selection benchmark",
        "",
        f"Made by `python -m benchmarks.selection` on {provenance['date']} "
        f"({provenance['machine']}, {provenance['elapsed_s']:.0f} s).",
        "",
        f"- Corpus: `{corpus['path']}`, splits {corpus['by_split']}, content hashes "
        f"{corpus['content_hashes']}, corpus.parquet sha256 {corpus['parquet_sha256']}.",
        f"- UCI ground truth: `benchmarks/results/uci_ground_truth.csv` sha256 "
        f"{provenance['uci_ground_truth_sha256']}.",
        f"- Model: {model['source']} (model.safetensors sha256 {model['weights_sha256']}): "
        f"{model['architecture']}, d_model {model['d_model']}, {model['n_layers']} layers, "
        f"{model['n_heads']} heads, {model['norm']}, {model['positions']} positions, "
        f"{model['n_parameters']:,} parameters; versions {model['versions']}.",
        f"- Bootstrap: {provenance['bootstrap']}.",
        f"- Robustness datasets (fewest rows): {provenance['robustness_datasets']}.",
        "",
        NOTES,
    ]
    for title, table in tables.items():
        lines += [f"## {title}", "", markdown_table(table), ""]
    lines += ["![regret](selection_regret.png)", "",
              "![predicted vs measured](selection_pred_vs_true.png)", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
