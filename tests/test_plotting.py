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

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402


@pytest.fixture(scope="module")
def fitted(rigged_model):
    X, y = load_iris(return_X_y=True)
    model = rigged_model("plot", ranking=["lda", "gaussian_nb", "knn_5"], fit_times={})
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


def _face(patch) -> tuple:
    return matplotlib.colors.to_rgba(patch.get_facecolor())


def test_zoomed_axis_marked_winner_and_set_and_a_clear_legend(fitted):
    """The figure itself: scores above 0.9 are not drawn from 0, the chosen pipeline and the
    set are told apart, and the legend covers no bar (window extents, Agg canvas)."""
    table = fitted.recommendations_.copy()
    # Scores like the bundled model's on breast cancer (0.945-0.978): the tiny model's are
    # spread over [0, 1], so set them (the plot reads only the table and cv_results_).
    table["predicted_score"] = np.linspace(0.978, 0.945, len(table))
    table["uncertainty"] = 0.01
    fitted_like = _Fitted(fitted, table, measured=[0.97, 0.955])
    ax = plot_recommendation(fitted_like)  # its own figure (constrained layout)
    low, high = ax.get_xlim()
    scores = [*table["predicted_score"], 0.97, 0.955]
    assert 0.9 < low <= min(scores) and max(scores) <= high <= 1.0
    assert high - low < 0.1  # zoomed: the 0.033 spread fills a third of the axis at least
    assert "not 0" in ax.get_xlabel()

    predicted, measured = _bars(ax)
    faces = [_face(p) for p in predicted.patches]
    assert fitted.top_k == 2 and table.attrs["top_k"] == 2
    assert faces[0] == faces[1] != faces[2] and len(set(faces[2:])) == 1  # the set: darker
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert [line.get_ydata()[0] for line in dashed] == [1.5]  # between the set and the rest

    chosen = fitted_like.best_pipeline_
    winner = list(fitted_like.cv_results_["pipeline"]).index(chosen)
    hatches = [p.get_hatch() for p in measured.patches]
    assert hatches[winner] and not any(h for i, h in enumerate(hatches) if i != winner)
    assert _face(measured.patches[winner]) not in {_face(p) for p in measured.patches
                                                   if p is not measured.patches[winner]}
    bold = [t.get_text() for t in ax.get_yticklabels() if t.get_fontweight() == "bold"]
    assert bold == [f"{chosen} (chosen)"]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"chosen: {chosen}" in texts
    assert any("chosen as a set" in t for t in texts) and any("by score" in t for t in texts)

    fig = ax.figure
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert not any(legend.overlaps(p.get_window_extent()) for p in ax.patches)
    inside = fig.bbox
    assert inside.x0 <= legend.x0 and legend.x1 <= inside.x1 + 1  # not cut off
    assert inside.y0 <= legend.y0 and legend.y1 <= inside.y1 + 1


class _Fitted:
    """A fitted selector's plotted attributes, with scores of our choosing."""

    def __init__(self, fitted, table, measured):
        self.recommendations_ = table
        self.cv_results_ = {**fitted.cv_results_, "mean_test_score": np.array(measured),
                            "std_test_score": np.full(len(measured), 0.005)}
        self.best_index_ = int(np.argmax(measured))
        self.best_pipeline_ = self.cv_results_["pipeline"][self.best_index_]
        self.scoring = fitted.scoring

    def recommend(self, X, y):  # what marks a selector for plot_recommendation
        raise NotImplementedError


def test_a_tuned_winner_is_marked_on_its_pipelines_row(fitted):
    """A variant of skllmselect.tuning ("lda#1") is drawn on its pipeline's row, the best of
    the pipeline and its variants."""
    results = fitted.cv_results_
    first = results["pipeline"][0]
    with_variant = {**results, "pipeline": np.array([*results["pipeline"], f"{first}#1"]),
                    "params": [*results["params"], {"pipeline": first, "C": 1.0}]}
    fitted_like = _Fitted(type("F", (), {"cv_results_": with_variant,
                                         "scoring": fitted.scoring})(),
                          fitted.recommendations_, measured=[0.9, 0.8, 0.95])
    assert fitted_like.best_pipeline_ == f"{first}#1"
    ax = plot_recommendation(fitted_like)
    _, measured = _bars(ax)
    assert sorted(_bar_widths(measured)) == [0.8, 0.95]  # the pipeline's best: its variant
    assert [p.get_hatch() for p in measured.patches if p.get_width() == 0.95][0]
    bold = [t.get_text() for t in ax.get_yticklabels() if t.get_fontweight() == "bold"]
    assert bold == [f"{first} (chosen)"]
    assert f"chosen: {first}#1" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match=r"not fitted.*fit\(X, y\) first"):
        plot_recommendation(LLMAlgorithmSelector())
    with pytest.raises(TypeError, match="takes a fitted LLMAlgorithmSelector or the DataFrame"):
        plot_recommendation([0.5, 0.6])


def test_missing_matplotlib_is_a_clear_import_error(fitted, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)  # import raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'skllmselect\[plot\]'"):
        plot_recommendation(fitted)
