"""From predicted scores to the order in which ``fit`` tries the pipelines.

Ranking the pipelines by predicted score alone picks three near-copies for the top 3 when the
model likes one family (three logistic regressions): if the model is wrong about that family,
it is wrong three times. ``fit(top_k=k)`` keeps the best of k cross-validated candidates, so
what matters for the set is the *best* true score among them, not the sum. This module picks
the set for that: the first candidate is the best predicted one, and each next one is the
pipeline that most raises the expected best score of the set, the expectation taken over the
model's own errors on its training datasets (``residuals``: measured minus predicted score,
one row per dataset). Those rows carry how the errors of the pipelines go together (when
logistic regression disappoints, so does ridge; a failing QDA scores chance), so a pipeline
whose errors the set already covers adds little. This is the zero-shot portfolio idea of
auto-sklearn 2.0 and TabRepo (complementary configurations), made conditional on the data
through the model's prediction.

Chosen on the corpus validation split (top-3 regret 1.45 -> 1.28 points; top-1 unchanged by
construction), then measured on the test split and the UCI benchmark: see
``benchmarks/results/selection.md``.
"""

from __future__ import annotations

import numpy as np


def complementary_order(scores, residuals=None, k: int = 3, *, eligible=None) -> np.ndarray:
    """Return pipeline indices: the first ``k`` chosen as a set, then the rest by score.

    Parameters
    ----------
    scores : array-like of shape (P,)
        Predicted score of each pipeline.
    residuals : array-like of shape (m, P), optional
        Measured minus predicted scores of the model on m training datasets. Without it (or
        with m == 0) the order is plain descending ``scores``.
    k : int, default=3
        Size of the set chosen together (the ``top_k`` that ``fit`` cross-validates).
    eligible : array-like of bool of shape (P,), optional
        False for pipelines that cannot run on this data; they come last, by score.

    Returns
    -------
    numpy.ndarray of int, shape (P,)
        A permutation of ``range(P)``. The first index is the best-scoring eligible pipeline;
        index i < k maximises the mean over residual rows of
        ``max(scores[j] + residuals[:, j] for j in the set so far plus i)``; ties go to the
        higher score, then the lower index, so the order is deterministic.

    Examples
    --------
    Two pipelines whose errors always go together, and a third, slightly worse on prediction,
    whose errors go the other way: the set of two takes the third.

    >>> import numpy as np
    >>> scores = np.array([0.80, 0.79, 0.78])
    >>> residuals = np.array([[-0.1, -0.1, 0.05], [0.05, 0.05, -0.1]])
    >>> complementary_order(scores, residuals, k=2).tolist()
    [0, 2, 1]
    >>> complementary_order(scores, None, k=2).tolist()
    [0, 1, 2]
    """
    scores = np.asarray(scores, dtype=np.float64)
    P = scores.shape[0]
    eligible = np.ones(P, dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool)
    if eligible.shape != (P,):
        raise ValueError(f"eligible has shape {eligible.shape}; expected ({P},).")
    # By score, best first (stable: ties keep the pipeline order), eligible before the rest.
    by_score = np.lexsort((np.arange(P), -scores, ~eligible))
    n_eligible = int(eligible.sum())
    if residuals is None or k <= 1 or n_eligible <= 1:
        return by_score
    residuals = np.asarray(residuals, dtype=np.float64)
    if residuals.ndim != 2 or residuals.shape[1] != P:
        raise ValueError(f"residuals has shape {residuals.shape}; expected (m, {P}).")
    if residuals.shape[0] == 0:
        return by_score

    outcomes = scores[None, :] + residuals  # (m, P): plausible measured scores
    chosen = [int(by_score[0])]
    best = outcomes[:, chosen[0]].copy()
    # Candidates in score order, so argmax's first-of-ties is the higher score.
    candidates = [int(j) for j in by_score[1:n_eligible]]
    while len(chosen) < min(k, n_eligible):
        gains = np.maximum(best[:, None], outcomes[:, candidates]).mean(axis=0)
        pick = candidates.pop(int(np.argmax(gains)))
        chosen.append(pick)
        best = np.maximum(best, outcomes[:, pick])
    taken = set(chosen)
    return np.array(chosen + [int(j) for j in by_score if int(j) not in taken])


def ineligible_last(order, eligible) -> np.ndarray:
    """``order`` with the pipelines that cannot run moved to its end, both parts in order.

    For a ranking made without :func:`complementary_order` (the encoder-decoder's own, or a
    baseline's in the benchmarks). ``eligible`` is indexed by pipeline, not by position.

    >>> ineligible_last([2, 0, 1], [True, True, False]).tolist()
    [0, 1, 2]
    """
    order = np.asarray(order)
    keep = np.asarray(eligible, dtype=bool)[order]
    return np.concatenate([order[keep], order[~keep]])
