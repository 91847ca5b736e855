"""Pictures of a recommendation: predicted scores with their uncertainty, and measured CV scores.

matplotlib is an optional dependency (``pip install 'skllmselect[plot]'``), imported here only,
and only when a plot is drawn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError(
            "plot_recommendation needs matplotlib, an optional dependency of skllmselect. "
            "Install it with: pip install 'skllmselect[plot]'"
        ) from err
    return plt


def _table_and_measured(selector_or_table):
    """Return the ranked table and, after fit, the measured CV scores by pipeline name."""
    if isinstance(selector_or_table, pd.DataFrame):
        table, measured = selector_or_table, None
    elif hasattr(selector_or_table, "recommend"):  # an LLMAlgorithmSelector
        if not hasattr(selector_or_table, "recommendations_"):
            raise ValueError(
                "This selector is not fitted, so there is no recommendation to plot. Call "
                "selector.fit(X, y) first, or plot a table: "
                "plot_recommendation(selector.recommend(X, y))."
            )
        table = selector_or_table.recommendations_
        results = selector_or_table.cv_results_
        # A tuned variant ("svc_rbf#3", skllmselect.tuning) is drawn on its pipeline's row:
        # each row shows the best of the pipeline and its variants.
        measured = pd.DataFrame({
            "pipeline": [params["pipeline"] for params in results["params"]],
            "mean": results["mean_test_score"], "std": results["std_test_score"]})
        measured = measured[np.isfinite(measured["mean"])]
        best = measured.groupby("pipeline", sort=False)["mean"].idxmax().to_numpy()
        measured = measured.loc[best].set_index("pipeline")
        scoring = selector_or_table.scoring
        measured.attrs["scoring"] = scoring if isinstance(scoring, str) else "score"
    else:
        raise TypeError(
            "plot_recommendation takes a fitted LLMAlgorithmSelector or the DataFrame its "
            f"recommend() returns; got {type(selector_or_table).__name__}."
        )
    missing = {"pipeline", "predicted_score", "uncertainty"} - set(table.columns)
    if missing:
        raise ValueError(
            f"The table lacks the column(s) {sorted(missing)}; pass the DataFrame that "
            "LLMAlgorithmSelector.recommend returns (or its recommendations_)."
        )
    return table, measured


# The colours: the set fit cross-validates, the rest of the ranking, the measured scores, and
# the winner (also hatched, so that it stands out in grey print).
SET_COLOUR, REST_COLOUR = "tab:blue", "lightsteelblue"
MEASURED_COLOUR, CHOSEN_COLOUR, CHOSEN_HATCH = "tab:orange", "tab:red", "//"


def _zoomed_limits(values) -> tuple[float, float]:
    """x limits around the scores (not from 0: scores of 0.945 and 0.978 must look apart).

    A margin of 10% of their spread (at least 0.01) on each side, kept inside [0, 1] when the
    scores are.
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return 0.0, 1.0
    low, high = float(values.min()), float(values.max())
    margin = max(0.1 * (high - low), 0.01)
    low, high = low - margin, high + margin
    if values.min() >= 0 and values.max() <= 1:
        low, high = max(low, 0.0), min(high, 1.0)
    return low, high


# Over 80 lines for its docstring (what is drawn, and how); the drawing is about 60 lines.
def plot_recommendation(selector_or_table, ax=None):
    """Draw the predicted score of every pipeline, best first, with its uncertainty.

    Horizontal bars of the predicted scores with error bars of one predicted standard
    deviation, the best-ranked pipeline at the top. The first ``top_k`` pipelines, chosen
    together as a set (:mod:`skllmselect.ranking`), are drawn darker than the rest of the
    ranking (by predicted score), with a dashed line between them. For a fitted selector, the
    measured cross-validated scores (mean and standard deviation over the folds) of the
    pipelines it cross-validated are drawn beside their predictions, and the chosen one is
    marked (a red hatched bar, its name in bold with "(chosen)"). The score axis is zoomed to
    the scores' range (it does not start at 0; the axis label says where it starts), and the
    legend sits outside the axes, right of the bars.

    Parameters
    ----------
    selector_or_table : LLMAlgorithmSelector or pandas.DataFrame
        A fitted selector, or the table :meth:`LLMAlgorithmSelector.recommend` returns.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure (constrained layout, so that the legend fits) is made
        when None. With an ``ax`` of your own, leave room for the legend on its right
        (``fig.tight_layout()`` or ``layout="constrained"`` does).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from skllmselect.plotting import plot_recommendation
    >>> ax = plot_recommendation(selector.recommend(X, y))  # doctest: +SKIP
    """
    plt = _pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    table, measured = _table_and_measured(selector_or_table)
    chosen = getattr(selector_or_table, "best_pipeline_", None)
    if chosen is not None:  # its pipeline's row (a tuned variant's too)
        chosen = selector_or_table.cv_results_["params"][selector_or_table.best_index_][
            "pipeline"]
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.3 * len(table) + 1.2), layout="constrained")
    names = table["pipeline"].astype(str).tolist()
    n_set = min(int(table.attrs.get("top_k", 0)), len(names))
    positions = np.arange(len(names))
    height = 0.4 if measured is not None else 0.8
    offset = height / 2 if measured is not None else 0.0
    predicted = table["predicted_score"].to_numpy(dtype=float)
    ax.barh(positions - offset, predicted, height=height,
            xerr=table["uncertainty"].to_numpy(dtype=float),
            color=[SET_COLOUR if i < n_set else REST_COLOUR for i in positions], alpha=0.9,
            error_kw={"ecolor": "black", "capsize": 2, "linewidth": 0.8})
    handles = [Patch(color=SET_COLOUR, alpha=0.9,
                     label=f"predicted, top {n_set} chosen as a set (± uncertainty)"),
               Patch(color=REST_COLOUR, alpha=0.9, label="predicted, the rest by score")]
    if not n_set:
        handles = [Patch(color=REST_COLOUR, alpha=0.9, label="predicted (± uncertainty)")]
    if 0 < n_set < len(names):
        ax.axhline(n_set - 0.5, color="dimgrey", linestyle="--", linewidth=1)
        handles.append(Line2D([], [], color="dimgrey", linestyle="--",
                              label="end of the set"))
    scores = list(predicted)
    if measured is not None and len(measured):
        where = {name: i for i, name in enumerate(names)}
        shown = measured.loc[[name for name in measured.index if name in where]]
        bars = ax.barh(np.asarray([where[name] for name in shown.index]) + offset,
                       shown["mean"].to_numpy(dtype=float), height=height,
                       xerr=shown["std"].to_numpy(dtype=float), color=MEASURED_COLOUR,
                       alpha=0.9, error_kw={"ecolor": "black", "capsize": 2, "linewidth": 0.8})
        scoring = measured.attrs["scoring"]
        handles.append(Patch(color=MEASURED_COLOUR, alpha=0.9,
                             label=f"cross-validated {scoring} (mean ± std)"))
        for name, bar in zip(shown.index, bars.patches, strict=True):
            if name == chosen:
                bar.set_facecolor(CHOSEN_COLOUR)
                bar.set_hatch(CHOSEN_HATCH)
                bar.set_edgecolor("black")
                handles.append(Patch(facecolor=CHOSEN_COLOUR, hatch=CHOSEN_HATCH,
                                     edgecolor="black",
                                     label=f"chosen: {selector_or_table.best_pipeline_}"))
        scores += list(shown["mean"])
    labels = [f"{name} (chosen)" if name == chosen else name for name in names]
    ax.set_yticks(positions, labels=labels)
    for label, name in zip(ax.get_yticklabels(), names, strict=True):
        if name == chosen:
            label.set_fontweight("bold")
    ax.invert_yaxis()  # rank 1 at the top
    low, high = _zoomed_limits(scores)
    ax.set_xlim(low, high)
    ax.set_xlabel(f"score (predicted: balanced accuracy); axis from {low:.3g}, not 0")
    ax.set_title("Recommended pipelines, best first")
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0,
              fontsize="small")
    ax.grid(axis="x", alpha=0.3)
    return ax
