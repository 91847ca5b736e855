"""The candidates of ``fit``: cross-validating one pipeline, refitting the best, the results.

What :class:`skllmselect.selector.LLMAlgorithmSelector` does with each pipeline its search
(:mod:`skllmselect.search`) picks: :func:`cross_validate_pipeline` runs it over the shared
folds (a failure is recorded, not raised), :func:`refit_best` refits the best one on all rows, and
:func:`cv_results` lays the records out as GridSearchCV's ``cv_results_``. The time budget's
clock is the selector's, passed in as ``clock`` so that one clock drives the whole search.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import check_scoring
from sklearn.utils.parallel import Parallel, delayed

from skllmselect.calibration import decision_columns, in_class_columns

# fit's steps are logged under the estimator's logger name, wherever their code lives.
_log = logging.getLogger("skllmselect.selector")


def candidate_record(table, position) -> dict:
    """The record of the ranked ``table``'s candidate at ``position``, before it runs."""
    return {"pipeline": table["pipeline"].iat[position], "recommendation_rank": position + 1,
            "predicted_score": table["predicted_score"].iat[position]}


def cross_validate_pipeline(record, estimator, X, y, cv, scoring, *, n_jobs=None,
                            keep_proba=False, sample_weight=None, deadline=None,
                            reserve_refit=False, clock=time.perf_counter) -> dict | None:
    """Cross-validate ``estimator`` (a ranked candidate, or a tuned variant of one); a
    failure is recorded, not raised.

    ``record`` names it: ``pipeline``, ``recommendation_rank`` and ``predicted_score``
    (:func:`candidate_record`; and ``base`` and ``params`` for a variant). The results are
    added to it, and ``estimator`` (unfitted), which the refits clone.

    ``deadline`` (a reading of ``clock``): should the next fold, taking as long as the
    ones before it, end past it, the candidate is abandoned and None returned
    (``time_budget``'s safety stop). ``reserve_refit``: the first candidate's test, with no
    earlier candidate to keep a refit back for (and every tuned variant's): its own refit
    on all rows (its mean fold fit, scaled as in :func:`refit_reserve`) must also end
    before the deadline.

    Besides the scores, a candidate without ``predict_proba`` keeps its out-of-fold
    decision values (``record["out_of_fold"]``: decision columns, labels, weights of the
    test rows of every fold that trained on all classes): should it win, its
    probabilities are calibrated on them (:mod:`skllmselect.calibration`), no extra fit.
    ``keep_proba`` (the ensemble's): also each fold's test-row probabilities.
    """
    record.update(status="ok", error="", note="", estimator=estimator)
    _log.info("cross-validating %s (%d folds)", record["pipeline"], cv.get_n_splits(),
              extra={"candidate": record["pipeline"]})
    scorer = check_scoring(estimator, scoring)
    classes = np.unique(y)
    try:
        # Folds come back one by one (in order), so a deadline can stop the rest.
        folds = []
        for fold in Parallel(n_jobs=n_jobs, return_as="generator")(
                delayed(_fit_and_score)(clone(estimator), X, y, sample_weight, train,
                                        test, scorer, classes, keep_proba=keep_proba)
                for train, test in cv.split(X, y)):
            folds.append(fold)
            if deadline is not None and len(folds) < cv.get_n_splits():
                per_fold = np.mean([f["fit_time"] + f["score_time"] for f in folds])
                refit = (_scaled_to_all_rows(np.mean([f["fit_time"] for f in folds]),
                                             cv.get_n_splits()) if reserve_refit else 0.0)
                if clock() + per_fold + refit > deadline:
                    return None
    except Exception as err:  # one broken candidate must not end the search
        record.update(status="failed", error=f"{type(err).__name__}: {err}")
        return record
    record.update(test_score=np.array([f["score"] for f in folds]),
                  fit_time=np.array([f["fit_time"] for f in folds]),
                  score_time=np.array([f["score_time"] for f in folds]))
    kept = [f for f in folds if f["decision"] is not None]
    if not hasattr(estimator, "predict_proba"):
        record["out_of_fold"] = (
            np.concatenate([f["decision"] for f in kept]) if kept
            else np.empty((0, len(classes))),
            np.concatenate([y[f["test"]] for f in kept]) if kept else y[:0],
            None if sample_weight is None else np.concatenate(
                [sample_weight[f["test"]] for f in kept] or [sample_weight[:0]]))
    if keep_proba and all(f["proba"] is not None for f in folds):
        # Each fold's test-row probabilities (decision values for a candidate without
        # them: calibrated only if the ensemble needs it), for the ensemble selection.
        record["fold_proba"] = [f["proba"] for f in folds]
        record["proba_kind"] = "proba" if hasattr(estimator, "predict_proba") else "decision"
    return record


def refit_best(tried, X, y, sample_weight=None, clock=time.perf_counter):
    """``(record, estimator, seconds)`` of the best candidate that refits on all rows.

    Candidates are taken by cross-validated score; one whose refit fails (a model's
    numeric limit that the smaller training folds did not reach) is marked failed, with
    the reason. ``(None, None, 0.0)`` when no candidate is left.
    """
    while True:
        ok = [r for r in tried if r["status"] == "ok"]
        if not ok:
            return None, None, 0.0
        best = max(ok, key=lambda r: float(np.mean(r["test_score"])))  # first of ties
        _log.info("refitting %s on all rows", best["pipeline"])
        tick = clock()
        try:
            estimator = fit_pipeline(clone(best["estimator"]), X, y, sample_weight)
        except Exception as err:  # as in cross-validation: pass it over, say why
            score = float(np.mean(best.pop("test_score")))
            best.update(status="failed", error=f"cross-validated {score:.4g}, but the "
                        f"refit on all rows failed: {type(err).__name__}: {err}")
            continue
        return best, estimator, clock() - tick


def refit_reserve(tried: list[dict], n_splits: int) -> float:
    """Seconds to keep back for refitting the best candidate so far on all rows.

    Its mean fold fit, scaled from the (k-1)/k of the rows a fold trains on to all of them.
    """
    ok = [r for r in tried if r["status"] == "ok"]
    best = max(ok, key=lambda r: float(np.mean(r["test_score"])))
    return _scaled_to_all_rows(float(np.mean(best["fit_time"])), n_splits)


def _scaled_to_all_rows(fold_fit: float, n_splits: int) -> float:
    """A fold's fit time scaled from the (k-1)/k of the rows it trains on to all of them."""
    return fold_fit * n_splits / max(n_splits - 1, 1)


def rows(X, index):
    """The rows ``index`` (positions) of a DataFrame or an array."""
    return X.iloc[index] if isinstance(X, pd.DataFrame) else X[index]


def fit_pipeline(pipeline, X, y, sample_weight=None):
    """Fit a portfolio pipeline, the weights going to its final step (the model).

    The preprocessing steps (imputers, scalers, encoders) are fitted unweighted, then the
    model with the weights: called directly, so that it works the same with and without
    scikit-learn's metadata routing (under which ``Pipeline.fit`` would ask every scaler
    whether it wants the weights).
    """
    if sample_weight is None:
        return pipeline.fit(X, y)
    transformed = pipeline[:-1].fit_transform(X, y)
    pipeline.steps[-1][1].fit(transformed, y, sample_weight=sample_weight)
    return pipeline


def _fit_and_score(estimator, X, y, sample_weight, train, test, scorer, classes,
                   keep_proba=False) -> dict:
    """One fold: fit on train, score on test; decision values on test for calibration.

    ``keep_proba``: also the test rows' probabilities (decision values for a pipeline
    without them), one column per class of ``classes`` (0, or -inf for a decision value,
    for a class the fold did not train on), for the ensemble selection.
    """
    weight = None if sample_weight is None else sample_weight[train]
    tick = time.perf_counter()  # measurements, not the time_budget's clock
    fit_pipeline(estimator, rows(X, train), y[train], weight)
    fit_time = time.perf_counter() - tick
    X_test, y_test = rows(X, test), y[test]
    kwargs = {} if sample_weight is None else {"sample_weight": sample_weight[test]}
    tick = time.perf_counter()
    score = float(scorer(estimator, X_test, y_test, **kwargs))
    score_time = time.perf_counter() - tick
    decision = None
    # Decision values on the held-out rows of a fold that saw every class (their columns
    # then are the classes'), for a candidate without probabilities of its own.
    if (not hasattr(estimator, "predict_proba") and hasattr(estimator, "decision_function")
            and np.array_equal(estimator.classes_, classes)):
        decision = decision_columns(estimator, X_test)
    proba = None
    if keep_proba and hasattr(estimator, "predict_proba"):
        proba = in_class_columns(estimator.predict_proba(X_test), estimator.classes_, classes, 0.0)
    elif keep_proba and hasattr(estimator, "decision_function"):
        proba = decision if decision is not None else in_class_columns(
            decision_columns(estimator, X_test), estimator.classes_, classes, -np.inf)
    return {"score": score, "fit_time": fit_time, "score_time": score_time,
            "decision": decision, "proba": proba, "test": test}


def cv_results(tried: list[dict], n_splits: int) -> dict:
    """GridSearchCV-shaped results of the candidates, in the order they were tried."""
    nan = np.full(n_splits, np.nan)
    test = np.array([r.get("test_score", nan) for r in tried], dtype=float)  # (n, k)
    fit = np.array([r.get("fit_time", nan) for r in tried], dtype=float)
    score = np.array([r.get("score_time", nan) for r in tried], dtype=float)
    names = [r["pipeline"] for r in tried]
    mean = test.mean(axis=1)
    # Rank 1 is best; failed candidates (NaN) share the last rank, as in GridSearchCV.
    finite = np.where(np.isfinite(mean), mean, -np.inf)
    rank = np.array([1 + int(np.sum(finite > m)) for m in finite], dtype=np.int32)
    if not np.isfinite(mean).all():
        rank[~np.isfinite(mean)] = int(np.isfinite(mean).sum()) + 1
    results = {
        "pipeline": np.array(names, dtype=object),
        "params": [{"pipeline": r.get("base", r["pipeline"]), **r.get("params", {})}
                   for r in tried],
        "recommendation_rank": np.array([r["recommendation_rank"] for r in tried]),
        "predicted_score": np.array([r["predicted_score"] for r in tried], dtype=float),
    }
    for i in range(n_splits):
        results[f"split{i}_test_score"] = test[:, i]
    results.update(
        mean_test_score=mean,
        std_test_score=test.std(axis=1),
        rank_test_score=rank,
        mean_fit_time=fit.mean(axis=1),
        std_fit_time=fit.std(axis=1),
        mean_score_time=score.mean(axis=1),
        std_score_time=score.std(axis=1),
        status=np.array([r["status"] for r in tried], dtype=object),
        error=np.array([r["error"] for r in tried], dtype=object),
    )
    return results
