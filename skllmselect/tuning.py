"""What ``fit`` does with the time ``time_budget`` has left: tune the best candidates.

The anytime plan (:mod:`skllmselect.search`) cross-validates default pipelines and stops when
no further one is predicted to matter, which on small tables is after a few seconds whatever
the budget. The rest of the budget goes here: a random search over the hyperparameters of the
best candidates so far (the :data:`TUNED_BASES` best by cross-validated score that have a
search space below), each base's next variant going to the one whose variants have taken the
least time so far (so a cheap model is not starved by a slow one), each cross-validated on the
same folds as every candidate. A variant is one more candidate: it can win, and it can join
the ensemble.

Variants are drawn in a fixed order (from ``random_state`` and the pipeline's name), so a
faster machine tries a longer prefix of the same sequence; how many run depends on the clock,
which is the point of a budget. The spaces follow the ranges FLAML and auto-sklearn search
for the same models, narrowed to what stays within a few times the default's cost (no more
trees or boosting rounds than the default, which would only spend the budget slower).
Random search rather than a model-based optimiser: with the few dozen variants a budget of
seconds allows, it is as good (Bergstra and Bengio, 2012) and needs no dependency.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterator

import numpy as np
from sklearn.base import clone

from skllmselect.candidates import refit_reserve

# fit's steps are logged under the estimator's logger name, wherever their code lives.
_log = logging.getLogger("skllmselect.selector")

TUNED_BASES = 2
"""How many of the best candidates are tuned (sharing the time equally)."""

MAX_VARIANTS = 60
"""At most this many variants per fit: beyond it, selecting on the folds overfits them."""

ENSEMBLE_RESERVE = 3
"""The refits kept back while tuning: the winner's and the ensemble's likely members'."""


def _log_uniform(rng, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _log_int(rng, low: int, high: int) -> int:
    return int(round(_log_uniform(rng, low, max(high, low))))


def _forest(rng, n_rows):
    return {"max_features": float(rng.uniform(0.1, 1.0)),
            "min_samples_leaf": _log_int(rng, 1, 16),
            "criterion": str(rng.choice(["gini", "entropy"]))}


def _logistic(rng, n_rows):
    return {"C": _log_uniform(rng, 1e-3, 1e2)}


def _neighbours(rng, n_rows):
    # at most a fifth of the rows: a fold's training part must hold that many neighbours
    return {"n_neighbors": _log_int(rng, 1, min(50, max(n_rows // 5, 1))),
            "weights": str(rng.choice(["uniform", "distance"]))}


# pipeline name -> draw of its model step's parameters (rng, rows) -> dict. No space for a
# single decision tree, AdaBoost or naive Bayes: on the first 40 tables of
# benchmarks/tuning_choice.py their tuned variants won the folds by chance on small tables
# (a single tree's fold scores are the noisiest) and lost on the held-out rows.
SPACES: dict[str, Callable[[np.random.Generator, int], dict]] = {
    "hist_gradient_boosting": lambda rng, n: {
        "learning_rate": _log_uniform(rng, 0.01, 0.3),
        "max_leaf_nodes": _log_int(rng, 4, 64),
        "min_samples_leaf": _log_int(rng, 2, 64),
        "l2_regularization": _log_uniform(rng, 1e-6, 10.0),
        "max_features": float(rng.uniform(0.3, 1.0))},
    "random_forest": _forest,
    "random_forest_balanced": _forest,
    "extra_trees": _forest,
    "bagging_trees": lambda rng, n: {"max_samples": float(rng.uniform(0.5, 1.0)),
                                     "max_features": float(rng.uniform(0.3, 1.0))},
    "logreg": _logistic,
    "logreg_strong_l2": _logistic,
    "logreg_balanced": _logistic,
    "linear_svc": _logistic,
    "ridge": lambda rng, n: {"alpha": _log_uniform(rng, 1e-3, 1e3)},
    "svc_rbf": lambda rng, n: {"C": _log_uniform(rng, 0.03, 300.0),
                               "gamma": _log_uniform(rng, 1e-4, 1.0)},
    "knn_5": _neighbours,
    "knn_25_distance": _neighbours,
    "mlp": lambda rng, n: {"alpha": _log_uniform(rng, 1e-5, 1.0),
                           "learning_rate_init": _log_uniform(rng, 1e-4, 1e-2)},
    "lda": lambda rng, n: {"shrinkage": float(rng.uniform(0.0, 1.0))},
    "qda": lambda rng, n: {"shrinkage": float(rng.uniform(0.0, 1.0))},
}


def variants(name: str, estimator, n_rows: int, seed: int | None) -> Iterator[tuple]:
    """:data:`MAX_VARIANTS` ``(variant_name, params, pipeline)`` of pipeline ``name``, in order.

    ``params`` are its model step's parameters; ``pipeline`` is a clone of ``estimator`` with
    them set. The order depends on ``seed`` and ``name`` only.
    """
    rng = np.random.default_rng([0 if seed is None else seed, zlib.crc32(name.encode())])
    draw = SPACES[name]
    for i in range(1, MAX_VARIANTS + 1):
        params = draw(rng, n_rows)
        pipeline = clone(estimator).set_params(**{f"model__{k}": v for k, v in params.items()})
        yield f"{name}#{i}", params, pipeline


def tune(tried: list[dict], n_rows: int, cross_validate, *, end: float, n_splits: int,
         seed: int | None, clock) -> int:
    """Cross-validate variants of the best candidates of ``tried`` until the clock says stop.

    ``cross_validate(record, pipeline, deadline=...)`` is the selector's
    (:func:`skllmselect.candidates.cross_validate_pipeline` with its settings; None when
    abandoned). ``end``: when the search must be done (a reading of ``clock``). Before each
    variant, the refits of the :data:`ENSEMBLE_RESERVE` best candidates so far (the winner
    and the ensemble's likely members) are kept back, and the variant itself must leave
    time for its own refit; the first variant that would not is abandoned and ends the
    tuning. Variants that fail are dropped (logged): a space's corner that does not fit
    this data is no candidate. The variants that completed are appended to ``tried``;
    returns how many ran.
    """
    def mean_score(record):
        return float(np.mean(record["test_score"]))

    ok = sorted((r for r in tried if r["status"] == "ok"), key=mean_score, reverse=True)
    bases = [r for r in ok if r["pipeline"] in SPACES][:TUNED_BASES]
    streams = [variants(base["pipeline"], base["estimator"], n_rows, seed) for base in bases]
    spent = [0.0] * len(bases)  # seconds of each base's variants: the next goes to the least
    n_run = 0
    while bases and n_run < MAX_VARIANTS:
        ok = sorted((r for r in tried if r["status"] == "ok"), key=mean_score, reverse=True)
        deadline = end - sum(refit_reserve([r], n_splits) for r in ok[:ENSEMBLE_RESERVE])
        if clock() >= deadline:
            break
        turn = int(np.argmin(spent))
        base = bases[turn]
        name, params, pipeline = next(streams[turn])
        record = {"pipeline": name, "base": base["pipeline"], "params": params,
                  "recommendation_rank": base["recommendation_rank"],
                  "predicted_score": base["predicted_score"]}
        tick = clock()
        result = cross_validate(record, pipeline, deadline=deadline)
        spent[turn] += clock() - tick
        n_run += 1
        if result is None:
            break
        if result["status"] == "ok":
            tried.append(result)
        else:
            _log.info("variant %s failed: %s", name, result["error"])
    return n_run
