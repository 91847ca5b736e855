"""Building blocks of the synthetic priors: log-uniform and categorical draws, label noise,
assorted column marginals, and a signal embedded among redundant and noise columns.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy.special import ndtr


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _log_uniform_int(rng: np.random.Generator, low: int, high: int) -> int:
    """Integer in ``[low, high]`` whose logarithm is about uniform."""
    value = int(np.floor(np.exp(rng.uniform(np.log(low), np.log(high + 1)))))
    return min(max(value, low), high)


def _choice(rng: np.random.Generator, options, p=None) -> str:
    return str(options[int(rng.choice(len(options), p=p))])


def _standardize(values: np.ndarray) -> np.ndarray:
    """Columns to mean 0 and standard deviation 1 (constant columns to 0)."""
    std = values.std(axis=0)
    return (values - values.mean(axis=0)) / np.where(std > 0, std, 1.0)


def _rotation(rng: np.random.Generator, size: int) -> np.ndarray:
    """A uniformly random orthogonal matrix."""
    q, r = np.linalg.qr(rng.standard_normal((size, size)))
    return q * np.sign(np.diag(r))


def _balanced_labels(rng: np.random.Generator, n_rows: int, n_classes: int) -> np.ndarray:
    return rng.permutation(np.arange(n_rows) % n_classes)


def _flip_labels(rng: np.random.Generator, y: np.ndarray, n_classes: int,
                 share: float) -> np.ndarray:
    """Replace a ``share`` of labels by uniformly random ones (``flip_y``)."""
    y = y.copy()
    flip = rng.random(len(y)) < share
    y[flip] = rng.integers(n_classes, size=int(flip.sum()))
    return y


def _gumbel_argmax(rng: np.random.Generator, scores: np.ndarray,
                   temperature: float) -> np.ndarray:
    """Sample a class per row from softmax((scores + b) / temperature).

    The per-class offsets ``b`` are tuned (a few steps of a log-ratio update) so that every
    class wins a fair share of rows: an argmax over random scores would otherwise starve some
    classes, and class priors are imposed later, in one place, by subsampling.
    """
    noisy = scores + temperature * rng.gumbel(size=scores.shape)
    n_rows, n_classes = noisy.shape
    target = n_rows / n_classes
    scale = 0.3 * (float(noisy.std()) or 1.0)
    offsets = np.zeros(n_classes)
    for step in range(60):
        counts = np.bincount(np.argmax(noisy + offsets, axis=1), minlength=n_classes)
        if counts.min() >= 0.6 * target:
            break
        offsets -= scale / (1 + step / 5) * np.clip(np.log((counts + 1.0) / target), -2, 2)
    return np.argmax(noisy + offsets, axis=1)


def _label_noise_share(rng: np.random.Generator, high: float = 0.15) -> float:
    """Share of labels to randomise: none in half the datasets, else log-uniform."""
    return 0.0 if rng.random() < 0.5 else _log_uniform(rng, 0.005, high)


_MARGINALS = ("normal", "uniform", "lognormal", "exponential", "integer", "binary")


def _mixed_marginals(rng: np.random.Generator, n_rows: int, n_columns: int):
    """``(n_rows, n_columns)`` features with assorted marginals, maybe correlated.

    A Gaussian copula: correlated normals (a few latent factors, in half the datasets) are
    mapped through their CDF to normal, uniform, log-normal, exponential, count and binary
    marginals. Returns the array and the marginal of each column.
    """
    z = rng.standard_normal((n_rows, n_columns))
    if n_columns > 1 and rng.random() < 0.5:
        n_factors = int(rng.integers(1, min(n_columns, 5) + 1))
        loadings = rng.normal(0.0, rng.uniform(0.3, 1.5), (n_factors, n_columns))
        z = z + rng.standard_normal((n_rows, n_factors)) @ loadings
        z /= np.sqrt(1.0 + (loadings**2).sum(axis=0))
    kinds = rng.choice(len(_MARGINALS), size=n_columns, p=[0.35, 0.2, 0.15, 0.1, 0.1, 0.1])
    out = np.empty_like(z)
    for code, kind in enumerate(_MARGINALS):
        cols = np.flatnonzero(kinds == code)
        if not len(cols):
            continue
        block = z[:, cols]
        if kind == "normal":
            out[:, cols] = block
        elif kind == "uniform":
            out[:, cols] = ndtr(block)
        elif kind == "lognormal":
            out[:, cols] = np.exp(block * rng.uniform(0.3, 1.5, len(cols)))
        elif kind == "exponential":
            out[:, cols] = -np.log1p(-ndtr(block) * (1 - 1e-12))
        elif kind == "integer":
            rate = rng.uniform(0.5, 10.0, len(cols))
            out[:, cols] = np.floor(-np.log1p(-ndtr(block) * (1 - 1e-12)) * rate)
        else:
            out[:, cols] = (ndtr(block) < rng.uniform(0.1, 0.9, len(cols))).astype(float)
    return out, [_MARGINALS[k] for k in kinds]


def _frame(blocks: Iterable[tuple[str, np.ndarray]]) -> pd.DataFrame:
    """DataFrame from ``(role, 2-d array)`` blocks; columns named ``role_i``."""
    columns = {}
    for role, block in blocks:
        block = np.asarray(block)
        if block.ndim == 1:
            block = block[:, None]
        for i in range(block.shape[1]):
            columns[f"{role}_{i}"] = block[:, i]
    return pd.DataFrame(columns)


def _embed(rng: np.random.Generator, signal: np.ndarray, n_features: int, *,
           rotate: float, noise=None, max_noise_share: float = 1.0):
    """Signal columns plus ``n_features - signal.shape[1]`` more: pure noise and noisy linear
    mixes of the signal (redundant columns keep distances informative; noise columns drown
    them). At most ``max_noise_share`` of the extra columns are noise. With probability
    ``rotate`` the signal is rotated together with some noise columns.

    Returns ``(blocks, params)`` for :func:`_frame`: roles ``signal`` (``mixed`` when rotated),
    ``redundant`` and ``noise``.
    """
    n_rows, n_signal = signal.shape
    n_extra = n_features - n_signal
    scale = float(signal.std(axis=0).mean()) or 1.0
    noise_share = max_noise_share * (1.0 if rng.random() < 0.4 else rng.uniform(0.0, 1.0))
    n_noise = int(round(n_extra * noise_share))
    n_redundant = n_extra - n_noise
    weights = rng.normal(0.0, 1.0 / np.sqrt(n_signal), (n_signal, n_redundant))
    redundant = signal @ weights + rng.uniform(0.05, 0.5) * scale * rng.standard_normal(
        (n_rows, n_redundant))
    if noise is None:
        noise = scale * rng.standard_normal((n_rows, n_noise))
    else:
        noise = noise((n_rows, n_noise))
    rotated = n_noise > 0 and bool(rng.random() < rotate)
    blocks = [("signal", signal), ("redundant", redundant), ("noise", noise)]
    if rotated:
        extra = min(n_noise, n_signal)
        mixed = np.hstack([signal, noise[:, :extra]]) @ _rotation(rng, n_signal + extra)
        blocks = [("mixed", mixed), ("redundant", redundant), ("noise", noise[:, extra:])]
    return blocks, dict(n_noise=n_noise, n_redundant=n_redundant, rotated=rotated)
