"""Greedy ensemble selection (skllmselect.ensemble) and the fitted selector's ensemble."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_wine, make_classification
from sklearn.metrics import accuracy_score, balanced_accuracy_score, get_scorer, log_loss

from skllmselect import LLMAlgorithmSelector
from skllmselect.ensemble import EnsembleClassifier, fold_scorer, member_proba, select

# ------------------------------------------------------------------------ scoring


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name, metric", [("balanced_accuracy", balanced_accuracy_score),
                                          ("accuracy", accuracy_score)])
def test_fast_metrics_equal_scikit_learns(seed, weighted, name, metric):
    rng = np.random.default_rng(seed)
    classes = np.array(["a", "b", "c", "d"])
    y = classes[rng.integers(0, 3, size=40)]  # "d" never true: sklearn ignores it
    proba = rng.dirichlet(np.ones(4), size=40)
    weight = rng.uniform(0, 2, size=40) if weighted else None
    score = fold_scorer(name, get_scorer(name), classes, [(None, y, weight)])
    predicted = classes[np.argmax(proba, axis=1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "y_pred contains classes not in y_true"
        expected = metric(y, predicted, sample_weight=weight)
    assert score(0, proba) == pytest.approx(expected, abs=1e-12)


def test_other_scorers_read_the_averaged_probabilities():
    rng = np.random.default_rng(0)
    classes = np.array([0, 1, 2])
    y = rng.integers(0, 3, size=30)
    proba = rng.dirichlet(np.ones(3), size=30)
    X = np.zeros((30, 2))  # the stand-in estimator never reads X
    score = fold_scorer("neg_log_loss", get_scorer("neg_log_loss"), classes, [(X, y, None)])
    assert score(0, proba) == pytest.approx(-log_loss(y, proba, labels=classes))


# ------------------------------------------------------------------------ selection


def _onehot(labels, n_classes=2, sharp=0.9):
    proba = np.full((len(labels), n_classes), (1 - sharp) / (n_classes - 1))
    proba[np.arange(len(labels)), labels] = sharp
    return proba


def test_selection_starts_from_the_best_single_candidate_and_never_gets_worse():
    y = np.array([0, 1] * 10)
    classes = np.array([0, 1])
    rng = np.random.default_rng(1)
    # Three candidates, right on 60 %, 70 % and 65 % of the rows, at random.
    candidates = [_onehot(np.where(rng.random(20) < p, y, 1 - y)) for p in (0.6, 0.7, 0.65)]
    score = fold_scorer("accuracy", None, classes, [(None, y, None)])
    singles = [score(0, c) for c in candidates]
    counts, best = select([[c] for c in candidates], score)
    assert counts.sum() >= 1
    assert best >= max(singles)
    counts1, best1 = select([[c] for c in candidates], score, rounds=1)
    assert counts1.tolist() == np.eye(3, dtype=int)[int(np.argmax(singles))].tolist()
    assert best1 == max(singles)


def test_selection_combines_complementary_candidates():
    # Each candidate is sure and right on its half of the rows and unsure (55/45, wrong)
    # on the other: alone each is right half the time, together always.
    y = np.array([0, 1] * 10)
    first, second = np.arange(20) < 10, np.arange(20) >= 10
    a = np.where(first[:, None], _onehot(y, sharp=0.95), _onehot(1 - y, sharp=0.55))
    b = np.where(second[:, None], _onehot(y, sharp=0.95), _onehot(1 - y, sharp=0.55))
    score = fold_scorer("accuracy", None, np.array([0, 1]), [(None, y, None)])
    counts, best = select([[a], [b]], score)
    assert counts.tolist() == [1, 1] and best == 1.0


def test_selection_averages_over_folds_and_prefers_the_earlier_of_equals():
    y = np.array([0, 1, 0, 1])
    same = _onehot(y)
    score = fold_scorer("accuracy", None, np.array([0, 1]), [(None, y, None)] * 2)
    counts, best = select([[same, same], [same, same]], score)
    assert counts.tolist() == [1, 0] and best == 1.0


def test_ensemble_averages_members_and_fills_classes_a_member_never_saw():
    class Member:
        def __init__(self, classes, proba):
            self.classes_, self._proba = np.array(classes), np.array(proba)

        def predict_proba(self, X):
            return np.repeat(self._proba[None, :], len(X), axis=0)

    ab = Member(["a", "b"], [0.2, 0.8])
    abc = Member(["a", "b", "c"], [0.5, 0.1, 0.4])
    classes = np.array(["a", "b", "c"])
    assert member_proba(ab, None, np.zeros((1, 1)), classes).tolist() == [[0.2, 0.8, 0.0]]
    ensemble = EnsembleClassifier(["ab", "abc"], [ab, abc], [None, None], [0.75, 0.25], classes)
    proba = ensemble.predict_proba(np.zeros((2, 1)))
    assert proba[0] == pytest.approx([0.275, 0.625, 0.1])
    assert ensemble.predict(np.zeros((2, 1))).tolist() == ["b", "b"]
    assert "ab: 0.75" in repr(ensemble)


# ------------------------------------------------------------------------ through fit


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    return X, y


@pytest.fixture(scope="module")
def noisy():
    """Three classes, a tenth of the labels flipped: no candidate is right everywhere."""
    return make_classification(200, 8, n_informative=3, flip_y=0.1, n_classes=3,
                               random_state=0)


@pytest.fixture(scope="module")
def three_candidates(rigged_model):
    # ridge has no predict_proba: its decision values are calibrated for the ensemble.
    return rigged_model("ensemble3", ranking=["ridge", "gaussian_nb", "knn_5"])


def test_fit_keeps_an_ensemble_that_scores_better_on_the_folds(noisy, three_candidates):
    X, y = noisy
    est = LLMAlgorithmSelector(model=three_candidates, top_k=3, cv=3, random_state=0).fit(X, y)
    weights = est.cv_results_["ensemble_weight"]
    assert est.ensemble_ is not None and est.ensemble_score_ > est.best_score_
    assert weights.sum() == pytest.approx(1.0) and (weights > 0).sum() >= 2
    assert sorted(est.ensemble_.names) == sorted(est.cv_results_["pipeline"][weights > 0])
    proba = est.predict_proba(X)
    assert proba.sum(axis=1) == pytest.approx(1.0)
    assert (est.predict(X) == est.classes_[np.argmax(proba, axis=1)]).all()
    assert np.log(proba) == pytest.approx(est.predict_log_proba(X))
    values = est.decision_function(X)  # an ensemble's: the logits of its probabilities
    assert (np.argmax(values, axis=1) == np.argmax(proba, axis=1)).all()
    assert est.score(X, y) == pytest.approx(balanced_accuracy_score(y, est.predict(X)))
    restored = pickle.loads(pickle.dumps(est))
    assert (restored.predict_proba(X) == proba).all()


def test_no_ensemble_when_the_winner_alone_is_as_good(wine, three_candidates):
    X, y = wine  # the winner is right on every fold: nothing to add
    est = LLMAlgorithmSelector(model=three_candidates, top_k=3, cv=3, random_state=0).fit(X, y)
    assert est.best_score_ == 1.0
    assert est.ensemble_ is None and est.ensemble_score_ == est.best_score_
    assert est.cv_results_["ensemble_weight"].sum() == 0


def test_ensemble_false_predicts_with_the_winner(noisy, three_candidates):
    X, y = noisy
    est = LLMAlgorithmSelector(model=three_candidates, top_k=3, cv=3, ensemble=False,
                               random_state=0).fit(X, y)
    assert est.ensemble_ is None and est.ensemble_score_ == est.best_score_
    assert est.cv_results_["ensemble_weight"].sum() == 0
    assert (est.predict(X) == est.best_estimator_.predict(X)).all()
    assert clone(est).get_params()["ensemble"] is False


def test_the_ensemble_is_chosen_by_the_scoring_metric(three_candidates):
    X, y = make_classification(150, 6, n_informative=4, n_classes=3, random_state=0)
    est = LLMAlgorithmSelector(model=three_candidates, top_k=3, cv=3, scoring="neg_log_loss",
                               random_state=0).fit(X, y)
    # ridge has no predict_proba, so under a probability scorer it is not a candidate.
    assert "ridge" not in est.cv_results_["pipeline"]
    assert est.ensemble_score_ >= est.best_score_
