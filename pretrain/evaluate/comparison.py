"""Methods compared on a benchmark: every metric per dataset, train/test and
leave-one-group-out evaluation, and the summary table with bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pretrain.evaluate.baselines import ModelScorer
from pretrain.evaluate.metrics import (
    cost_at_k,
    expected_random_cost_at_k,
    expected_random_fail_at_k,
    expected_random_hit_at_k,
    expected_random_ndcg_at_k,
    expected_random_regret_at_k,
    expected_random_spearman,
    fail_at_k,
    hit_at_k,
    ndcg_at_k,
    put_ineligible_last,
    ranking_from_scores,
    regret_at_k,
    score_mae,
    spearman,
)
from pretrain.evaluate.statistics import bootstrap_ci, gap_closed_ci
from pretrain.evaluate.table import SelectionTable

#: Per-dataset metrics, in table order (regrets and MAE in points, costs in seconds).
METRICS = ("regret@1", "regret@3", "hit@1", "hit@3", "ndcg@5", "spearman", "fail@1",
           "fail@3", "cost@3_s", "mae")


def per_dataset_metrics(table: SelectionTable, ranking, predicted=None) -> dict[str, np.ndarray]:
    """Every metric of one method's ``ranking`` (and predicted scores) on ``table``."""
    s = table.scores
    values = {
        "regret@1": regret_at_k(s, ranking, 1), "regret@3": regret_at_k(s, ranking, 3),
        "hit@1": hit_at_k(s, ranking, 1), "hit@3": hit_at_k(s, ranking, 3),
        "ndcg@5": ndcg_at_k(s, ranking, 5), "spearman": spearman(s, ranking),
        "fail@1": fail_at_k(table.ok, ranking, 1), "fail@3": fail_at_k(table.ok, ranking, 3),
        "cost@3_s": cost_at_k(table.fit_times, ranking, 3),
        "mae": (score_mae(predicted, s) if predicted is not None
                else np.full(len(table), np.nan)),
    }
    return values


def random_per_dataset_metrics(table: SelectionTable) -> dict[str, np.ndarray]:
    """The exact expectation of :func:`per_dataset_metrics` under a uniform random ranking."""
    s = table.scores
    return {
        "regret@1": expected_random_regret_at_k(s, 1),
        "regret@3": expected_random_regret_at_k(s, 3),
        "hit@1": expected_random_hit_at_k(s, 1), "hit@3": expected_random_hit_at_k(s, 3),
        "ndcg@5": expected_random_ndcg_at_k(s, 5), "spearman": expected_random_spearman(s),
        "fail@1": expected_random_fail_at_k(table.ok, 1),
        "fail@3": expected_random_fail_at_k(table.ok, 3),
        "cost@3_s": expected_random_cost_at_k(table.fit_times, 3),
        "mae": np.full(len(table), np.nan),
    }


def oracle_per_dataset_metrics(table: SelectionTable) -> dict[str, np.ndarray]:
    """The virtual best: the true ranking; its cost is every pipeline's fit time."""
    values = per_dataset_metrics(table, ranking_from_scores(table.scores))
    values["cost@3_s"] = table.fit_times.sum(axis=1)  # it must run all of them to know
    return values


def summarize(per_method: dict[str, dict[str, np.ndarray]], *, sbs: str = "SBS",
              n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """One row per method: each metric's mean, CI low and CI high, plus the gap closed.

    Columns are a two-level index ``(metric, "mean" | "low" | "high")``; every interval is a
    percentile bootstrap over datasets with the same resamples for every method.
    """
    rows = {}
    for method, values in per_method.items():
        row = {}
        for metric in METRICS:
            mean, low, high = bootstrap_ci(values[metric], n_resamples, seed=seed)
            row[(metric, "mean")], row[(metric, "low")], row[(metric, "high")] = mean, low, high
        if sbs in per_method:
            mean, low, high = gap_closed_ci(values["regret@1"], per_method[sbs]["regret@1"],
                                            n_resamples, seed=seed)
            row[("gap_closed", "mean")], row[("gap_closed", "low")] = mean, low
            row[("gap_closed", "high")] = high
        row[("n", "mean")] = int(len(values["regret@1"]))
        rows[method] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame

def _rank(method, table: SelectionTable) -> np.ndarray:
    """The method's ranking of ``table``, pipelines that cannot fit its folds last."""
    if isinstance(method, ModelScorer):
        return method.rank(table.metafeatures, eligible=table.eligible)
    return put_ineligible_last(method.rank(table.metafeatures), table.eligible)

def evaluate_methods(train: SelectionTable, test: SelectionTable, methods: dict,
                     *, with_random: bool = True, with_oracle: bool = True,
                     weights: dict | None = None) -> tuple[dict, dict]:
    """Fit each method on ``train``, score it on ``test``.

    ``weights`` maps a method name to per-training-dataset weights for its ``fit``
    (``sample_weight``), e.g. to count real tables more than synthetic ones.

    Returns
    -------
    per_method : dict
        method -> :func:`per_dataset_metrics` (random choice and oracle included by default).
    predictions : dict
        method -> (n, P) predicted scores, for the methods that predict them (the SBS
        "predicts" the training mean of each pipeline: the reference for the score MAE).
    """
    per_method, predictions = {}, {}
    if with_random:
        per_method["random (expected)"] = random_per_dataset_metrics(test)
    for name, method in methods.items():
        if weights and name in weights:
            method.fit(train.metafeatures, train.scores, sample_weight=weights[name])
        else:
            method.fit(train.metafeatures, train.scores)
        predicted = None
        if hasattr(method, "predict_scores"):
            predicted = method.predict_scores(test.metafeatures)
            predictions[name] = predicted
        per_method[name] = per_dataset_metrics(test, _rank(method, test), predicted)
    if with_oracle:
        per_method["oracle"] = oracle_per_dataset_metrics(test)
    return per_method, predictions


def leave_one_group_out(table: SelectionTable, column: str, methods_factory,
                        *, min_size: int = 1) -> dict[str, dict]:
    """Train on every other group of ``table.groups[column]``, test on the held-out one.

    Returns ``{group: per_method}`` (see :func:`evaluate_methods`), for groups with at least
    ``min_size`` datasets; ``methods_factory()`` gives fresh, unfitted methods for each fold.
    """
    labels = table.groups[column].to_numpy()
    out = {}
    for group in sorted(set(labels)):
        held = labels == group
        if held.sum() < min_size or held.all():
            continue
        out[group], _ = evaluate_methods(table.subset(~held), table.subset(held),
                                         methods_factory())
    return out
