"""Demo: the bundled model on a dataset that ships with scikit-learn (no download).

    python -m benchmarks.demo                       # breast cancer (569 x 30, 2 classes)
    python -m benchmarks.demo --dataset digits      # or wine
    make demo

Recommends a pipeline ranking with ``LLMAlgorithmSelector(top_k=3, random_state=0)``, prints
its top 10, fits (cross-validates) the top 3, reports the chosen pipeline, its CV score and
the wall times of ``recommend`` and of ``fit`` separately, and draws the recommendation to
``benchmarks/results/demo.png``. Prints the versions and the model it used. Exits with 1 and a
message if the model (by default the bundled one) is missing or cannot be loaded.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # the machines this runs on have 2 cores

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import sklearn  # noqa: E402
from sklearn import datasets  # noqa: E402

import skllmselect  # noqa: E402
from skllmselect import loading  # noqa: E402

DATASETS = {"breast_cancer": datasets.load_breast_cancer, "wine": datasets.load_wine,
            "digits": datasets.load_digits}
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "demo.png"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="breast_cancer")
    parser.add_argument("--model", default=loading.BUNDLED,
                        help="'bundled' (default), a model folder or a Hub repo id")
    parser.add_argument("--revision", default=None, help="revision of a Hub model")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the plot goes")
    args = parser.parse_args(argv)

    try:
        info = loading.model_info(args.model, args.revision)
    except (OSError, ValueError) as error:
        print(f"demo: cannot use model {args.model!r}: {' '.join(str(error).split())}",
              file=sys.stderr)
        return 1
    if not info["compatible"]:
        print(f"demo: {info['problems']}", file=sys.stderr)
        return 1

    import torch

    from skllmselect.selector import LLMAlgorithmSelector

    X, y = DATASETS[args.dataset](return_X_y=True, as_frame=True)
    revision = f", commit {info['commit']}" if info["commit"] else ""
    print(f"skllmselect {skllmselect.__version__}, scikit-learn {sklearn.__version__}, "
          f"torch {torch.__version__}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"Python {platform.python_version()}")
    print(f"model: {info['model']} ({info['folder']}{revision}); "
          f"{info['n_parameters']:,} parameters, {info['architecture']['architecture']}")
    print(f"data: load_{args.dataset}: {X.shape[0]} rows, {X.shape[1]} features, "
          f"{y.nunique()} classes\n")

    selector = LLMAlgorithmSelector(model=args.model, revision=args.revision, top_k=3,
                                    random_state=0)
    start = time.perf_counter()
    table = selector.recommend(X, y)
    recommend_s = time.perf_counter() - start
    shown = table.drop(columns="estimator").head(10)
    print(f"Recommendation (top 10 of {len(table)}), predicted 5-fold balanced accuracy; the "
          f"first {selector.top_k} are chosen together, to complement each other:")
    print(shown.to_string(float_format=lambda v: f"{v:.3f}"))

    start = time.perf_counter()
    selector.fit(X, y)
    fit_s = time.perf_counter() - start
    results = pd.DataFrame({key: selector.cv_results_[key] for key in (
        "pipeline", "recommendation_rank", "predicted_score", "mean_test_score",
        "std_test_score", "mean_fit_time", "status")})
    print(f"\nCross-validated top {selector.top_k} (5-fold, {selector.scoring}):")
    print(results.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\nchosen: {selector.best_pipeline_}, CV {selector.scoring} "
          f"{selector.best_score_:.4f}")
    if selector.ensemble_ is not None:  # predicts with the ensemble (see ensemble=)
        print(f"predicts with an ensemble: {selector.ensemble_}, CV {selector.scoring} "
              f"{selector.ensemble_score_:.4f} on the same folds")
    print(f"wall time: recommend {recommend_s:.2f} s (first call: loads the model, computes "
          f"the meta-features); fit {fit_s:.2f} s (recommends again, cross-validates "
          f"{len(results)} pipelines, refits in {selector.refit_time_:.2f} s)")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from skllmselect.plotting import plot_recommendation
    except ImportError as error:
        print(f"demo: no plot: {error}", file=sys.stderr)
        return 1
    fig, ax = plt.subplots(figsize=(11, 7))  # wide: the legend sits right of the bars
    plot_recommendation(selector, ax=ax)
    ax.set_title(f"skllmselect on load_{args.dataset}: chosen {selector.best_pipeline_} "
                 f"(CV {selector.best_score_:.3f})")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=120)
    plt.close(fig)
    print(f"plot: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
