"""The anytime plan of fit under a time budget (skllmselect.search)."""

import numpy as np
import pytest
from sklearn.datasets import load_iris

from skllmselect import LLMAlgorithmSelector, candidates, selector
from skllmselect.portfolio import PIPELINE_NAMES
from skllmselect.search import MIN_GAIN, plan_search, predicted_costs

SCORES = np.array([0.90, 0.89, 0.88, 0.80, 0.70])


def test_without_a_budget_the_plan_is_the_top_k_set():
    plan = plan_search(SCORES, np.ones(5), n_eligible=5, top_k=3, budget=None)
    assert plan.positions == [0, 1, 2] and plan.skipped == {}
    assert plan_search(SCORES, np.ones(5), n_eligible=2, top_k=3, budget=None).positions == [0, 1]


def test_a_set_member_over_budget_is_skipped_and_the_rest_follow_by_gain_per_second():
    costs = np.array([1.0, 50.0, 1.0, 1.0, 1.0])
    uncertainty = np.full(5, 0.05)
    plan = plan_search(SCORES, costs, n_eligible=5, top_k=3, budget=10, uncertainty=uncertainty)
    assert plan.positions[:2] == [0, 2]
    assert list(plan.skipped) == [1] and "predicted 50 s > 9 s left" in plan.skipped[1]
    assert set(plan.positions[2:]) <= {3, 4}


def test_the_plan_stays_within_the_budget_and_never_plans_the_ineligible():
    rng = np.random.default_rng(0)
    for _ in range(50):
        scores, costs = rng.uniform(0.5, 1, 12), rng.uniform(0.1, 5, 12)
        budget = rng.uniform(1, 20)
        plan = plan_search(scores, costs, n_eligible=9, top_k=3, budget=budget,
                           residuals=rng.normal(0, 0.05, size=(40, 12)))
        assert costs[plan.positions].sum() <= budget + 1e-9
        assert max(plan.positions, default=0) < 9
        assert len(set(plan.positions)) == len(plan.positions)


def test_gain_per_second_prefers_a_cheap_complement_to_a_slow_near_copy():
    # Row 3 errs with row 0 (a near-copy), row 4 against it; row 4 is also cheaper.
    scores = np.array([0.9, 0.5, 0.5, 0.89, 0.85])
    residuals = np.array([[-0.1, 0, 0, -0.1, 0.05], [0.05, 0, 0, 0.05, -0.1]] * 5)
    costs = np.array([1.0, 1.0, 1.0, 2.0, 1.0])
    plan = plan_search(scores, costs, n_eligible=5, top_k=1, budget=3, residuals=residuals)
    assert plan.positions[:2] == [0, 4]


def test_the_plan_stops_when_no_candidate_can_matter():
    scores = np.array([0.9, 0.2, 0.1])  # far below the best, and certain of it
    plan = plan_search(scores, np.ones(3), n_eligible=3, top_k=1, budget=100,
                       uncertainty=np.full(3, 0.01))
    assert plan.positions == [0]
    assert MIN_GAIN > 0


def test_predicted_costs_scale_with_rows_and_folds():
    # The corpus protocol: 5 folds (4 fits' worth of rows) on up to 2,000 rows.
    assert predicted_costs([4.0], 1000, 5)[0] == pytest.approx(5.0)
    assert predicted_costs([4.0], 4000, 5)[0] == pytest.approx(10.0)
    assert predicted_costs([4.0], 1000, 3)[0] == pytest.approx(3.0)


def test_a_slow_ranking_does_not_change_the_candidates(monkeypatch, rigged_model):
    """The budget starts after the load and the meta-features: fresh and warm plan alike."""
    X, y = load_iris(return_X_y=True)
    cheap = {"gaussian_nb": 0.05, "lda": 0.05, "knn_5": 0.05}  # the rest do not fit the budget
    model = rigged_model("anytime", ranking=list(cheap),
                           fit_times={name: 100.0 for name in PIPELINE_NAMES} | cheap)
    tried = []
    for load_seconds in (0.0, 1000.0):  # a warm process, then a very cold one
        readings = iter([0.0, load_seconds] + [load_seconds + 1e-3 * i for i in range(1, 10**5)])
        monkeypatch.setattr(selector, "_clock", lambda readings=readings: next(readings))
        # a budget far above the cheap ones' real fold times, far below the rest's 75 s
        est = LLMAlgorithmSelector(model=model, top_k=2, cv=3, time_budget=40, tune=False,
                                   random_state=0).fit(X, y)
        assert est.ranking_time_ == load_seconds
        tried.append(list(est.cv_results_["pipeline"]))
    assert tried[0] == tried[1] and tried[0][:2] == ["gaussian_nb", "lda"]
    assert tried[0] == list(cheap)  # the budget let the plan go beyond the top-2 set


def test_a_candidate_running_past_the_budget_is_abandoned_at_its_next_fold(monkeypatch,
                                                                          rigged_model):
    X, y = load_iris(return_X_y=True)
    model = rigged_model("abandon", ranking=["gaussian_nb", "lda", "knn_5"],
                           fit_times={name: 0.01 for name in PIPELINE_NAMES})
    # Readings: fit's start, ranking done, search start; then every reading is 10 s on:
    # the first candidate reads 10 before it starts and 20, 30 after its first two folds;
    # the second reads 40 before it starts and 50 after its first fold, past the budget.
    readings = iter([0.0, 0.0, 0.0] + [10.0 * i for i in range(1, 10**5)])
    monkeypatch.setattr(selector, "_clock", lambda: next(readings))
    est = LLMAlgorithmSelector(model=model, top_k=3, cv=3, time_budget=45, tune=False,
                               random_state=0)
    with pytest.warns(UserWarning, match="ran out during its cross-validation"):
        est.fit(X, y)
    assert list(est.cv_results_["pipeline"]) == ["gaussian_nb"]
    assert "ran out during its cross-validation" in est.skipped_["lda"]
    assert "was spent before it" in est.skipped_["knn_5"]


def test_a_first_candidate_past_the_budget_gives_way_to_the_cheapest(monkeypatch,
                                                                     rigged_model):
    """No candidate completed in time: the cheapest one not abandoned runs, over budget."""
    X, y = load_iris(return_X_y=True)
    model = rigged_model("abandon_first", ranking=["knn_5", "lda", "gaussian_nb"],
                           fit_times={name: 1.0 for name in PIPELINE_NAMES}
                           | {"gaussian_nb": 0.01, "knn_5": 0.001})
    # The first candidate (predicted the cheapest) reads 10 before it starts and 20 after
    # its first fold: past the 15 s budget, so it is abandoned, and the budget is spent.
    readings = iter([0.0, 0.0, 0.0] + [10.0 * i for i in range(1, 10**5)])
    monkeypatch.setattr(selector, "_clock", lambda: next(readings))
    est = LLMAlgorithmSelector(model=model, top_k=3, cv=3, time_budget=15, tune=False,
                               random_state=0)
    with pytest.warns(UserWarning, match="cheapest candidate was tried although over budget"):
        est.fit(X, y)
    assert list(est.cv_results_["pipeline"]) == ["gaussian_nb"]  # not knn_5 again
    assert "ran out during its cross-validation" in est.skipped_["knn_5"]
    assert "was spent before it" in est.skipped_["lda"]


def test_the_first_candidate_keeps_time_for_its_own_refit(monkeypatch, rigged_model):
    """Its folds alone would fit the budget, its refit after them would not."""
    X, y = load_iris(return_X_y=True)
    model = rigged_model("own_refit", ranking=["gaussian_nb", "lda"],
                           fit_times={name: 1e6 for name in PIPELINE_NAMES}
                           | {"gaussian_nb": 0.01, "lda": 0.01})  # the plan: these two
    # The clock never moves; every fold "takes" 4 s, so after one fold the next and a
    # refit (4 s scaled to all rows: 6 s) would end at 10 s.
    monkeypatch.setattr(selector, "_clock", lambda: 0.0)
    fold_fit = 4.0

    def slow(*args, **kwargs):
        fold = original(*args, **kwargs)
        return fold | {"fit_time": fold_fit}

    original = candidates._fit_and_score
    monkeypatch.setattr(candidates, "_fit_and_score", slow)
    est = LLMAlgorithmSelector(model=model, top_k=2, cv=3, time_budget=9, tune=False,
                               random_state=0)
    with pytest.warns(UserWarning, match="cheapest candidate was tried although over budget"):
        est.fit(X, y)
    # Both are abandoned after their first fold; then one is cross-validated over budget,
    # since fit must return a model.
    assert "ran out" in est.skipped_["gaussian_nb"] and "ran out" in est.skipped_["lda"]
    assert len(est.cv_results_["pipeline"]) == 1
    est = LLMAlgorithmSelector(model=model, top_k=2, cv=3, time_budget=11, tune=False,
                               random_state=0)
    est.fit(X, y)
    assert list(est.cv_results_["pipeline"]) == ["gaussian_nb", "lda"]
