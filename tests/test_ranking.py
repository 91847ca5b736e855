"""Choosing the top k as a set, and the pipelines whose preconditions the labels rule out."""

import warnings

import numpy as np
import pandas as pd
import pytest
import safetensors.numpy

from pretrain import evaluate as ev
from skllmselect import LLMAlgorithmSelector, loading
from skllmselect.portfolio import PIPELINE_NAMES, unmet_requirements
from skllmselect.ranking import complementary_order


def expected_best(scores, residuals, chosen):
    return np.max(scores[chosen][None, :] + residuals[:, chosen], axis=1).mean()


def test_set_takes_the_pipeline_whose_errors_go_the_other_way():
    scores = np.array([0.80, 0.79, 0.78, 0.50])
    # 0 and 1 fail together; 2 succeeds exactly when they fail.
    residuals = np.array([[-0.2, -0.2, 0.1, 0.0], [0.1, 0.1, -0.2, 0.0]])
    order = complementary_order(scores, residuals, k=2)
    assert order.tolist() == [0, 2, 1, 3]
    assert expected_best(scores, residuals, [0, 2]) > expected_best(scores, residuals, [0, 1])


def test_greedy_set_matches_brute_force_on_small_random_cases():
    rng = np.random.default_rng(0)
    agree = 0
    for _ in range(50):
        scores = rng.uniform(0.5, 0.9, 6)
        residuals = rng.normal(0, 0.1, (40, 6))
        order = complementary_order(scores, residuals, k=3)
        first = int(np.argmax(scores))
        assert order[0] == first
        assert sorted(order.tolist()) == list(range(6))
        # Greedy is optimal among sets that contain the first pick whenever it matters
        # little; it must never be worse than the plain top 3 (same first pick).
        plain = np.argsort(-scores, kind="stable")[:3]
        assert expected_best(scores, residuals, order[:3]) >= \
            expected_best(scores, residuals, plain) - 1e-12
        others = [j for j in range(6) if j != first]
        best_pair = max(((a, b) for a in others for b in others if a < b),
                        key=lambda p: expected_best(scores, residuals, [first, *p]))
        agree += set(order[1:3]) == set(best_pair)
    assert agree >= 40  # greedy finds the best completion in most cases


def test_without_residuals_or_with_k_one_the_order_is_by_score():
    scores = np.array([0.1, 0.9, 0.5, 0.9])
    assert complementary_order(scores).tolist() == [1, 3, 2, 0]
    residuals = np.zeros((3, 4))
    assert complementary_order(scores, residuals, k=1).tolist() == [1, 3, 2, 0]
    assert complementary_order(scores, np.zeros((0, 4)), k=3).tolist() == [1, 3, 2, 0]


def test_ineligible_pipelines_come_last_even_with_the_best_score():
    scores = np.array([0.95, 0.6, 0.7, 0.8])
    eligible = np.array([False, True, True, True])
    residuals = np.random.default_rng(1).normal(0, 0.05, (30, 4))
    order = complementary_order(scores, residuals, k=3, eligible=eligible)
    assert order[-1] == 0 and order[0] == 3
    assert complementary_order(scores, None, eligible=eligible).tolist() == [3, 2, 1, 0]


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="residuals has shape"):
        complementary_order(np.zeros(3), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="eligible has shape"):
        complementary_order(np.zeros(3), eligible=[True])


def test_qda_needs_two_rows_of_each_class_in_every_training_set():
    assert unmet_requirements([np.array([0, 0, 1, 1]), np.array([0, 0, 1, 1, 1])]) == {}
    unmet = unmet_requirements([np.array([0, 0, 1, 1]), np.array(["x", "x", "y"])])
    assert list(unmet) == ["qda"] and "'y' has 1" in unmet["qda"]


def test_the_rule_predicts_what_qda_does():
    """The requirement is scikit-learn's own: QDA fails exactly where it says it will."""
    from skllmselect.portfolio import make_pipeline_by_name

    rng = np.random.default_rng(0)
    for labels in (np.array([0] * 10 + [1] * 10 + [2]), np.array([0] * 10 + [1] * 2)):
        X = rng.normal(size=(len(labels), 3))
        predicted_fail = "qda" in unmet_requirements([labels])
        try:
            make_pipeline_by_name("qda").fit(X, labels)
            failed = False
        except ValueError:
            failed = True
        assert failed == predicted_fail


def test_selector_ranks_qda_last_when_a_class_has_two_rows():
    rng = np.random.default_rng(0)
    y = np.array(["a"] * 40 + ["b"] * 40 + ["rare"] * 2)
    X = rng.normal(size=(len(y), 4)) + (y == "b")[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = LLMAlgorithmSelector(random_state=0, top_k=3).recommend(X, y)
    assert table["pipeline"].iloc[-1] == "qda"
    assert any(note.startswith("qda ranked last") for note in table.attrs["notes"])
    # With two rows of the rare class in every training set (folds of 2), qda is eligible.
    y4 = np.array(["a"] * 40 + ["b"] * 40 + ["rare"] * 6)
    X4 = rng.normal(size=(len(y4), 4))
    table4 = LLMAlgorithmSelector(random_state=0, cv=2).recommend(X4, y4)
    assert not any("qda" in note for note in table4.attrs["notes"])


def test_selector_top_k_is_the_complementary_set_of_the_bundled_model():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    network, tokenizer, residuals = loading.load(with_residuals=True)
    assert residuals is not None and residuals.shape[1] == len(PIPELINE_NAMES)
    table = LLMAlgorithmSelector(random_state=0, top_k=3).recommend(X, y)
    by_name = table.set_index("pipeline")["predicted_score"]
    scores = by_name.loc[list(network.config.pipeline_names)].to_numpy()
    expected = complementary_order(scores, residuals, k=3)
    names = network.config.pipeline_names
    assert table["pipeline"].tolist() == [names[i] for i in expected]


def test_read_residuals(tmp_path):
    assert loading.read_residuals(tmp_path, 3) is None
    path = tmp_path / loading.RESIDUALS_NAME
    safetensors.numpy.save_file({"residuals": np.zeros((4, 3), np.float32)}, str(path))
    assert loading.read_residuals(tmp_path, 3).shape == (4, 3)
    with pytest.raises(ValueError, match=r"shape \[4, 3\], expected floats of shape \(m, 5\)"):
        loading.read_residuals(tmp_path, 5)
    safetensors.numpy.save_file({"residuals": np.full((2, 3), np.nan, np.float32)}, str(path))
    with pytest.raises(ValueError, match="finite"):
        loading.read_residuals(tmp_path, 3)
    path.write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="damaged"):
        loading.read_residuals(tmp_path, 3)


def test_every_method_in_the_benchmark_puts_ineligible_pipelines_last():
    ranking = np.array([[2, 0, 1, 3], [0, 1, 2, 3]])
    eligible = np.array([[True, True, False, True], [True, True, True, True]])
    assert ev.put_ineligible_last(ranking, eligible).tolist() == [[0, 1, 3, 2], [0, 1, 2, 3]]
    assert ev.put_ineligible_last(ranking, None) is ranking


def test_evaluate_methods_applies_the_table_eligibility():
    rng = np.random.default_rng(0)
    n, P = 30, 6
    meta = rng.normal(size=(n, 5))
    scores = rng.uniform(0.5, 1, (n, P))
    scores[:, 0] += 1  # pipeline 0 always best on train: the SBS picks it
    groups = pd.DataFrame({"source": ["s"] * n})
    table = ev.SelectionTable(datasets=[str(i) for i in range(n)], groups=groups,
                              metafeatures=meta, scores=scores, ok=np.ones((n, P), bool),
                              fit_times=np.ones((n, P)))
    test = table.subset(np.arange(20, 30))
    test.eligible = np.ones((10, P), bool)
    test.eligible[:, 0] = False
    per_method, _ = ev.evaluate_methods(table.subset(np.arange(20)), test,
                                        {"SBS": ev.SingleBest()}, with_random=False)
    # Pipeline 0 is the oracle everywhere but cannot be picked: regret > 0 on every dataset.
    assert (per_method["SBS"]["regret@1"] > 0).all()


def test_ineligible_last_keeps_both_parts_in_order():
    from skllmselect.ranking import ineligible_last

    assert ineligible_last([3, 1, 0, 2], [False, True, True, False]).tolist() == [1, 2, 3, 0]
    assert ineligible_last([2, 0, 1], [True, True, True]).tolist() == [2, 0, 1]
