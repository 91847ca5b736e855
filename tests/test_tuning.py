"""Tuning the best candidates with the rest of the time budget (skllmselect.tuning)."""

import numpy as np
import pytest
from sklearn.datasets import load_iris

from skllmselect import LLMAlgorithmSelector, selector, tuning
from skllmselect.portfolio import PIPELINE_NAMES, make_pipeline_by_name


@pytest.mark.parametrize("name", sorted(tuning.SPACES))
def test_every_space_sets_its_pipelines_model_and_the_variants_fit(name):
    assert name in PIPELINE_NAMES
    X, y = load_iris(return_X_y=True)
    X, y = X[::2], y[::2]  # 75 rows, as a fold of a small table
    for variant, params, pipeline in list(tuning.variants(
            name, make_pipeline_by_name(name), len(y), seed=0))[:3]:
        assert variant.startswith(name + "#")
        assert {k: pipeline.get_params()[f"model__{k}"] for k in params} == params
        assert pipeline.fit(X, y).predict(X).shape == y.shape


def test_variants_are_a_fixed_sequence_of_the_seed_and_the_name():
    def drawn(name, seed):
        return [params for _, params, _ in tuning.variants(
            name, make_pipeline_by_name(name), 500, seed)]

    first = drawn("hist_gradient_boosting", 0)
    assert len(first) == tuning.MAX_VARIANTS
    assert first == drawn("hist_gradient_boosting", 0)
    assert first != drawn("hist_gradient_boosting", 1)
    assert drawn("random_forest", 0) != drawn("extra_trees", 0)  # same space, own stream


def _record(name, score, fit_time=0.1):
    return {"pipeline": name, "status": "ok", "test_score": np.full(3, score),
            "fit_time": np.full(3, fit_time), "recommendation_rank": 1,
            "predicted_score": 0.9, "estimator": make_pipeline_by_name(name)}


class FakeSearch:
    """A clock and a cross-validation whose seconds per variant depend on its base."""

    def __init__(self, seconds, fail=(), abandon_after=None):
        self.now, self.seconds, self.fail, self.calls = 0.0, seconds, fail, []
        self.abandon_after = abandon_after

    def clock(self):
        return self.now

    def cross_validate(self, record, pipeline, deadline):
        self.calls.append((record["pipeline"], deadline))
        if self.abandon_after is not None and len(self.calls) > self.abandon_after:
            return None
        self.now += self.seconds[record["base"]]
        if record["pipeline"] in self.fail:
            return record | {"status": "failed", "error": "ValueError: no"}
        return _record(record["base"], 0.5) | {k: record[k] for k in ("pipeline", "params")}


def test_tuning_shares_the_time_between_the_two_best_and_stops_before_the_refits():
    tried = [_record("svc_rbf", 0.90), _record("mlp", 0.85), _record("lda", 0.95),
             _record("qda", 0.10, fit_time=30.0)]  # lda best; qda's refit is not kept back
    fake = FakeSearch({"lda": 1.0, "svc_rbf": 4.0})
    n_run = tuning.tune(tried, 100, fake.cross_validate, end=40.0, n_splits=3, seed=0,
                        clock=fake.clock)
    variants = [r["pipeline"] for r in tried[4:]]
    assert n_run == len(variants) > 0
    bases = [name.split("#")[0] for name in variants]
    assert set(bases) == {"lda", "svc_rbf"}  # the two best that have a space, not mlp
    assert bases.count("lda") >= 3 * bases.count("svc_rbf")  # a quarter of the cost each
    reserve = 3 * 0.1 * 3 / 2  # the three best candidates' refits, fold fits scaled to all rows
    assert all(deadline == pytest.approx(40.0 - reserve) for _, deadline in fake.calls)
    assert fake.now >= 40.0 - reserve - 4.0  # nothing started past the deadline
    assert all(r["params"] for r in tried[4:])


def test_failed_variants_are_dropped_and_an_abandoned_one_ends_the_tuning():
    tried = [_record("lda", 0.9)]
    fake = FakeSearch({"lda": 1.0}, fail={"lda#2"}, abandon_after=4)
    n_run = tuning.tune(tried, 100, fake.cross_validate, end=100.0, n_splits=3, seed=0,
                        clock=fake.clock)
    assert n_run == 5  # four ran, the fifth was abandoned
    assert [r["pipeline"] for r in tried[1:]] == ["lda#1", "lda#3", "lda#4"]


def test_no_tunable_candidate_tunes_nothing():
    fake = FakeSearch({})
    tried = [_record("lda", 0.9) | {"pipeline": "not_in_any_space"}]
    assert tuning.tune(tried, 100, fake.cross_validate, end=100.0, n_splits=3, seed=0,
                       clock=fake.clock) == 0


def test_fit_under_a_budget_tunes_its_best_candidates(monkeypatch, rigged_model):
    X, y = load_iris(return_X_y=True)
    model = rigged_model("tuned", ranking=["lda", "knn_5"],
                         fit_times={name: 1e6 for name in PIPELINE_NAMES}
                         | {"lda": 0.01, "knn_5": 0.01})  # the plan: these two
    ticks = iter(range(10**6))
    monkeypatch.setattr(selector, "_clock", lambda: 0.01 * next(ticks))  # 10 ms a reading
    fits = {}
    for tune in (False, True):
        fits[tune] = LLMAlgorithmSelector(model=model, top_k=2, cv=3, time_budget=5,
                                          tune=tune, random_state=0).fit(X, y)
    assert list(fits[False].cv_results_["pipeline"]) == ["lda", "knn_5"]
    tuned = fits[True].cv_results_
    variants = [name for name in tuned["pipeline"] if "#" in name]
    assert list(tuned["pipeline"][:2]) == ["lda", "knn_5"] and variants
    assert {name.split("#")[0] for name in variants} == {"lda", "knn_5"}
    params = tuned["params"][2]
    assert params["pipeline"] in {"lda", "knn_5"} and len(params) > 1
    assert fits[True].best_pipeline_ in list(tuned["pipeline"])
    assert fits[True].predict_proba(X).shape == (len(y), 3)
    # without a budget there is nothing to fill
    plain = LLMAlgorithmSelector(model=model, top_k=2, cv=3, random_state=0).fit(X, y)
    assert list(plain.cv_results_["pipeline"]) == ["lda", "knn_5"]
