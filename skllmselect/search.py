"""Which candidates ``fit`` cross-validates: the ``top_k`` set, or under a time budget a plan.

Without ``time_budget`` the plan is the ranking's first ``top_k`` rows (chosen together as a
set, :mod:`skllmselect.ranking`). With one, the plan is made before any candidate runs, from
the network's predictions alone, so the same call on the same data plans the same candidates
in a fresh process or a warm one, on a fast machine or a busy one:

1. the first ``top_k`` rows, in order, each one whose predicted cost fits in what is left of
   the budget (the others are skipped, with the reason);
2. then, while some candidate's predicted cost fits in what is left, the candidate with the
   largest *predicted gain per predicted second*: the gain is how much adding it raises the
   expected best cross-validated score of the plan, the expectation taken over the model's
   own errors on its training datasets (the residuals of :mod:`skllmselect.ranking`), or,
   without residuals, the expected improvement under the predicted uncertainty. The plan
   stops when the best gain is below :data:`MIN_GAIN` (a tenth of a point of the score):
   a candidate that cannot matter is not worth its seconds. What the plan leaves of the
   budget goes to tuning the best candidates (:mod:`skllmselect.tuning`, ``tune=True``).

The budget counts the search only: the cross-validation, the refits and the ensemble. The
one-time model load and the meta-features come before it (``fit`` reports them apart in
``ranking_time_``): they take seconds in a fresh process and a fraction of one in a warm one,
and counting them would plan different candidates for the same data.

Predicted costs are the network's predicted fit times of the corpus protocol, scaled to this
cross-validation and data size (:func:`predicted_costs`). When they are too low and the clock
says the budget will not last, ``fit`` stops: it starts no further candidate past that point,
and abandons a running one whose next fold, as long as its previous ones, would end past it.
Once a candidate has completed, the time the best one's refit on all rows will take (its
measured fold fits, scaled to all rows) is kept back from the budget; before that, the first
candidate's own refit must fit too. Should every planned candidate be abandoned, the cheapest
one is cross-validated over budget, since ``fit`` must return a model. This safety stop is the
only place the clock decides anything (``skipped_`` names those candidates). So with accurate
predictions the candidates depend on the data alone; with poor ones the budget still holds,
give or take a fold that runs long and the refit estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from skllmselect.sampling import CORPUS_MAX_ROWS, CORPUS_N_SPLITS

MIN_GAIN = 1e-3
"""Smallest predicted gain (in score units: 0.001 = a tenth of a point) worth a candidate."""


def predicted_costs(fit_time, n_rows: int, n_splits: int) -> np.ndarray:
    """Predicted seconds of one candidate's search: ``n_splits`` fits and the refit.

    The network predicts seconds for a 5-fold cross-validation on up to 2,000 rows (the
    corpus protocol: five fits on four fifths of the rows). Scaled linearly to this data's
    rows and to ``n_splits`` fits on (k-1)/k of them plus the refit on all of them, which
    is ``n_splits`` fits' worth of rows in all.
    """
    scale = n_splits * n_rows / ((CORPUS_N_SPLITS - 1) * min(n_rows, CORPUS_MAX_ROWS))
    return np.asarray(fit_time, dtype=float) * scale


@dataclass
class Plan:
    """The candidates to cross-validate, as positions in the ranked table, in order."""

    positions: list[int]
    skipped: dict[int, str] = field(default_factory=dict)
    """Positions of the first ``top_k`` passed over because of the budget, with the reason."""


def plan_search(scores, costs, n_eligible: int, top_k: int, budget: float | None, *,
                residuals=None, uncertainty=None) -> Plan:
    """The anytime plan (see the module docstring); positions index the ranked table.

    Parameters
    ----------
    scores, costs : array-like of shape (P,)
        Predicted score and predicted search cost of each row of the ranked table.
    n_eligible : int
        The first rows that can run on this data (the rest are never planned).
    top_k : int
        The set chosen together, tried first.
    budget : float or None
        Seconds for the search; None plans exactly the first ``top_k`` eligible rows.
    residuals : array-like of shape (m, P), optional
        The model's training residuals, columns in the table's row order.
    uncertainty : array-like of shape (P,), optional
        Predicted standard deviations, used when there are no residuals.

    Returns
    -------
    Plan
        Empty positions when no candidate fits the budget (``fit`` then tries the
        cheapest, over budget).
    """
    scores = np.asarray(scores, dtype=float)
    costs = np.asarray(costs, dtype=float)
    first = list(range(min(top_k, n_eligible)))
    if budget is None:
        return Plan(first)
    plan, skipped, left = [], {}, float(budget)
    for position in first:
        if costs[position] <= left:
            plan.append(position)
            left -= costs[position]
        else:
            skipped[position] = (f"predicted {costs[position]:.3g} s > {left:.3g} s left of "
                                 "time_budget")
    gain = _gain_function(scores, residuals, uncertainty)
    rest = [p for p in range(n_eligible) if p not in first]
    while plan and rest:
        affordable = [p for p in rest if costs[p] <= left]
        if not affordable:
            break
        gains = np.array([gain(plan, p) for p in affordable])
        per_second = gains / np.maximum(costs[affordable], 1e-3)
        best = int(np.argmax(per_second))  # first of ties: the better-ranked row
        if gains[best] < MIN_GAIN:
            break
        plan.append(affordable[best])
        rest.remove(affordable[best])
        left -= costs[affordable[best]]
    return Plan(plan, skipped)


def _gain_function(scores, residuals, uncertainty):
    """``gain(plan, p)``: how much row p raises the expected best score of the plan."""
    if residuals is not None and np.asarray(residuals).shape[0] > 0:
        outcomes = scores[None, :] + np.asarray(residuals, dtype=float)  # (m, P)

        def gain(plan, p):
            best = outcomes[:, plan].max(axis=1)
            return float(np.mean(np.maximum(outcomes[:, p] - best, 0.0)))

        return gain

    sd = np.full(len(scores), 1e-9) if uncertainty is None else np.maximum(
        np.asarray(uncertainty, dtype=float), 1e-9)

    def gain(plan, p):  # expected improvement of a normal over the plan's best prediction
        # (math rather than scipy.stats, whose import costs a cold start ~0.3 s)
        z = float((scores[p] - scores[plan].max()) / sd[p])
        cdf = 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
        pdf = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        return float(sd[p] * (z * cdf + pdf))

    return gain
