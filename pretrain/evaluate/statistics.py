"""Bootstrap intervals over datasets, paired across methods (same resamples for the same seed)."""

from __future__ import annotations

import math

import numpy as np

from pretrain.evaluate.metrics import gap_closed


def bootstrap_indices(n: int, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """(n_resamples, n) row indices drawn with replacement; the same for the same seed,
    so statistics bootstrapped with one seed are paired across methods."""
    if n < 1:
        raise ValueError("Cannot bootstrap an empty sample.")
    return np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))


def bootstrap_ci(values, n_resamples: int = 1000, confidence: float = 0.95,
                 seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``values`` (NaN ignored) and its percentile bootstrap interval.

    Returns
    -------
    (mean, low, high) : tuple of float
        NaN everywhere if no value is finite.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}.")
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if not len(values):
        return math.nan, math.nan, math.nan
    means = values[bootstrap_indices(len(values), n_resamples, seed)].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(values.mean()), float(low), float(high)

def gap_closed_ci(regret, sbs_regret, n_resamples: int = 1000, confidence: float = 0.95,
                  seed: int = 0) -> tuple[float, float, float]:
    """:func:`gap_closed` and its paired bootstrap interval (datasets resampled jointly)."""
    regret, sbs = np.asarray(regret, np.float64), np.asarray(sbs_regret, np.float64)
    if regret.shape != sbs.shape:
        raise ValueError("regret and sbs_regret must be per-dataset values of the same datasets.")
    index = bootstrap_indices(len(regret), n_resamples, seed)
    sbs_means = sbs[index].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(sbs_means > 0, 1 - regret[index].mean(axis=1) / sbs_means, np.nan)
    ratios = ratios[np.isfinite(ratios)]
    alpha = (1 - confidence) / 2
    if not len(ratios):
        return gap_closed(regret, sbs), math.nan, math.nan
    low, high = np.quantile(ratios, [alpha, 1 - alpha])
    return gap_closed(regret, sbs), float(low), float(high)
