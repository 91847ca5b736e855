"""LLMAlgorithmSelector: recommendation, cross-validated selection, delegation, errors, sklearn API.

A tiny untrained model (tests/helpers.py, through the conftest fixtures) stands in for the
bundled one: these tests are about the estimator's behaviour, not about the quality of its
recommendations. Where a test needs a particular ranking or fit time, a "rigged" tiny model
fixes them through its output biases.
"""

from __future__ import annotations

import pickle
import shutil
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from scipy.special import softmax
from sklearn import config_context
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine
from sklearn.exceptions import NotFittedError
from sklearn.metrics import balanced_accuracy_score, log_loss
from sklearn.model_selection import GridSearchCV, GroupKFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from skllmselect import LLMAlgorithmSelector, candidates, describe, model_cache, selector
from skllmselect.calibration import TemperatureScaling
from skllmselect.metafeatures import METAFEATURE_NAMES
from skllmselect.portfolio import PIPELINE_NAMES
from skllmselect.validation import check_y
from tests.helpers import make_mixed_frame

TABLE_COLUMNS = ["pipeline", "predicted_score", "uncertainty", "predicted_fit_time", "estimator"]


# ------------------------------------------------------------------------------ tiny models


# The estimator checks use a model that always ranks logreg first: fast, and a winner with
# predict, predict_proba, predict_log_proba and decision_function, so every delegation is
# exercised (the random tiny model would pick a different winner per check dataset). The
# checks are collected before any fixture runs, and their ids show the estimator, so it names
# the model by this placeholder; each test swaps in the folder the fixture wrote.
CHECKS_MODEL = "tiny-checks-model"


@pytest.fixture(scope="session")
def checks_model(rigged_model):
    return rigged_model("checks", ranking=["logreg"])


def iris():
    return load_iris(return_X_y=True)


# ------------------------------------------------------------------------------ sklearn checks


@parametrize_with_checks([LLMAlgorithmSelector(model=CHECKS_MODEL, top_k=1, cv=3)])
@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")  # y=inf
def test_sklearn_compatible(estimator, check, checks_model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # tiny check datasets: CV warnings
        check(estimator.set_params(model=checks_model))


# The bundled model, as a user gets it: its winners differ between the check datasets (some
# without predict_proba of their own), and every check must pass all the same; with top_k=2
# the default ensemble forms on some of them, and predicts instead of the winner.
@parametrize_with_checks([LLMAlgorithmSelector(top_k=1, cv=3, random_state=0),
                          LLMAlgorithmSelector(top_k=2, cv=3, random_state=0)])
@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")  # y=inf
def test_sklearn_compatible_with_the_bundled_model(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # tiny check datasets: CV warnings
        check(estimator)


# ------------------------------------------------------------------------------ recommend


def test_recommend_returns_the_ranked_table_and_fits_nothing(tiny_model):
    X, y = load_breast_cancer(return_X_y=True)
    est = LLMAlgorithmSelector(model=tiny_model)
    params = dict(vars(est))
    table = est.recommend(X, y)

    assert list(table.columns) == TABLE_COLUMNS
    assert table.index.name == "rank" and list(table.index) == list(range(1, 21))
    assert sorted(table["pipeline"]) == sorted(PIPELINE_NAMES)
    assert table["predicted_score"].is_monotonic_decreasing
    assert (table["uncertainty"] > 0).all() and (table["predicted_fit_time"] > 0).all()
    for name, pipeline in zip(table["pipeline"], table["estimator"], strict=True):
        assert list(pipeline.named_steps) == ["preprocess", "model"]
        with pytest.raises(NotFittedError):
            pipeline.predict(X[:1])
        assert name in PIPELINE_NAMES
    assert list(table.attrs["meta_features"]) == list(METAFEATURE_NAMES)
    # pandas compares attrs on concat (and pandas 2 on printing a wide table): must not raise.
    assert pd.concat([table.iloc[:, :2], table.iloc[:, 2:]], axis=1).attrs == table.attrs
    assert vars(est) == params  # no fitted attribute, no cached network
    with pytest.raises(NotFittedError):
        est.predict(X)


def test_network_is_loaded_once_and_not_in_init(tiny_model):
    LLMAlgorithmSelector(model="/no/such/model")  # __init__ reads nothing
    X, y = iris()
    LLMAlgorithmSelector(model=tiny_model).recommend(X, y)
    hits = model_cache._load_cached.cache_info().hits
    LLMAlgorithmSelector(model=tiny_model).recommend(X, y)
    assert model_cache._load_cached.cache_info().hits == hits + 1


def test_threads_that_need_the_model_at_once_load_it_once(tiny_model, monkeypatch):
    # Two recommend calls in threads, the model not loaded yet: the second waits for the
    # first one's load (then finds it cached) instead of loading it a second time, and both
    # rank exactly as a call whose model was loaded beforehand.
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    X, y = iris()
    expected = LLMAlgorithmSelector(model=tiny_model, random_state=0).recommend(X, y)
    loads = []
    original = selector.loading.load_numpy

    def slow_load(*args, **kwargs):
        loads.append(threading.current_thread().name)
        time.sleep(0.3)  # still loading when the other thread needs the model
        return original(*args, **kwargs)

    monkeypatch.setattr(selector.loading, "load_numpy", slow_load)
    model_cache._load_cached.cache_clear()
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            tables = list(pool.map(lambda _: LLMAlgorithmSelector(
                model=tiny_model, random_state=0).recommend(X, y), range(2)))
    finally:
        model_cache._load_cached.cache_clear()
    assert len(loads) == 1
    for table in tables:
        pd.testing.assert_frame_equal(table.drop(columns="estimator"),
                                      expected.drop(columns="estimator"), check_exact=True)


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_model_that_fails_to_load_raises_in_the_callers_thread(tmp_path):
    # The loader's error reaches the caller, with no stray traceback from another thread.
    X, y = iris()
    with pytest.raises(FileNotFoundError, match="No model folder"):
        LLMAlgorithmSelector(model=str(tmp_path / "missing")).recommend(X, y)


def test_recommendation_depends_on_the_data_not_on_column_order(tiny_model):
    est = LLMAlgorithmSelector(model=tiny_model)
    X, y = make_mixed_frame(n_rows=150)
    permuted = X[list(reversed(X.columns))]
    pd.testing.assert_frame_equal(est.recommend(X, y).drop(columns="estimator"),
                                  est.recommend(permuted, y).drop(columns="estimator"))

    X_bc, y_bc = load_breast_cancer(return_X_y=True)
    order = np.random.default_rng(0).permutation(X_bc.shape[1])
    table = est.recommend(X_bc, y_bc).drop(columns="estimator")
    pd.testing.assert_frame_equal(table, est.recommend(X_bc[:, order], y_bc)
                                  .drop(columns="estimator"))
    # Not vacuous: another dataset gets other predictions from the same model.
    other = est.recommend(*iris()).drop(columns="estimator")
    assert not np.allclose(np.sort(table["predicted_score"]), np.sort(other["predicted_score"]))


def test_a_new_unit_for_a_column_does_not_move_the_bundled_models_ranking():
    """Issue 16: with meta-features version 3, rescaling columns moved the ranking (Kendall
    tau down to 0.51); version 4 standardizes numeric columns and keys rows by ranks."""
    est = LLMAlgorithmSelector()
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    rescaled = X.assign(**{X.columns[0]: X.iloc[:, 0] * 25.4,       # inches to millimetres
                           X.columns[3]: X.iloc[:, 3] / 100.0 + 7.0,
                           X.columns[9]: X.iloc[:, 9] * 1e6})
    table = est.recommend(X, y)
    moved = est.recommend(rescaled, y)
    assert list(moved["pipeline"]) == list(table["pipeline"])
    np.testing.assert_allclose(moved["predicted_score"], table["predicted_score"], atol=1e-9)
    # Not vacuous: a change of the data itself (a column's order reversed) moves it.
    flipped = X.assign(**{X.columns[0]: -X.iloc[:, 0] ** 3})
    assert not np.allclose(est.recommend(flipped, y)["predicted_score"],
                           table["predicted_score"], atol=1e-9)


def test_large_data_is_described_by_the_rows_the_corpus_would_use(tiny_model, monkeypatch):
    seen = {}
    real_extract = describe.extract

    def spy(X, y, **kwargs):
        seen.update(rows=len(y), kwargs=kwargs)
        return real_extract(X, y, **kwargs)

    monkeypatch.setattr(describe, "extract", spy)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2600, 3))
    y = np.where(X[:, 0] > 0, "yes", "no")
    LLMAlgorithmSelector(model=tiny_model).recommend(X, y)
    assert 1990 <= seen["rows"] <= 2010
    assert seen["kwargs"] == {"time_budget": None, "random_state": 0}


# ------------------------------------------------------------------------------ fit


@pytest.mark.parametrize("kind", ["numpy", "frame_mixed", "object_array", "string_labels",
                                  "multiclass_wine"])
def test_fit_predict_on_each_input_kind(tiny_model, kind):
    if kind == "numpy":
        X, y = load_breast_cancer(return_X_y=True)
    elif kind == "frame_mixed":
        X, y = make_mixed_frame()
    elif kind == "object_array":
        frame, y = make_mixed_frame()
        X = frame.astype(object).where(frame.notna(), np.nan).to_numpy()
    elif kind == "string_labels":
        X, y = iris()
        y = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    else:
        X, y = load_wine(return_X_y=True)
    est = LLMAlgorithmSelector(model=tiny_model, top_k=2, cv=3, random_state=0).fit(X, y)

    np.testing.assert_array_equal(est.classes_, np.unique(np.asarray(y)))
    pred = est.predict(X[:10] if not isinstance(X, pd.DataFrame) else X.iloc[:10])
    assert pred.shape == (10,) and set(pred) <= set(est.classes_)
    assert est.n_features_in_ == X.shape[1]
    assert hasattr(est, "feature_names_in_") == isinstance(X, pd.DataFrame)
    assert list(est.meta_features_.index) == list(METAFEATURE_NAMES)
    assert est.meta_features_["n_classes"] == len(est.classes_)
    results = est.cv_results_
    assert len(results["pipeline"]) == 2 and list(results["pipeline"]) == list(
        est.recommendations_["pipeline"][:2])
    assert est.best_pipeline_ == results["pipeline"][est.best_index_]
    assert est.best_score_ == pytest.approx(np.max(results["mean_test_score"]))
    assert results["rank_test_score"][est.best_index_] == 1
    assert est.skipped_ == {}
    assert est.best_estimator_ is not est.recommendations_.loc[
        est.recommendations_["pipeline"] == est.best_pipeline_, "estimator"].iloc[0]


def test_cv_results_and_scoring(rigged_model):
    X, y = iris()
    model = rigged_model("three", ranking=["gaussian_nb", "lda", "decision_tree_pruned"])
    est = LLMAlgorithmSelector(model=model, top_k=3, cv=4, scoring="accuracy",
                               random_state=0).fit(X, y)
    results = est.cv_results_
    assert list(results["pipeline"]) == ["gaussian_nb", "lda", "decision_tree_pruned"]
    assert results["params"][1] == {"pipeline": "lda"}
    assert list(results["recommendation_rank"]) == [1, 2, 3]
    for key in ("mean_test_score", "std_test_score", "mean_fit_time", "std_fit_time",
                "mean_score_time", "std_score_time", "split3_test_score"):
        assert results[key].shape == (3,) and np.isfinite(results[key]).all()
    expected = cross_val_score(clone(est.recommendations_["estimator"].iloc[1]), X, y,
                               cv=est._make_cv(y, 0), scoring="accuracy")
    assert results["mean_test_score"][1] == pytest.approx(expected.mean())
    assert est.score(X, y) == pytest.approx(np.mean(est.predict(X) == y))


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_a_failing_candidate_is_passed_over(rigged_model):
    # One training fold holds a single class: logistic regression cannot fit it, a tree can.
    X, y = iris()
    folds = [(np.flatnonzero(y == 0), np.flatnonzero(y != 0)), (np.arange(150), np.arange(150))]
    model = rigged_model("fails", ranking=["logreg", "decision_tree_pruned"])
    est = LLMAlgorithmSelector(model=model, top_k=1, cv=folds)
    with pytest.warns(UserWarning, match="logreg.*failed|failed.*logreg"):
        est.fit(X, y)
    assert list(est.cv_results_["status"]) == ["failed", "ok"]
    assert "ValueError" in est.cv_results_["error"][0]
    assert est.best_pipeline_ == "decision_tree_pruned"
    assert list(est.cv_results_["rank_test_score"]) == [2, 1]


@pytest.mark.parametrize("winner, own", [
    ("ridge", ["decision_function", "predict"]),
    ("knn_5", ["predict", "predict_proba"]),
    ("logreg", ["predict_proba", "predict_log_proba", "decision_function"]),
])
def test_methods_delegate_to_the_best_pipeline(rigged_model, winner, own):
    X, y = iris()
    methods = ["predict", "predict_proba", "predict_log_proba", "decision_function"]
    est = LLMAlgorithmSelector(model=rigged_model(f"first_{winner}", ranking=[winner]),
                               top_k=1, cv=3)
    assert all(hasattr(est, m) for m in methods)  # unfitted: any pipeline may win
    for method in methods:
        with pytest.raises(NotFittedError):
            getattr(est, method)(X)
    est.fit(X, y)
    assert est.best_pipeline_ == winner
    assert all(hasattr(est, m) for m in methods)  # fitted: the same methods, whoever won
    for method in own:
        np.testing.assert_allclose(getattr(est, method)(X[:5]),
                                   getattr(est.best_estimator_, method)(X[:5]))
    if "decision_function" not in own:  # the logits of the probabilities: same ranking
        proba, values = est.predict_proba(X), est.decision_function(X)
        assert values.shape == proba.shape
        np.testing.assert_allclose(values - values.mean(axis=1, keepdims=True),
                                   np.log(np.clip(proba, 1e-15, 1))
                                   - np.log(np.clip(proba, 1e-15, 1)).mean(axis=1, keepdims=True))
        assert (np.argmax(values, axis=1) == np.argmax(proba, axis=1)).all()


def test_binary_decision_values_are_the_log_odds_when_the_winner_has_none(rigged_model):
    X, y = load_breast_cancer(return_X_y=True)
    est = LLMAlgorithmSelector(model=rigged_model("first_knn_5", ranking=["knn_5"]),
                               top_k=1, cv=3, ensemble=False).fit(X, y)
    assert not hasattr(est.best_estimator_, "decision_function")
    proba, values = est.predict_proba(X), est.decision_function(X)
    assert values.shape == (len(y),) and np.isfinite(values).all()  # 0/1 probabilities clip
    inside = (proba[:, 1] > 0) & (proba[:, 1] < 1)
    np.testing.assert_allclose(values[inside], np.log(proba[inside, 1] / proba[inside, 0]))
    assert ((values > 0) == (est.predict(X) == est.classes_[1])).all()


# ------------------------------------------------------------------------------ probabilities


@pytest.mark.parametrize("winner, data", [
    ("ridge", load_iris), ("linear_svc", load_wine), ("svc_rbf", load_breast_cancer),
])
def test_a_winner_without_probabilities_is_calibrated(rigged_model, winner, data):
    X, y = data(return_X_y=True)
    est = LLMAlgorithmSelector(model=rigged_model(f"first_{winner}", ranking=[winner]),
                               top_k=1, cv=3, random_state=0).fit(X, y)
    assert est.best_pipeline_ == winner
    assert not hasattr(est.best_estimator_, "predict_proba")
    proba = est.predict_proba(X)
    assert proba.shape == (len(y), len(est.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(est.classes_[proba.argmax(axis=1)], est.predict(X))
    np.testing.assert_allclose(est.predict_log_proba(X), np.log(proba), atol=1e-9)
    # Calibrated: better log loss than the raw decision values' softmax (temperature 1)
    # for these data, where the raw values are too timid or too bold.
    raw = selector.decision_columns(est.best_estimator_, est._check_X_predict(X))
    assert est.calibration_.temperature_ != pytest.approx(1.0, rel=0.05)
    assert log_loss(y, proba) < log_loss(y, softmax(raw, axis=1))


def test_calibration_is_fitted_on_out_of_fold_decision_values(rigged_model, monkeypatch):
    """No extra fit: the winner is fitted once per fold and once on all rows."""
    X, y = iris()
    fits = []
    original = candidates.fit_pipeline
    monkeypatch.setattr(candidates, "fit_pipeline",
                        lambda pipeline, *args: fits.append(1) or original(pipeline, *args))
    est = LLMAlgorithmSelector(model=rigged_model("first_ridge", ranking=["ridge"]),
                               top_k=1, cv=3).fit(X, y)
    assert len(fits) == 3 + 1
    assert est.calibration_ is not None


def test_temperature_scaling_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    decision = rng.normal(scale=3.0, size=(20_000, 3))
    true = softmax(decision / 2.0, axis=1)  # the labels follow temperature 2
    labels = np.array([rng.choice(3, p=p) for p in true])
    scaling = TemperatureScaling(np.arange(3)).fit(decision, labels)
    assert scaling.temperature_ == pytest.approx(2.0, rel=0.05)
    np.testing.assert_allclose(scaling.predict_proba(decision).sum(axis=1), 1.0)


def test_knn_winner_has_log_probabilities_too(rigged_model):
    X, y = iris()
    est = LLMAlgorithmSelector(model=rigged_model("first_knn_5", ranking=["knn_5"]),
                               top_k=1, cv=3).fit(X, y)
    assert est.calibration_ is None
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(est.predict_log_proba(X), np.log(est.predict_proba(X)))


def test_scoring_on_probabilities_passes_over_pipelines_without_them(rigged_model):
    X, y = load_breast_cancer(return_X_y=True)
    model = rigged_model("svc_then_logreg", ranking=["svc_rbf", "ridge", "logreg"])
    est = LLMAlgorithmSelector(model=model, top_k=1, cv=3, scoring="neg_log_loss").fit(X, y)
    assert list(est.cv_results_["pipeline"]) == ["logreg"]
    ranking = est.recommendations_["pipeline"].tolist()
    assert set(ranking[-3:]) == {"svc_rbf", "ridge", "linear_svc"}
    assert any("svc_rbf ranked last" in note and "predict_proba" in note
               for note in est.notes_)


# ------------------------------------------------------------------------------ contracts


class RecordingGroupKFold(GroupKFold):
    """A GroupKFold that remembers the groups it was given."""

    def split(self, X, y=None, groups=None):
        self.seen_groups = groups
        return super().split(X, y, groups)


def test_groups_reach_a_group_splitter(rigged_model):
    X, y = iris()
    groups = np.arange(len(y)) % 10
    cv = RecordingGroupKFold(n_splits=3)
    est = LLMAlgorithmSelector(model=rigged_model("first_logreg", ranking=["logreg"]),
                               top_k=1, cv=cv).fit(X, y, groups=groups)
    np.testing.assert_array_equal(est.cv_results_["status"], ["ok"])
    np.testing.assert_array_equal(cv.seen_groups, groups)
    with pytest.raises(ValueError, match=r"splits by groups.*fit\(X, y, groups=\.\.\.\)"):
        LLMAlgorithmSelector(model=rigged_model("first_logreg", ranking=["logreg"]),
                             top_k=1, cv=GroupKFold(3)).fit(X, y)


def _weighted_case():
    X, y = iris()
    weights = np.where(y == 2, 10.0, 1.0)
    weights[::7] = 0.0
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    return X, y, weights, folds


@pytest.mark.parametrize("routing", [False, True])
def test_sample_weight_reaches_the_pipeline_and_the_scorer(rigged_model, routing):
    X, y, weights, folds = _weighted_case()
    model = rigged_model("first_logreg", ranking=["logreg"])
    est = LLMAlgorithmSelector(model=model, top_k=1, cv=folds)
    with config_context(enable_metadata_routing=routing):
        est.fit(X, y, sample_weight=weights)
    template = est.recommendations_["estimator"].iloc[0]
    fitted = clone(template).fit(X, y, model__sample_weight=weights)
    np.testing.assert_allclose(est.best_estimator_.predict_proba(X), fitted.predict_proba(X))
    unweighted = clone(template).fit(X, y)
    assert not np.allclose(unweighted.predict_proba(X), fitted.predict_proba(X))
    for i, (train, test) in enumerate(folds):
        fold = clone(template).fit(X[train], y[train],
                                   model__sample_weight=weights[train])
        expected = balanced_accuracy_score(y[test], fold.predict(X[test]),
                                           sample_weight=weights[test])
        assert est.cv_results_[f"split{i}_test_score"][0] == pytest.approx(expected)


def test_pipelines_without_sample_weight_are_not_candidates_of_a_weighted_fit(rigged_model):
    X, y, weights, _ = _weighted_case()
    model = rigged_model("knn_then_logreg", ranking=["knn_5", "lda", "logreg"])
    est = LLMAlgorithmSelector(model=model, top_k=1, cv=3).fit(X, y, sample_weight=weights)
    assert list(est.cv_results_["pipeline"]) == ["logreg"]
    assert any("knn_5 ranked last" in note and "sample_weight" in note for note in est.notes_)
    unweighted = LLMAlgorithmSelector(model=model, top_k=1, cv=3).fit(X, y)
    assert unweighted.best_pipeline_ == "knn_5"
    with pytest.raises(TypeError, match=r"unexpected parameter\(s\) \['weights'\]"):
        est.fit(X, y, weights=weights)


def test_metadata_routing_requests_groups_and_sample_weight(rigged_model):
    X, y, weights, _ = _weighted_case()
    groups = np.arange(len(y)) % 10
    est = LLMAlgorithmSelector(model=rigged_model("first_logreg", ranking=["logreg"]),
                               top_k=1, cv=GroupKFold(3))
    with config_context(enable_metadata_routing=True):
        est.set_fit_request(sample_weight=True, groups=True).set_score_request(
            sample_weight=True)
        scores = cross_val_score(est, X, y, cv=2, params={"sample_weight": weights,
                                                          "groups": groups})
    assert np.isfinite(scores).all()


@pytest.mark.parametrize("scoring, metric", [
    ("balanced_accuracy", lambda est, X, y: balanced_accuracy_score(y, est.predict(X))),
    ("neg_log_loss", lambda est, X, y: -log_loss(y, est.predict_proba(X))),
    (None, lambda est, X, y: np.mean(est.predict(X) == y)),
])
def test_score_uses_scoring(rigged_model, scoring, metric):
    X, y = load_wine(return_X_y=True)
    est = LLMAlgorithmSelector(model=rigged_model("first_ridge_lr", ranking=["ridge", "logreg"]),
                               top_k=1, cv=3, scoring=scoring).fit(X, y)
    assert est.score(X, y) == pytest.approx(metric(est, X, y))


def test_a_regression_target_is_refused():
    X, y = load_diabetes(return_X_y=True)
    with pytest.raises(ValueError, match=r"regression target.*214 distinct values in 442"):
        LLMAlgorithmSelector().fit(X, y)
    # Few distinct float values are class labels.
    y = iris()[1].astype(float)
    np.testing.assert_array_equal(check_y(y, len(y), "LLMAlgorithmSelector"), y)


def test_frame_fitted_selector_predicts_on_arrays_and_checks_names(tiny_model):
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    est = LLMAlgorithmSelector(model=tiny_model, top_k=1, cv=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(est.feature_names_in_, X.columns)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        from_array = est.predict(X.to_numpy()[:20])
    np.testing.assert_array_equal(from_array, est.predict(X.iloc[:20]))
    with pytest.raises(ValueError, match="feature names should match"):
        est.predict(X.iloc[:5, ::-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "X does not have valid feature names"
        with pytest.raises(ValueError, match="X has 29 features, but LLMAlgorithmSelector is "
                                             "expecting 30 features"):
            est.predict(X.to_numpy()[:5, 1:])


# ------------------------------------------------------------------------------ time budget


@pytest.fixture
def fake_clock(monkeypatch):
    """Every reading of the selector's clock is one second later than the last."""
    ticks = iter(range(10**6))
    monkeypatch.setattr(selector, "_clock", lambda: float(next(ticks)))


def test_time_budget_skips_candidates_predicted_too_slow(rigged_model):
    X, y = iris()
    model = rigged_model("slow_first", ranking=["random_forest", "gaussian_nb", "lda", "knn_5"],
                         fit_times={"random_forest": 1e6})
    est = LLMAlgorithmSelector(model=model, top_k=2, cv=3, time_budget=300, tune=False)
    with pytest.warns(UserWarning, match=r"skipped 1 .*random_forest \(predicted"):
        est.fit(X, y)
    assert list(est.skipped_) == ["random_forest"]
    assert "time_budget" in est.skipped_["random_forest"]
    # The rest of the top-2 set first, then the anytime plan goes down the ranking.
    tried = list(est.cv_results_["pipeline"])
    assert tried[0] == "gaussian_nb" and len(tried) > 1 and "random_forest" not in tried


def test_time_budget_always_tries_one_candidate(rigged_model):
    X, y = iris()
    slow = {name: 1e6 for name in PIPELINE_NAMES} | {"lda": 1e5}
    model = rigged_model("all_slow", ranking=["random_forest"], fit_times=slow)
    est = LLMAlgorithmSelector(model=model, top_k=3, cv=3, time_budget=1.0, tune=False)
    with pytest.warns(UserWarning, match="cheapest candidate was tried although over budget"):
        est.fit(X, y)
    assert list(est.cv_results_["pipeline"]) == ["lda"]  # the cheapest
    # The top-3 set, each over budget (the rest were never planned).
    assert list(est.skipped_) == list(est.recommendations_["pipeline"][:3])


def test_time_budget_stops_the_search_when_spent(rigged_model, fake_clock):
    X, y = iris()
    model = rigged_model("fast", ranking=["gaussian_nb", "lda", "knn_5"], fit_times={})
    # The clock reads 0 at fit's start, 1 when the ranking is done, 2 as the search starts;
    # then 3 before the first candidate, 4 and 5 after its first two folds (the last one
    # needs no reading), 6, 7 and 8 for the second, and 9 before the third: past 2 + 6.5
    # less the refit's reserve.
    est = LLMAlgorithmSelector(model=model, top_k=3, cv=3, time_budget=6.5, tune=False)
    with pytest.warns(UserWarning, match=r"knn_5 \(time_budget=6.5 s was spent before it"):
        est.fit(X, y)
    assert list(est.cv_results_["pipeline"]) == ["gaussian_nb", "lda"]
    assert list(est.skipped_)[0] == "knn_5"
    assert est.ranking_time_ == 1.0


# ------------------------------------------------------------------------------ bad input


def _frame_with_inf():
    X, y = make_mixed_frame()
    X.loc[3, "noise"] = -np.inf
    return X, y


@pytest.mark.parametrize("make, error, match", [
    (lambda: (np.empty((0, 3)), np.array([])), ValueError, r"0 sample\(s\)"),
    (lambda: (pd.DataFrame(index=range(5)), np.arange(5) % 2), ValueError,
     r"0 feature\(s\).*no columns"),
    (lambda: (pd.DataFrame({"a": []}), []), ValueError, r"0 sample\(s\).*no rows"),
    (lambda: (np.ones((6, 2)), ["a"] * 6), ValueError, r"y has 1 class \('a'\).*at least 2"),
    (lambda: (np.ones((4, 2)), [0, 1, np.nan, 1]), ValueError,
     r"y has 1 missing label.*Drop those rows"),
    (lambda: (np.ones((4, 2)), pd.Series(["a", None, "b", "a"])), ValueError,
     "missing label"),
    (lambda: (np.array([[1.0, np.inf], [2.0, 1.0], [0.0, 1.0]]), [0, 1, 0]), ValueError,
     r"infinite values .* column\(s\): 1\. .*np\.nan"),
    (_frame_with_inf, ValueError, r"infinite values .*'noise'"),
    (lambda: (np.ones((5, 2)), [0, 1, 0, 1]), ValueError,
     r"5 rows in X but 4 labels in y.*one class label per row"),
    (lambda: (np.ones((5, 2)), None), ValueError, "requires y to be passed"),
    (lambda: (np.ones((4, 2)), [0.5, 1.5, 2.5, 0.1]), ValueError, "Unknown label type"),
    (lambda: (np.ones(5), [0, 1, 0, 1, 0]), ValueError, "Expected 2D array"),
])
@pytest.mark.parametrize("method", ["fit", "recommend"])
def test_bad_data_is_refused_with_a_clear_message(tiny_model, make, error, match, method):
    X, y = make()
    est = LLMAlgorithmSelector(model=tiny_model)
    with pytest.raises(error, match=match):
        getattr(est, method)(X, y)


def test_infinite_values_are_refused_at_predict_too(tiny_model):
    X, y = iris()
    est = LLMAlgorithmSelector(model=tiny_model, top_k=1, cv=3).fit(X, y)
    X_bad = X[:3].copy()
    X_bad[1, 2] = np.inf
    with pytest.raises(ValueError, match=r"infinite values .* column\(s\): 2"):
        est.predict(X_bad)


@pytest.mark.parametrize("params, match", [
    ({"top_k": 0}, "'top_k' parameter"),
    ({"cv": 1}, "'cv' parameter"),
    ({"scoring": "no_such_metric"}, "'scoring' parameter"),
    ({"time_budget": -1}, "'time_budget' parameter"),
])
def test_bad_parameters_are_refused_in_fit(tiny_model, params, match):
    X, y = iris()
    with pytest.raises(ValueError, match=match):
        LLMAlgorithmSelector(model=tiny_model, **params).fit(X, y)


def test_missing_model_path_is_a_clear_error(tmp_path):
    X, y = iris()
    with pytest.raises(FileNotFoundError, match="No model folder at .*Pass 'bundled'"):
        LLMAlgorithmSelector(model=str(tmp_path / "nowhere")).recommend(X, y)
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        LLMAlgorithmSelector(model=str(tmp_path)).recommend(X, y)


@pytest.mark.parametrize("damage, match", [
    (lambda folder: (folder / "model.safetensors").write_bytes(b"not a safetensors file"),
     r"model\.safetensors is damaged or not a safetensors file"),
    (lambda folder: (folder / "model.safetensors").write_bytes(
        (folder / "model.safetensors").read_bytes()[:200]), r"model\.safetensors is damaged"),
    (lambda folder: (folder / "config.json").write_text("{not json"),
     r"config\.json is not valid JSON"),
])
def test_corrupted_model_files_are_clear_errors(tiny_model, tmp_path, damage, match):
    folder = tmp_path / "damaged"
    shutil.copytree(tiny_model, folder)
    damage(folder)
    X, y = iris()
    with pytest.raises(ValueError, match=match) as info:
        LLMAlgorithmSelector(model=str(folder)).recommend(X, y)
    assert str(folder) in str(info.value)


# ------------------------------------------------------------------------------ sklearn tools


def test_works_in_pipeline_cross_val_score_and_grid_search(tiny_model):
    X, y = iris()
    est = LLMAlgorithmSelector(model=tiny_model, top_k=1, cv=3, random_state=0)
    pipe = make_pipeline(FunctionTransformer(), est).fit(X, y)
    assert pipe.score(X, y) > 0.8

    scores = cross_val_score(clone(est), X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.8

    search = GridSearchCV(clone(est), {"top_k": [1, 2]}, cv=2).fit(X, y)
    assert search.best_params_["top_k"] in (1, 2)
    assert len(search.best_estimator_.cv_results_["pipeline"]) == search.best_params_["top_k"]


def test_clone_pickle_and_joblib_round_trips(tiny_model, tmp_path):
    X, y = make_mixed_frame()
    est = LLMAlgorithmSelector(model=tiny_model, top_k=1, cv=3, random_state=0)
    cloned = clone(est)
    assert cloned.get_params() == est.get_params() and not hasattr(cloned, "classes_")
    est.fit(X, y)
    expected = est.predict(X)

    data = pickle.dumps(est)
    assert b"SelectorTransformer" not in data  # the network is never part of the estimator
    np.testing.assert_array_equal(pickle.loads(data).predict(X), expected)

    joblib.dump(est, tmp_path / "selector.joblib")
    restored = joblib.load(tmp_path / "selector.joblib")
    np.testing.assert_array_equal(restored.predict(X), expected)
    assert restored.best_pipeline_ == est.best_pipeline_
    pd.testing.assert_series_equal(restored.meta_features_, est.meta_features_)
    # A restored selector can still recommend (it loads the network again when needed).
    assert len(restored.recommend(X, y)) == len(PIPELINE_NAMES)


def test_predicted_times_and_uncertainty_are_reported_in_natural_units(rigged_model):
    model = rigged_model("timed", ranking=["lda"], fit_times={"lda": 2.5},
                         uncertainty={"lda": 0.03})
    table = LLMAlgorithmSelector(model=model).recommend(*iris())
    assert table.loc[1, "pipeline"] == "lda"
    assert table.loc[1, "predicted_fit_time"] == pytest.approx(2.5, rel=1e-5)
    assert table.loc[1, "uncertainty"] == pytest.approx(0.03, rel=1e-5)
    assert table.loc[2, "predicted_fit_time"] == pytest.approx(0.01, rel=1e-5)
