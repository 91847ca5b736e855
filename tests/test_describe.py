"""One path from a table to its meta-features: the corpus stores what the estimator computes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from pretrain.corpus import metafeature_record
from pretrain.runs import Protocol
from pretrain.sources.uci import iter_uci, read_manifest
from skllmselect import LLMAlgorithmSelector
from skllmselect.describe import describe
from skllmselect.metafeatures import METAFEATURE_NAMES
from tests.uci_folder import UCI_PATH, needs_uci

pytestmark = needs_uci
UCI_NAMES = [entry["name"] for entry in read_manifest(UCI_PATH)] if UCI_PATH else []


@pytest.mark.parametrize("name", UCI_NAMES)
def test_corpus_vector_is_the_fitted_estimators_vector(name):
    dataset = next(iter_uci(UCI_PATH, names=[name]))
    stored = metafeature_record(dataset, Protocol())
    assert stored["error"] is None
    keep = dataset.y.notna().to_numpy()  # as the estimator's error asks a user to do
    X, y = dataset.X[keep], dataset.y[keep]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # preparation notes, convergence: not the point here
        selector = LLMAlgorithmSelector(top_k=1, cv=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(np.asarray(stored["metafeatures"]),
                                  selector.meta_features_.to_numpy())


def test_preparation_is_part_of_the_description():
    # A table whose identifier and all-missing columns the estimator drops is described
    # without them, by both paths: not as the raw columns.
    rng = np.random.default_rng(0)
    n = 200
    X = pd.DataFrame({"signal": rng.normal(size=n), "noise": rng.normal(size=n)})
    y = np.where(X["signal"] > 0, "a", "b")
    messy = X.assign(customer_id=np.arange(n), empty=np.nan,
                     name=[f"person {i}" for i in range(n)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean, prepared = describe(X, y), describe(messy, y)
    assert list(prepared.X.columns) == ["signal", "noise"]
    np.testing.assert_array_equal(clean.vector, prepared.vector)
    assert prepared.vector.shape == (len(METAFEATURE_NAMES),)


def test_year_spans_are_not_read_as_dates():
    # '1960-64' has the shape of an ISO year-month ('1960-06') but is no date: planning it
    # as a date made transform fail on the very table it was planned on.
    X = pd.DataFrame({"span": ["1960-64", "1965-69"] * 15, "month": ["2024-03", "2024-04"] * 15})
    y = ["a", "b"] * 15
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = describe(X, y).X
    assert prepared["month"].dtype == np.float64
    assert prepared["span"].tolist() == X["span"].tolist()


def test_a_table_outside_the_corpus_is_named_and_scores_stay_in_range():
    from skllmselect.coverage import CoverageWarning

    X = pd.DataFrame({"a": [0.1, 0.9, 0.2, 0.8], "b": [1.0, 0.0, 1.0, 0.0]})
    y = ["no", "yes", "no", "yes"]
    with pytest.warns(CoverageWarning, match="4 rows"):
        table = LLMAlgorithmSelector(random_state=0).recommend(X, y)
    assert any("outside what the model was trained on" in n for n in table.attrs["notes"])
    assert table["predicted_score"].between(0, 1).all()


def test_an_ordinary_table_raises_no_coverage_warning():
    from sklearn.datasets import load_breast_cancer

    from skllmselect.coverage import CoverageWarning

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CoverageWarning)
        table = LLMAlgorithmSelector(random_state=0).recommend(X, y)
    assert not any("outside" in n for n in table.attrs["notes"])
