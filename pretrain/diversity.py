"""Diversity report of a corpus: what it covers, set beside the UCI benchmark's range.

Writes ``diversity.md`` and ``diversity.png`` next to the manifest, so gaps in coverage
(benchmark datasets larger, wider, more imbalanced... than anything trained on) are visible.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pretrain.markdown import markdown_table

#: (column, label, scale) of the coverage axes: log, integer (None) or a share (False).
AXES = (
    ("n_rows", "rows", True),
    ("n_features", "features", True),
    ("n_classes", "classes", None),
    ("mf.categorical_share", "categorical share of columns", False),
    ("mf.missing_share", "missing share of cells", False),
    ("mf.class_imbalance", "class imbalance (smallest / largest class)", False),
)


def coverage_table(corpus: pd.DataFrame, benchmark: pd.DataFrame) -> pd.DataFrame:
    """Quantiles of each axis in the corpus and the benchmark, and benchmark sets outside."""
    rows = []
    for column, label, _ in AXES:
        values = corpus[column].dropna()
        bench = benchmark[column].dropna()
        low, high = values.quantile([0.01, 0.99])
        rows.append({
            "axis": label,
            "corpus min": values.min(), "corpus median": values.median(),
            "corpus max": values.max(),
            "UCI min": bench.min(), "UCI median": bench.median(), "UCI max": bench.max(),
            "UCI outside corpus 1-99%": int(((bench < low) | (bench > high)).sum()),
        })
    return pd.DataFrame(rows).set_index("axis")


def write_report(corpus: pd.DataFrame, benchmark: pd.DataFrame, out_dir) -> Path:
    """Write ``diversity.md`` and ``diversity.png`` into ``out_dir``; return the md path."""
    out_dir = Path(out_dir)
    coverage = coverage_table(corpus, benchmark)
    lines = [
        "# Corpus diversity",
        "",
        f"{len(corpus)} datasets ({int((corpus['source'] != 'synthetic').sum())} real), "
        f"beside the {len(benchmark)} UCI benchmark datasets (never in the corpus).",
        "",
        "## Datasets per source and domain",
        "",
        markdown_table(corpus.groupby(["source", "domain"]).size().rename("datasets").to_frame()),
        "",
        "## Synthetic datasets per generator",
        "",
        markdown_table(corpus["generator"].dropna().value_counts().rename("datasets").to_frame()),
        "",
        "## Coverage beside the UCI benchmark",
        "",
        "The last column counts benchmark datasets outside the corpus's 1st-99th percentile "
        "on that axis: the gaps.",
        "",
        markdown_table(coverage.round(3)),
        "",
        "![coverage](diversity.png)",
        "",
    ]
    path = out_dir / "diversity.md"
    path.write_text("\n".join(lines))
    _plot(corpus, benchmark, out_dir / "diversity.png")
    return path


def _plot(corpus: pd.DataFrame, benchmark: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    real = corpus["source"] != "synthetic"
    for ax, (column, label, log) in zip(axes.ravel(), AXES, strict=True):
        values = corpus[column].astype(float)
        finite = values.dropna()
        if log:
            bins = np.logspace(np.log10(max(finite.min(), 1)), np.log10(finite.max() + 1), 30)
            ax.set_xscale("log")
        elif log is None:
            bins = np.arange(1.5, max(finite.max(), benchmark[column].max()) + 1.5)
        else:
            bins = np.linspace(0, 1, 26)
        ax.hist([values[~real].dropna(), values[real].dropna()], bins=bins, stacked=True,
                label=["synthetic", "real (registry packages)"], color=["#9ecae1", "#3182bd"])
        bench = benchmark[column].dropna()
        ax.plot(bench, np.zeros(len(bench)), "|", color="#e6550d", markersize=18,
                markeredgewidth=2, label="UCI benchmark datasets")
        ax.set_title(label)
        ax.set_ylabel("datasets")
    axes[0, 0].legend(loc="upper right", fontsize=8)
    fig.suptitle(f"Corpus coverage: {len(corpus)} datasets; orange ticks: the 55 UCI datasets")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
