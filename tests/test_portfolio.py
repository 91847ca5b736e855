import numpy as np
import pandas as pd
import pytest
from sklearn.base import is_classifier

from skllmselect.portfolio import (
    PIPELINE_NAMES,
    as_frame,
    make_pipeline_by_name,
    make_portfolio,
)
from tests.helpers import make_mixed_frame

# The names are identifiers stored in corpora and model configs: changing this list is a
# breaking change that needs a new PORTFOLIO_VERSION and a retrained model.
EXPECTED_NAMES = (
    "logreg", "logreg_strong_l2", "logreg_balanced", "ridge", "linear_svc", "svc_rbf",
    "knn_5", "knn_25_distance", "gaussian_nb", "lda", "qda", "decision_tree",
    "decision_tree_pruned", "random_forest", "random_forest_balanced", "extra_trees",
    "hist_gradient_boosting", "adaboost", "bagging_trees", "mlp",
)


def test_names_are_stable_and_unique():
    assert PIPELINE_NAMES == EXPECTED_NAMES
    assert len(set(PIPELINE_NAMES)) == len(PIPELINE_NAMES) >= 16


def test_portfolio_spans_the_model_families():
    modules = {type(p.named_steps["model"]).__module__.split(".")[1]
               for p in make_portfolio().values()}
    assert {"linear_model", "svm", "neighbors", "naive_bayes", "discriminant_analysis",
            "tree", "ensemble", "neural_network"} <= modules
    classes = {type(p.named_steps["model"]).__name__ for p in make_portfolio().values()}
    assert {"RandomForestClassifier", "ExtraTreesClassifier",
            "HistGradientBoostingClassifier", "AdaBoostClassifier",
            "BaggingClassifier"} <= classes


@pytest.mark.parametrize("name", PIPELINE_NAMES)
def test_pipeline_fits_mixed_frame_with_nan_and_unseen_levels(name):
    X, y = make_mixed_frame(n_rows=150)
    pipeline = make_pipeline_by_name(name)
    assert is_classifier(pipeline)
    pipeline.fit(X, y)
    X_new, _ = make_mixed_frame(n_rows=20, seed=1)
    X_new.loc[0, "colour"] = "ultraviolet"  # a level never seen in fit
    X_new["size"] = X_new["size"].cat.add_categories(["XXL"])
    X_new.loc[1, "size"] = "XXL"
    X_new.loc[2, ["signal", "with_nan", "colour"]] = [np.nan, np.nan, None]
    predicted = pipeline.predict(X_new)
    assert len(predicted) == 20
    assert set(predicted) <= set(y)
    if hasattr(pipeline, "predict_proba"):
        proba = pipeline.predict_proba(X_new)
        assert proba.shape == (20, 3)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # The signal column separates the classes: every model should beat chance (1/3) on
    # its own training data, or the preprocessing lost the signal.
    assert (pipeline.predict(X) == y).mean() > 0.5


@pytest.mark.parametrize("name", ["logreg", "random_forest"])
def test_pipeline_accepts_numpy_arrays_numeric_and_object(name):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    assert make_pipeline_by_name(name).fit(X, y).score(X, y) > 0.8
    mixed = np.empty((60, 2), dtype=object)
    mixed[:, 0] = X[:, 0]
    mixed[:, 1] = np.where(y == 1, "yes", "no")
    assert make_pipeline_by_name(name).fit(mixed, y).score(mixed, y) > 0.8


def test_unknown_name_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown pipeline 'xgboost'.*Known pipelines: logreg"):
        make_pipeline_by_name("xgboost")


def test_random_state_reaches_the_model():
    model = make_pipeline_by_name("random_forest", random_state=7).named_steps["model"]
    assert model.random_state == 7


def test_as_frame_normalises_dtypes():
    X = pd.DataFrame({
        "number": [1.0, np.inf, -np.inf],
        "nullable": pd.array([1, None, 3], dtype="Int64"),
        "flag": [True, False, True],
        "category": pd.Categorical(["a", None, "b"]),
        "mixed": pd.Series([1, "a", None], dtype=object),
    })
    frame = as_frame(X)
    assert list(frame.columns) == list(X.columns)
    assert frame["number"].isna().tolist() == [False, True, True]
    assert frame["nullable"].dtype == np.float64 and np.isnan(frame["nullable"][1])
    assert frame["flag"].tolist() == ["True", "False", "True"]
    assert frame["category"].isna().tolist() == [False, True, False]
    assert frame["mixed"].tolist()[:2] == ["1", "a"]
    assert X["number"].tolist()[1] == np.inf  # the input is not modified
    numeric = as_frame(np.array([[1, "x"], [2, "y"]], dtype=object))
    assert list(numeric.columns) == ["0", "1"]
    assert numeric["0"].dtype == np.float64
