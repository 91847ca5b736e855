"""plot_recommendation: one bar per pipeline, measured CV scores beside them after fit."""

from __future__ import annotations

import sys

import matplotlib
import numpy as np
import pytest
from sklearn.datasets import load_iris

from skllmselect import LLMAlgorithmSelector
from skllmselect.plotting import plot_recommendation
from skllmselect.portfolio import PIPELINE_NAMES
from tests.test_selector import tiny_model_dir

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402


@pytest.fixture(scope="module")
def fitted():
    X, y = load_iris(return_X_y=True)
    model = tiny_model_dir("plot", ranking=["lda", "gaussian_nb", "knn_5"], fit_times={})
    return LLMAlgorithmSelector(model=model, top_k=2, cv=3, random_state=0).fit(X, y)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _bars(ax):
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def _bar_widths(container):
    return np.array([patch.get_width() for patch in container.patches])


def test_table_gives_one_bar_per_pipeline_best_on_top(fitted):
    table = fitted.recommendations_
    ax = plot_recommendation(table)
    assert isinstance(ax, matplotlib.axes.Axes)
    assert len(ax.patches) == len(PIPELINE_NAMES)
    (bars,) = _bars(ax)
    np.testing.assert_allclose(_bar_widths(bars), table["predicted_score"])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == list(table["pipeline"])
    # Rank 1 drawn at the top: the y axis is inverted, and rank 1 has the smallest y.
    assert ax.yaxis_inverted() and bars.patches[0].get_y() < bars.patches[1].get_y()
    assert bars.errorbar is not None  # the uncertainty


def test_fitted_selector_adds_the_measured_cv_scores(fitted):
    fig, ax = plt.subplots()
    assert plot_recommendation(fitted, ax=ax) is ax
    assert len(ax.patches) == len(PIPELINE_NAMES) + 2
    predicted, measured = _bars(ax)
    np.testing.assert_allclose(_bar_widths(measured), fitted.cv_results_["mean_test_score"])
    # Each measured bar sits beside the predicted bar of its pipeline.
    for name, patch in zip(fitted.cv_results_["pipeline"], measured.patches, strict=True):
        rank = list(fitted.recommendations_["pipeline"]).index(name)
        beside = predicted.patches[rank]
        assert abs(patch.get_y() - beside.get_y()) == pytest.approx(patch.get_height())
    assert any("cross-validated" in t.get_text() for t in ax.get_legend().get_texts())


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match=r"not fitted.*fit\(X, y\) first"):
        plot_recommendation(LLMAlgorithmSelector())
    with pytest.raises(TypeError, match="takes a fitted LLMAlgorithmSelector or the DataFrame"):
        plot_recommendation([0.5, 0.6])


def test_missing_matplotlib_is_a_clear_import_error(fitted, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)  # import raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'skllmselect\[plot\]'"):
        plot_recommendation(fitted)
