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
        measured = pd.DataFrame({
            "mean": results["mean_test_score"], "std": results["std_test_score"],
        }, index=pd.Index(results["pipeline"], name="pipeline"))
        measured = measured[np.isfinite(measured["mean"])]
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


def plot_recommendation(selector_or_table, ax=None):
    """Draw the predicted score of every pipeline, best first, with its uncertainty.

    Horizontal bars of the predicted scores with error bars of one predicted standard
    deviation, the best-ranked pipeline at the top. For a fitted selector, the measured
    cross-validated scores (mean and standard deviation over the folds) of the pipelines it
    cross-validated are drawn beside their predictions.

    Parameters
    ----------
    selector_or_table : LLMAlgorithmSelector or pandas.DataFrame
        A fitted selector, or the table :meth:`LLMAlgorithmSelector.recommend` returns.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made when None.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from skllmselect.plotting import plot_recommendation
    >>> ax = plot_recommendation(selector.recommend(X, y))  # doctest: +SKIP
    """
    plt = _pyplot()
    table, measured = _table_and_measured(selector_or_table)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.3 * len(table) + 1.2))
    names = table["pipeline"].astype(str).tolist()
    positions = np.arange(len(names))
    height = 0.4 if measured is not None else 0.8
    offset = height / 2 if measured is not None else 0.0
    ax.barh(positions - offset, table["predicted_score"].to_numpy(dtype=float), height=height,
            xerr=table["uncertainty"].to_numpy(dtype=float), color="tab:blue", alpha=0.8,
            error_kw={"ecolor": "black", "capsize": 2, "linewidth": 0.8},
            label="predicted (± uncertainty)")
    if measured is not None and len(measured):
        where = {name: i for i, name in enumerate(names)}
        rows = [where[name] for name in measured.index if name in where]
        shown = measured.loc[[name for name in measured.index if name in where]]
        ax.barh(np.asarray(rows) + offset, shown["mean"].to_numpy(dtype=float), height=height,
                xerr=shown["std"].to_numpy(dtype=float), color="tab:orange", alpha=0.9,
                error_kw={"ecolor": "black", "capsize": 2, "linewidth": 0.8},
                label=f"cross-validated {measured.attrs['scoring']} (mean ± std)")
    ax.set_yticks(positions, labels=names)
    ax.invert_yaxis()  # rank 1 at the top
    ax.set_xlabel("score (predicted: balanced accuracy)")
    ax.set_title("Recommended pipelines, best first")
    ax.legend(loc="best", fontsize="small")
    ax.grid(axis="x", alpha=0.3)
    return ax
