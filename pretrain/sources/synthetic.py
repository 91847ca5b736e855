"""Synthetic priors: generated classification tables for the pretraining corpus.

The selector learns which pipeline wins from the meta-features of a dataset, so the corpus
needs many datasets on which *different* pipelines win. Each generator below is a prior over
tables built around one kind of concept, and each favours a different algorithm family:

``linear_gaussian``
    Like :func:`sklearn.datasets.make_classification`: Gaussian clusters on hypercube
    vertices (or random centres) in a few informative dimensions, with redundant (linear
    combinations), repeated and noise columns and label noise; or, in half the datasets, a
    multinomial logistic model of correlated Gaussian features. The logistic variant and
    one cluster per class favour logistic regression, LDA and linear SVMs; several clusters
    per class bring kNN, RBF-SVMs and trees back.
``gaussian_mixture``
    Several Gaussian clusters per class with random anisotropic covariances (full, diagonal
    or spherical) and varying overlap, among noise and redundant columns. Quadratic and
    local boundaries: QDA, RBF-SVMs, kNN; Gaussian naive Bayes where covariances are
    diagonal.
``random_mlp_scm``
    The prior of tabular foundation models (TabPFN): a random multilayer network, read as a
    structural causal model (sparse random edges, random activations, noise at every node).
    Features are node values, some of them downstream of the target node, which is
    quantile-binned into classes. Smooth, entangled nonlinearities: MLPs, gradient boosting
    and RBF-SVMs; the mix of upstream and downstream features is also where linear models
    sometimes win.
``tree_rules``
    A random decision tree, an ordered rule list or additive stumps on a few of many
    features with assorted marginals (skewed, discrete, binary). Axis-aligned, piecewise
    constant concepts with irrelevant columns: decision trees, random forests and boosting.
``manifold``
    Low-dimensional nonlinear structure (moons, circles, XOR, checkerboard, parity of binary
    features, spirals) among noise columns and noisy linear mixes of the signal, sometimes
    rotated. RBF-SVMs and kNN (smooth curved boundaries), trees (axis-aligned
    XOR/checkerboard/parity); hard for linear models.
``categorical_heavy``
    Mostly categorical string columns (2 to 50 levels, some high-cardinality, skewed level
    frequencies, correlated through a latent factor); the target depends on main effects and
    pairwise interactions of a few categories and some numeric columns. Tests the encoders:
    one-hot linear models for main effects, tree ensembles for interactions.
``sparse_counts``
    Bag-of-words-like counts from a topic model whose topic mixture depends on the class
    (many zeros, varying document lengths). Favours linear models and naive-Bayes-like
    evidence summing; distances in many sparse dimensions hurt kNN.
``heteroscedastic``
    Classes that differ in scale rather than location, in Gaussian, Laplace or heavy-tailed
    Student-t noise, with occasional gross outliers. QDA, Gaussian naive Bayes and trees;
    linear models are near chance.
``local_nonlinear``
    Labels of the nearest of many random prototypes (Voronoi cells) or the argmax of random
    RBF fields in a few dimensions. Smooth local structure: kNN and RBF-SVMs.

Every generator is followed by the same post-processing, its random choices recorded in
``provenance["params"]``: class priors (balanced, Dirichlet, geometric, a few minority
classes, or the generator's own shares; every class keeps at least :data:`MIN_CLASS_ROWS`
rows), monotone transforms of some numeric columns (exp, log, power, scale, integer, binned
into string levels), missing values in about half the datasets (MCAR, MAR driven by another
column, or MNAR), shuffled column order with names ``x0, x1, ...``, and integer or string
labels.

A dataset is a pure function of ``(generator, seed)``: its random generator is seeded from
the seed and a SHA-256 digest of the generator's name, never from Python's salted ``hash``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import pandas as pd
from scipy.special import ndtr
from threadpoolctl import threadpool_limits

from pretrain.sources import Dataset

MIN_ROWS, MAX_ROWS = 50, 10_000
"""Range of the log-uniform draw of the number of rows."""
MIN_FEATURES, MAX_FEATURES = 2, 200
"""Range of the log-uniform draw of the number of feature columns."""
MAX_CLASSES = 20
"""Upper end of the log-uniform draw of the number of classes (when not binary)."""
MIN_CLASS_ROWS = 10
"""Every class of a generated dataset has at least this many rows."""
SEED_STRIDE = 1_000_000_000
""":func:`iter_synthetic` gives its ``j``-th dataset of a generator ``seed * SEED_STRIDE + j``."""

# Generators draw more rows than the dataset keeps, so that class priors can be imposed by
# subsampling; this caps the work (rows x columns) of one draw.
_MAX_GENERATED_CELLS = 4_000_000
_MAX_OVERSAMPLING = 4.0
_MAX_ATTEMPTS = 8

GeneratorFunction = Callable[
    [np.random.Generator, int, int, int], tuple[pd.DataFrame, pd.Series, dict]
]


# --------------------------------------------------------------------------- small helpers


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


# --------------------------------------------------------------------------- generators


def linear_gaussian(rng: np.random.Generator, n_rows: int, n_features: int, n_classes: int):
    """Gaussian clusters in informative dimensions, as in ``make_classification``, or a
    multinomial logistic model of correlated Gaussian features.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of all randomness.
    n_rows, n_features, n_classes : int
        Rows to draw, feature columns to return, classes.

    Returns
    -------
    X : pandas.DataFrame
        Columns ``informative_i``, ``redundant_i``, ``repeated_i``, ``noise_i``.
    y : pandas.Series
        Class codes ``0 .. n_classes - 1``, about balanced.
    params : dict
        The random choices.
    """
    n_informative = min(n_features, _log_uniform_int(rng, 1, 30))
    rest = n_features - n_informative
    n_redundant = int(round(rest * rng.uniform(0.0, 0.3)))
    n_repeated = int(round((rest - n_redundant) * rng.uniform(0.0, 0.1)))
    n_noise = rest - n_redundant - n_repeated
    variant = _choice(rng, ["clusters", "logistic"])
    params: dict = dict(variant=variant)
    if variant == "clusters":
        per_class = 1 if rng.random() < 0.5 else int(rng.integers(2, 4))
        n_clusters = n_classes * per_class
        class_sep = _log_uniform(rng, 0.5, 4.0)
        hypercube = bool(rng.random() < 0.7) and 2**n_informative >= n_clusters
        if hypercube:
            codes = rng.choice(2**n_informative, size=n_clusters, replace=False)
            bits = (codes[:, None] >> np.arange(n_informative)) & 1
            centroids = (2.0 * bits - 1.0) * class_sep
        else:
            centroids = rng.normal(0.0, class_sep, (n_clusters, n_informative))
        cluster = rng.permutation(np.arange(n_rows) % n_clusters)
        informative = rng.standard_normal((n_rows, n_informative))
        for c in range(n_clusters):
            rows = cluster == c
            mixing = rng.uniform(-1.0, 1.0, (n_informative, n_informative))
            informative[rows] = informative[rows] @ mixing + centroids[c]
        y = cluster % n_classes
        params.update(clusters_per_class=per_class, class_sep=class_sep, hypercube=hypercube)
    else:
        # P(y | x) = softmax(strength * x W): logistic regression is the Bayes-optimal model.
        loadings = rng.normal(0.0, rng.uniform(0.0, 1.5), (min(n_informative, 5),
                                                           n_informative))
        informative = rng.standard_normal((n_rows, n_informative)) + rng.standard_normal(
            (n_rows, len(loadings))) @ loadings
        strength = _log_uniform(rng, 1.0, 10.0)
        logits = _standardize(informative @ rng.standard_normal((n_informative, n_classes)))
        y = _gumbel_argmax(rng, strength * logits, 1.0)
        params.update(strength=strength)
    redundant = informative @ rng.uniform(-1.0, 1.0, (n_informative, n_redundant))
    useful = np.hstack([informative, redundant])
    repeated = useful[:, rng.integers(useful.shape[1], size=n_repeated)]
    noise = rng.standard_normal((n_rows, n_noise))
    flip_y = _label_noise_share(rng)
    y = _flip_labels(rng, y, n_classes, flip_y)
    X = _frame([("informative", informative), ("redundant", redundant),
                ("repeated", repeated), ("noise", noise)])
    params.update(n_informative=n_informative, n_redundant=n_redundant,
                  n_repeated=n_repeated, n_noise=n_noise, flip_y=flip_y)
    return X, pd.Series(y), params


def gaussian_mixture(rng: np.random.Generator, n_rows: int, n_features: int, n_classes: int):
    """Several anisotropic Gaussian clusters per class in a few signal dimensions.

    Parameters and returns as :func:`linear_gaussian`; columns as :func:`_embed` makes them.
    """
    n_signal = min(n_features, _log_uniform_int(rng, 1, 20))
    per_class = int(rng.integers(1, 4))
    spread = _log_uniform(rng, 1.0, 5.0)
    covariance = _choice(rng, ["full", "diagonal", "spherical"], p=[0.5, 0.3, 0.2])
    anisotropy = float(rng.uniform(0.0, 1.5))
    y = _balanced_labels(rng, n_rows, n_classes)
    signal = rng.standard_normal((n_rows, n_signal))
    for k in range(n_classes):
        rows = np.flatnonzero(y == k)
        weights = rng.dirichlet(np.full(per_class, 2.0))
        member = rng.choice(per_class, size=len(rows), p=weights)
        for c in range(per_class):
            at = rows[member == c]
            mean = rng.normal(0.0, spread, n_signal)
            if covariance == "spherical":
                scales = np.full(n_signal, np.exp(rng.normal(0.0, anisotropy)))
            else:
                scales = np.exp(rng.normal(0.0, anisotropy, n_signal))
            block = signal[at] * scales
            if covariance == "full" and n_signal > 1:
                block = block @ _rotation(rng, n_signal)
            signal[at] = block + mean
    blocks, embedding = _embed(rng, signal, n_features, rotate=0.3)
    params = dict(n_signal=n_signal, clusters_per_class=per_class, spread=spread,
                  covariance=covariance, anisotropy=anisotropy, **embedding)
    return _frame(blocks), pd.Series(y), params


_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda a: a,
    "tanh": np.tanh,
    "relu": lambda a: np.maximum(a, 0.0),
    "leaky_relu": lambda a: np.where(a > 0, a, 0.1 * a),
    "sigmoid": lambda a: 0.5 * (1.0 + np.tanh(0.5 * a)),
    "sin": np.sin,
    "abs": np.abs,
    "square": np.square,
    "softplus": lambda a: np.logaddexp(0.0, a),
    "step": lambda a: (a > 0).astype(float),
}
_ACTIVATION_NAMES = tuple(_ACTIVATIONS)
_ACTIVATION_WEIGHTS = np.array([1.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.3])


def random_mlp_scm(rng: np.random.Generator, n_rows: int, n_features: int, n_classes: int):
    """A random MLP read as a structural causal model (the TabPFN prior).

    Root causes feed 1 to 4 layers of nodes; each node is a random activation of a sparse
    random combination of the previous layer's nodes plus Gaussian noise. One node with many
    distinct values becomes the target (binned by rank, sometimes into more bins than classes
    folded back modulo the class count); the features are other nodes, upstream and
    downstream of it. Parameters and returns as :func:`linear_gaussian`; columns ``node_i``.
    """
    n_layers = int(rng.integers(1, 5))
    n_nodes = math.ceil((n_features + 1) * rng.uniform(1.2, 2.0))
    width = max(2, math.ceil(n_nodes / n_layers))
    n_causes = int(rng.integers(1, min(width, 32) + 1))
    noise_std = _log_uniform(rng, 0.01, 0.5)
    edge_keep = float(rng.uniform(0.1, 1.0))
    per_node = bool(rng.random() < 0.3)
    causes = rng.normal(rng.normal(0, 1, n_causes), np.exp(rng.normal(0, 0.5, n_causes)),
                        (n_rows, n_causes))
    layers, activations = [causes], []
    weights = _ACTIVATION_WEIGHTS / _ACTIVATION_WEIGHTS.sum()
    hidden = causes
    for _ in range(n_layers):
        fan_in = hidden.shape[1]
        W = rng.standard_normal((fan_in, width)) * (rng.random((fan_in, width)) < edge_keep)
        orphans = np.flatnonzero(~W.any(axis=0))
        W[rng.integers(fan_in, size=len(orphans)), orphans] = rng.standard_normal(len(orphans))
        pre = _standardize(hidden @ W) * rng.uniform(0.5, 2.5) + rng.normal(0.0, 1.0, width)
        pre += noise_std * rng.standard_normal(pre.shape)
        if per_node:
            chosen = rng.choice(len(_ACTIVATION_NAMES), size=width, p=weights)
            hidden = np.empty_like(pre)
            for code in np.unique(chosen):
                cols = chosen == code
                hidden[:, cols] = _ACTIVATIONS[_ACTIVATION_NAMES[code]](pre[:, cols])
            activations.append("mixed")
        else:
            name = _ACTIVATION_NAMES[int(rng.choice(len(_ACTIVATION_NAMES), p=weights))]
            hidden = _ACTIVATIONS[name](pre)
            activations.append(name)
        layers.append(hidden)
    nodes = np.hstack(layers)
    layer_of = np.concatenate([np.full(block.shape[1], i) for i, block in enumerate(layers)])
    # The target: a non-root node with many distinct values (so its bins are real classes).
    candidates = rng.permutation(np.flatnonzero(layer_of > 0))
    target = int(candidates[0])
    for node in candidates[:20]:
        if len(np.unique(nodes[:, node])) >= 0.5 * n_rows:
            target = int(node)
            break
    others = np.setdiff1d(np.arange(nodes.shape[1]), [target])
    varying = others[nodes[:, others].std(axis=0) > 1e-12]
    pool = varying if len(varying) >= n_features else others
    features = rng.choice(pool, size=n_features, replace=False)
    folded = bool(rng.random() < 0.3)
    n_bins = n_classes * (int(rng.integers(2, 4)) if folded else 1)
    ranks = np.empty(n_rows, dtype=np.int64)
    ranks[np.argsort(nodes[:, target], kind="stable")] = np.arange(n_rows)
    y = (ranks * n_bins // n_rows) % n_classes
    downstream = int((layer_of[features] > layer_of[target]).sum())
    params = dict(n_layers=n_layers, width=width, n_causes=n_causes, noise_std=noise_std,
                  edge_keep=edge_keep, activations=activations, target_layer=int(
                      layer_of[target]), n_bins=n_bins, features_downstream=downstream)
    return _frame([("node", nodes[:, features])]), pd.Series(y), params


def tree_rules(rng: np.random.Generator, n_rows: int, n_features: int, n_classes: int):
    """Axis-aligned concepts: a random tree, an ordered rule list or additive stumps.

    Features have assorted marginals (:func:`_mixed_marginals`); only a few are used by the
    concept. Parameters and returns as :func:`linear_gaussian`; columns ``relevant_i`` and
    ``irrelevant_i``.
    """
    X, marginals = _mixed_marginals(rng, n_rows, n_features)
    n_relevant = min(n_features, _log_uniform_int(rng, 1, 16))
    relevant = rng.choice(n_features, size=n_relevant, replace=False)
    variant = _choice(rng, ["tree", "rule_list", "additive_stumps"], p=[0.5, 0.25, 0.25])
    y = np.zeros(n_rows, dtype=np.int64)
    params: dict = dict(variant=variant, n_relevant=n_relevant)
    if variant == "tree":
        min_depth = max(1, math.ceil(math.log2(n_classes)))
        depth = int(rng.integers(min_depth, max(min_depth, 6) + 1))
        p_stop = float(rng.uniform(0.0, 0.3))
        leaves, stack = [], [(np.arange(n_rows), 0)]
        while stack:
            idx, level = stack.pop()
            stop = level >= min_depth and rng.random() < p_stop
            if level >= depth or len(idx) < 2 or stop:
                leaves.append(idx)
                continue
            column = X[idx, rng.choice(relevant)]
            left = column <= np.quantile(column, rng.uniform(0.15, 0.85))
            stack += [(idx[left], level + 1), (idx[~left], level + 1)]
        # Largest leaves first, each to the class with the fewest rows so far (a random
        # class for some): random labels would leave some classes only tiny leaves.
        mass = rng.random(n_classes)  # random tie-breaks
        for idx in sorted(leaves, key=len, reverse=True):
            label = int(np.argmin(mass)) if rng.random() < 0.8 else int(rng.integers(n_classes))
            y[idx] = label
            mass[label] += len(idx)
        params.update(depth=depth, p_stop=p_stop, n_leaves=len(leaves))
    elif variant == "rule_list":
        n_rules = int(rng.integers(n_classes, 3 * n_classes + 1))
        y[:] = rng.integers(n_classes)
        assigned = np.zeros(n_rows, dtype=bool)
        mass = rng.random(n_classes)  # as for leaves: the emptiest class takes the rule
        for r in range(n_rules):
            match = ~assigned
            if match.sum() < 2:
                break
            # Each rule takes about an equal share of the rows still unassigned.
            features = rng.choice(relevant, size=int(rng.integers(1, 4)))
            keep = min(0.9, rng.uniform(0.5, 1.5) / (n_rules - r + 1)) ** (1 / len(features))
            for f in features:
                if rng.random() < 0.5:
                    match &= X[:, f] > np.quantile(X[match, f], 1 - keep)
                else:
                    match &= X[:, f] <= np.quantile(X[match, f], keep)
                if not match.any():
                    break
            label = int(np.argmin(mass)) if rng.random() < 0.8 else int(rng.integers(n_classes))
            y[match] = label
            mass[label] += match.sum()
            assigned |= match
        params.update(n_rules=n_rules)
    else:
        n_stumps = int(rng.integers(n_classes, 4 * n_classes + 1))
        scores = np.zeros((n_rows, n_classes))
        for _ in range(n_stumps):
            f = rng.choice(relevant)
            threshold = np.quantile(X[:, f], rng.uniform(0.1, 0.9))
            scores += (X[:, f] > threshold)[:, None] * rng.standard_normal(n_classes)
        temperature = _log_uniform(rng, 0.01, 0.5)
        y = _gumbel_argmax(rng, scores, temperature)
        params.update(n_stumps=n_stumps, temperature=temperature)
    flip_y = _label_noise_share(rng)
    y = _flip_labels(rng, y, n_classes, flip_y)
    params["flip_y"] = flip_y
    is_relevant = np.isin(np.arange(n_features), relevant)
    params["marginals"] = sorted(set(marginals))
    X = _frame([("relevant", X[:, is_relevant]), ("irrelevant", X[:, ~is_relevant])])
    return X, pd.Series(y), params


_PATTERNS = ("moons", "circles", "xor", "checkerboard", "parity", "spirals")


def _cells_to_classes(rng, cells: np.ndarray, per_dim: int,
                      n_classes: int) -> tuple[np.ndarray, str]:
    """Classes of grid cells: sum of indices mod K (a checkerboard) when that reaches every
    class, else a random balanced map from cell codes to classes."""
    dims = cells.shape[1]
    if dims * (per_dim - 1) + 1 >= n_classes:
        return cells.sum(axis=1) % n_classes, "index_sum_mod"
    codes = (cells * (per_dim ** np.arange(dims))).sum(axis=1)
    mapping = rng.permutation(np.arange(per_dim**dims) % n_classes)
    return mapping[codes], "random_map"


def manifold(rng: np.random.Generator, n_rows: int, n_features: int, n_classes: int):
    """Low-dimensional nonlinear patterns embedded among noise columns.

    Moons, concentric circles (or spheres), XOR, checkerboards, parity of binary columns or
    spirals, all generalised to ``n_classes``, among noise and redundant columns (see
    :func:`_embed`). Parameters and returns as :func:`linear_gaussian`.
    """
    pattern = _choice(rng, _PATTERNS)
    noise = _log_uniform(rng, 0.02, 0.3)
    y = _balanced_labels(rng, n_rows, n_classes)
    params: dict = dict(pattern=pattern, noise=noise)
    flip_y = 0.0
    if pattern == "moons":
        theta = rng.uniform(0.0, np.pi, n_rows)
        even = y % 2 == 0
        signal = np.column_stack([y + np.where(even, np.cos(theta), -np.cos(theta)),
                                  np.where(even, np.sin(theta), 0.5 - np.sin(theta))])
        signal += noise * rng.standard_normal(signal.shape)
    elif pattern == "circles":
        dims = min(n_features, int(rng.integers(2, 4)))
        directions = rng.standard_normal((n_rows, dims))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        radius = 1.0 + y + 2.0 * noise * rng.standard_normal(n_rows)
        signal = directions * radius[:, None]
        params["dims"] = dims
    elif pattern == "spirals":
        t = np.sqrt(rng.uniform(0.02, 1.0, n_rows))
        turns = float(rng.uniform(0.5, 2.0))
        angle = 2 * np.pi * (turns * t + y / n_classes)
        signal = t[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
        signal += noise / n_classes * rng.standard_normal(signal.shape)
        params["turns"] = turns
    elif pattern in ("xor", "checkerboard"):
        if pattern == "xor":
            dims = min(n_features, max(2, math.ceil(math.log2(n_classes))))
            per_dim = max(2, math.ceil(n_classes ** (1 / dims)))
        else:
            dims = min(n_features, int(rng.choice([1, 2, 3], p=[0.3, 0.6, 0.1])))
            per_dim = max(int(rng.integers(2, 7 if dims < 3 else 4)),
                          math.ceil(n_classes ** (1 / dims)))
        position = rng.uniform(0.0, per_dim, (n_rows, dims))
        cells = np.floor(position).astype(np.int64)
        y, mapping = _cells_to_classes(rng, cells, per_dim, n_classes)
        signal = (position / per_dim * 2.0 - 1.0) + noise / per_dim * rng.standard_normal(
            position.shape)
        params.update(dims=dims, cells_per_dim=per_dim, mapping=mapping)
    else:  # parity: a modular sum of binary columns
        dims = min(n_features, int(rng.integers(2, 9)))
        signal = (rng.random((n_rows, dims)) < 0.5).astype(float)
        weights = np.ones(dims, dtype=np.int64) if n_classes == 2 else rng.integers(
            1, n_classes, dims)
        y = (signal.astype(np.int64) @ weights) % n_classes
        flip_y = _label_noise_share(rng, 0.1)
        y = _flip_labels(rng, y, n_classes, flip_y)
        params.update(dims=dims, flip_y=flip_y)
    if pattern == "parity":  # more bits, none of them relevant
        n_noise = n_features - signal.shape[1]
        share = rng.uniform(0.2, 0.8)
        blocks = [("signal", signal),
                  ("noise", (rng.random((n_rows, n_noise)) < share).astype(float))]
    else:
        blocks, embedding = _embed(rng, signal, n_features, rotate=0.4)
        params.update(embedding)
    return _frame(blocks), pd.Series(y), params


_LEVEL_PREFIXES = ("", "L", "cat_", "v", "level ")


def categorical_heavy(rng: np.random.Generator, n_rows: int, n_features: int, n_classes: int):
    """Mostly categorical string columns; the target uses their main effects and interactions.

    Level counts are log-uniform on 2..50, about one column in eight has 51..300 levels;
    level frequencies are Dirichlet-skewed; most columns follow a shared latent factor (so
    they correlate). Class scores add per-level effects of a few columns, effects of pairs
    of levels, and a few numeric columns; the class is drawn from their softmax. Parameters
    and returns as :func:`linear_gaussian`; columns ``cat_i`` (object dtype) and ``num_i``.
    """
    n_numeric = int(round(n_features * rng.uniform(0.0, 0.3)))
    n_categorical = n_features - n_numeric
    if n_categorical == 0:
        n_categorical, n_numeric = 1, n_features - 1
    n_latent = int(rng.integers(1, 4))
    latent = rng.standard_normal((n_rows, n_latent))
    codes, n_levels = [], []
    for _ in range(n_categorical):
        if rng.random() < 0.12:
            levels = _log_uniform_int(rng, 51, 300)
        else:
            levels = _log_uniform_int(rng, 2, 50)
        cumulative = np.cumsum(rng.dirichlet(np.full(levels, _log_uniform(rng, 0.3, 5.0))))
        if rng.random() < 0.6:
            loading = rng.standard_normal(n_latent)
            value = latent @ loading + rng.uniform(0.3, 2.0) * rng.standard_normal(n_rows)
            u = ndtr((value - value.mean()) / value.std())
        else:
            u = rng.random(n_rows)
        code = np.minimum(np.searchsorted(cumulative, u), levels - 1)
        codes.append(rng.permutation(levels)[code])  # levels in no particular order
        n_levels.append(levels)
    numeric, _ = _mixed_marginals(rng, n_rows, n_numeric)
    scores = np.zeros((n_rows, n_classes))
    relevant = rng.choice(n_categorical, size=min(n_categorical, int(rng.integers(1, 7))),
                          replace=False)
    main = float(rng.uniform(0.2, 2.0))
    for j in relevant:
        scores += main * rng.standard_normal((n_levels[j], n_classes))[codes[j]]
    interaction = 0.0 if rng.random() < 0.3 else float(rng.uniform(0.3, 2.0))
    n_pairs = 0
    if interaction and len(relevant) >= 2:
        n_pairs = int(rng.integers(1, 4))
        for _ in range(n_pairs):
            a, b = rng.choice(relevant, size=2, replace=False)
            table = rng.standard_normal((n_levels[a], n_levels[b], n_classes))
            scores += interaction * table[codes[a], codes[b]]
    n_numeric_used = int(rng.integers(0, min(n_numeric, 3) + 1))
    if n_numeric_used:
        used = _standardize(numeric[:, :n_numeric_used])
        scores += used @ rng.normal(0.0, rng.uniform(0.3, 1.5), (n_numeric_used, n_classes))
    temperature = _log_uniform(rng, 0.05, 0.5)
    y = _gumbel_argmax(rng, scores, temperature)
    columns = {}
    for i, (code, levels) in enumerate(zip(codes, n_levels, strict=True)):
        prefix = _LEVEL_PREFIXES[int(rng.integers(len(_LEVEL_PREFIXES)))]
        names = np.array([f"{prefix}{k}" for k in range(levels)], dtype=object)
        columns[f"cat_{i}"] = pd.Series(names[code], dtype=object)
    for i in range(n_numeric):
        columns[f"num_{i}"] = pd.Series(numeric[:, i])
    params = dict(n_categorical=n_categorical, n_numeric=n_numeric,
                  max_levels=max(n_levels), n_high_cardinality=sum(n > 50 for n in n_levels),
                  n_relevant=len(relevant), main_effect=main, interaction=interaction,
                  n_pairs=n_pairs, n_numeric_used=n_numeric_used, temperature=temperature)
    return pd.DataFrame(columns), pd.Series(y), params


def sparse_counts(rng: np.random.Generator, n_rows: int, n_features: int, n_classes: int):
    """Bag-of-words counts from a topic model whose topic preferences depend on the class.

    Parameters and returns as :func:`linear_gaussian`; columns ``word_i`` (integer counts,
    or 0/1 presence in a fifth of the datasets).
    """
    n_topics = int(rng.integers(2, 13))
    word_concentration = _log_uniform(rng, 0.05, 1.0)
    topic_words = rng.dirichlet(np.full(n_features, word_concentration), size=n_topics)
    class_topics = rng.dirichlet(np.full(n_topics, _log_uniform(rng, 0.1, 2.0)),
                                 size=n_classes)
    concentration = _log_uniform(rng, 1.0, 50.0)
    y = _balanced_labels(rng, n_rows, n_classes)
    mix = rng.gamma(concentration * class_topics[y] + 1e-3)
    mix /= mix.sum(axis=1, keepdims=True)
    mean_length = _log_uniform(rng, 5.0, 300.0)
    length_sd = float(rng.uniform(0.2, 1.0))
    length = np.exp(rng.normal(np.log(mean_length), length_sd, n_rows))
    counts = rng.poisson((mix * length[:, None]) @ topic_words)
    binary = bool(rng.random() < 0.2)
    if binary:
        counts = (counts > 0).astype(np.int64)
    params = dict(n_topics=n_topics, word_concentration=word_concentration,
                  concentration=concentration, mean_length=mean_length,
                  length_sd=length_sd, binary=binary)
    return _frame([("word", counts)]), pd.Series(y), params


def heteroscedastic(rng: np.random.Generator, n_rows: int, n_features: int, n_classes: int):
    """Classes that differ mostly in scale, in Gaussian, Laplace or Student-t noise.

    Parameters and returns as :func:`linear_gaussian`; columns ``signal_i`` and ``noise_i``.
    """
    n_signal = min(n_features, _log_uniform_int(rng, 1, 20))
    distribution = _choice(rng, ["normal", "laplace", "student_t"], p=[0.4, 0.25, 0.35])
    df = float(rng.uniform(1.5, 8.0))

    def draw(shape):
        if distribution == "normal":
            return rng.standard_normal(shape)
        if distribution == "laplace":
            return rng.laplace(size=shape)
        return rng.standard_t(df, size=shape)

    spread = float(rng.uniform(0.4, 1.5))
    shift = float(rng.uniform(0.0, 0.7))
    y = _balanced_labels(rng, n_rows, n_classes)
    log_scales = rng.normal(0.0, spread, (n_classes, n_signal))
    means = rng.normal(0.0, shift, (n_classes, n_signal))
    signal = means[y] + np.exp(log_scales[y]) * draw((n_rows, n_signal))
    noise = draw((n_rows, n_features - n_signal)) * np.exp(
        rng.normal(0.0, 0.5, n_features - n_signal))
    outliers = 0.0 if rng.random() < 0.6 else float(rng.uniform(0.0, 0.03))
    X = np.hstack([signal, noise])
    hit = rng.random(X.shape) < outliers
    X[hit] *= rng.uniform(10.0, 100.0, int(hit.sum()))
    params = dict(n_signal=n_signal, distribution=distribution,
                  df=df if distribution == "student_t" else None, scale_spread=spread,
                  mean_shift=shift, outlier_share=outliers)
    return _frame([("signal", X[:, :n_signal]), ("noise", X[:, n_signal:])]), pd.Series(
        y), params


def local_nonlinear(rng: np.random.Generator, n_rows: int, n_features: int, n_classes: int):
    """Nearest-prototype (Voronoi) labels or the argmax of random RBF fields.

    Parameters and returns as :func:`linear_gaussian`; columns as :func:`_embed` makes them.
    """
    n_signal = min(n_features, _log_uniform_int(rng, 2, 8))
    variant = _choice(rng, ["voronoi", "rbf_field"])
    uniform = bool(rng.random() < 0.5)

    def draw(shape):
        return rng.uniform(-1.0, 1.0, shape) if uniform else rng.standard_normal(shape) / 2

    signal = draw((n_rows, n_signal))
    relevance = np.exp(rng.normal(0.0, 0.5, n_signal))
    n_centres = n_classes * int(rng.integers(1, 6)) if variant == "voronoi" else int(
        rng.integers(max(n_classes, 5), 4 * n_classes + 1))
    centres = draw((n_centres, n_signal))
    a, c = signal * relevance, centres * relevance
    sq_dist = (a**2).sum(axis=1)[:, None] - 2.0 * a @ c.T + (c**2).sum(axis=1)[None, :]
    params: dict = dict(variant=variant, n_signal=n_signal, n_centres=n_centres,
                        uniform=uniform)
    if variant == "voronoi":
        labels = rng.permutation(np.arange(n_centres) % n_classes)
        # Distance to the nearest prototype of each class; the nearest class wins.
        scores = np.column_stack([-sq_dist[:, labels == k].min(axis=1)
                                  for k in range(n_classes)])
        y = _gumbel_argmax(rng, scores, 0.0)
    else:
        length = _log_uniform(rng, 0.2, 1.0) * np.sqrt(n_signal)
        field = np.exp(-np.maximum(sq_dist, 0.0) / (2.0 * length**2)) @ rng.standard_normal(
            (n_centres, n_classes))
        y = _gumbel_argmax(rng, field, 0.02 * field.std())
        params["length_scale"] = length
    flip_y = _label_noise_share(rng, 0.1)
    y = _flip_labels(rng, y, n_classes, flip_y)
    params["flip_y"] = flip_y
    # Few pure-noise columns: this prior is where distances (kNN, RBF kernels) should work.
    blocks, embedding = _embed(rng, signal, n_features, rotate=0.3, noise=draw,
                               max_noise_share=0.25)
    params.update(embedding)
    return _frame(blocks), pd.Series(y), params


GENERATORS: dict[str, GeneratorFunction] = {
    "linear_gaussian": linear_gaussian,
    "gaussian_mixture": gaussian_mixture,
    "random_mlp_scm": random_mlp_scm,
    "tree_rules": tree_rules,
    "manifold": manifold,
    "categorical_heavy": categorical_heavy,
    "sparse_counts": sparse_counts,
    "heteroscedastic": heteroscedastic,
    "local_nonlinear": local_nonlinear,
}
"""Stable generator name -> ``(rng, n_rows, n_features, n_classes) -> (X, y, params)``.

``y`` holds class codes ``0 .. n_classes - 1`` (a class may be missing or rare: the
post-processing of :func:`make_synthetic` drops classes with fewer than
:data:`MIN_CLASS_ROWS` rows). Never rename an entry: names are part of dataset ids.
"""


# --------------------------------------------------------------------------- post-processing


def draw_sizes(rng: np.random.Generator) -> tuple[int, int, int]:
    """Draw ``(n_rows, n_features, n_classes)`` of one dataset.

    Rows are log-uniform on ``[MIN_ROWS, MAX_ROWS]``, features log-uniform on
    ``[MIN_FEATURES, MAX_FEATURES]``; two classes with probability 0.4, else log-uniform on
    ``[3, MAX_CLASSES]``, capped so that every class can have ``MIN_CLASS_ROWS`` rows.
    """
    n_rows = _log_uniform_int(rng, MIN_ROWS, MAX_ROWS)
    n_features = _log_uniform_int(rng, MIN_FEATURES, MAX_FEATURES)
    n_classes = 2 if rng.random() < 0.4 else _log_uniform_int(rng, 3, MAX_CLASSES)
    return n_rows, n_features, min(n_classes, n_rows // MIN_CLASS_ROWS)


def _draw_class_priors(rng: np.random.Generator, n_rows: int, n_classes: int):
    """Target class shares (natural: keep the generator's) and their description."""
    kind = _choice(rng, ["balanced", "natural", "dirichlet", "geometric", "minority"],
                   p=[0.3, 0.15, 0.2, 0.15, 0.2])
    info: dict = {"kind": kind}
    priors = np.full(n_classes, 1.0 / n_classes)
    if kind == "dirichlet":
        info["alpha"] = _log_uniform(rng, 0.3, 5.0)
        priors = rng.dirichlet(np.full(n_classes, info["alpha"]))
    elif kind == "geometric":
        info["ratio"] = _log_uniform(rng, 1.5, 50.0)  # largest over smallest class
        priors = info["ratio"] ** (-np.arange(n_classes) / max(1, n_classes - 1))
        priors = rng.permutation(priors / priors.sum())
    elif kind == "minority":
        info["n_minority"] = int(rng.integers(1, max(1, n_classes // 2) + 1))
        info["weight"] = _log_uniform(rng, 1 / 50, 1 / 3)  # minority over majority class
        weights = np.ones(n_classes)
        weights[rng.choice(n_classes, size=info["n_minority"], replace=False)] = info["weight"]
        priors = weights / weights.sum()
    # Mix with uniform just enough that every class can keep MIN_CLASS_ROWS (+20%) rows.
    floor = min(1.2 * MIN_CLASS_ROWS / n_rows, 1.0 / n_classes)
    if priors.min() < floor:
        share = (floor - priors.min()) / (1.0 / n_classes - priors.min())
        priors = (1 - share) * priors + share / n_classes
    return priors, info


def _rows_to_generate(n_rows: int, n_features: int, n_classes: int,
                      priors: np.ndarray) -> int:
    """Rows a generator draws so that subsampling can usually reach ``priors``."""
    factor = min(max(1.0, n_classes * priors.max()), _MAX_OVERSAMPLING) * 1.15
    wanted = math.ceil(n_rows * factor) + 5 * n_classes
    return min(wanted, max(n_rows + 5 * n_classes, _MAX_GENERATED_CELLS // n_features))


def _subsample_classes(rng, y: np.ndarray, n_classes: int, priors: np.ndarray, natural: bool,
                       n_rows: int):
    """Row indices reaching ``priors`` (or the natural shares) with ``n_rows`` rows at most.

    Classes with fewer than ``MIN_CLASS_ROWS`` rows are dropped; returns None when fewer than
    two classes remain. Each class keeps at least ``MIN_CLASS_ROWS`` rows.
    """
    counts = np.bincount(y, minlength=n_classes)
    present = np.flatnonzero(counts >= MIN_CLASS_ROWS)
    if len(present) < 2:
        return None
    available = counts[present]
    shares = available / available.sum() if natural else priors[present]
    shares = shares / shares.sum()
    total = min(n_rows, int(np.floor((available / shares).min())))
    take = np.clip(np.floor(total * shares).astype(np.int64), MIN_CLASS_ROWS, available)
    excess = int(take.sum()) - n_rows
    for k in np.argsort(-take, kind="stable"):
        if excess <= 0:
            break
        cut = min(excess, int(take[k]) - MIN_CLASS_ROWS)
        take[k] -= cut
        excess -= cut
    rows = [rng.choice(np.flatnonzero(y == k), size=int(t), replace=False)
            for k, t in zip(present, take, strict=True)]
    return rng.permutation(np.concatenate(rows))


_TRANSFORMS = ("exp", "log", "power", "scale", "integer", "categorise")


def _robust_z(values: np.ndarray) -> np.ndarray:
    centre = np.median(values)
    spread = np.subtract(*np.percentile(values, [75, 25])) or values.std() or 1.0
    return np.clip((values - centre) / spread, -10.0, 10.0)


def _transform_columns(rng: np.random.Generator, X: pd.DataFrame):
    """Monotone transforms of some numeric columns; returns the frame and what was done."""
    done: dict[str, str] = {}
    if rng.random() < 0.4:
        return X, done
    share = float(rng.uniform(0.1, 0.7))
    X = X.copy()
    for name in X.columns:
        column = X[name]
        if not pd.api.types.is_numeric_dtype(column) or rng.random() >= share:
            continue
        kind = _choice(rng, _TRANSFORMS, p=[0.2, 0.15, 0.15, 0.25, 0.15, 0.1])
        values = column.to_numpy(dtype=float)
        z = _robust_z(values)
        if kind == "exp":
            new = np.exp(rng.uniform(0.3, 1.5) * z) * 10 ** rng.uniform(-1.0, 3.0)
        elif kind == "log":
            scale = (np.subtract(*np.percentile(values, [75, 25])) or 1.0) * _log_uniform(
                rng, 0.01, 1.0)
            new = np.log1p((values - values.min()) / scale)
        elif kind == "power":
            new = np.sign(z) * np.abs(z) ** _log_uniform(rng, 1 / 3, 3.0)
        elif kind == "scale":
            new = values * 10 ** rng.uniform(-3.0, 4.0) + rng.normal() * 10 ** rng.uniform(
                -2.0, 4.0)
        elif kind == "integer":
            new = np.round(z * _log_uniform(rng, 1.0, 20.0)).astype(np.int64)
        else:
            n_bins = int(rng.integers(2, 9))
            edges = np.unique(np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1]))
            names = np.array([f"bin{k}" for k in range(len(edges) + 1)], dtype=object)
            new = pd.Series(names[np.searchsorted(edges, values, side="right")], dtype=object)
        X[name] = new
        done[name] = kind
    return X, done


def _inject_missing(rng: np.random.Generator, X: pd.DataFrame):
    """Blank cells of some columns (MCAR, MAR or MNAR); returns the frame and what was done."""
    info: dict = {"mechanism": "none", "columns": {}}
    if rng.random() < 0.5:
        return X, info
    mechanism = _choice(rng, ["mcar", "mar", "mnar"], p=[0.45, 0.4, 0.15])
    n_columns = X.shape[1]
    share = float(rng.uniform(0.05, 1.0))
    chosen = np.flatnonzero(rng.random(n_columns) < share)
    if not len(chosen):
        chosen = rng.choice(n_columns, size=1)
    max_rate = float(rng.uniform(0.02, 0.3))
    info.update(mechanism=mechanism, max_rate=max_rate)
    n_rows = len(X)
    complete = np.setdiff1d(np.arange(n_columns), chosen)
    if not len(complete):
        complete = np.arange(n_columns)
    X = X.copy()
    masks = {}
    for j in chosen:
        rate = float(rng.uniform(0.1, 1.0)) * max_rate
        if mechanism == "mcar":
            probability = np.full(n_rows, rate)
        else:
            driver = X.iloc[:, j if mechanism == "mnar" else int(rng.choice(complete))]
            rank = driver.rank(method="first").to_numpy() / n_rows
            if rng.random() < 0.5:
                rank = 1.0 - rank + 1.0 / n_rows
            sharpness = float(rng.uniform(1.0, 4.0))
            probability = np.minimum(rate * (sharpness + 1) * rank**sharpness, 1.0)
        masks[j] = rng.random(n_rows) < probability
    for j, mask in masks.items():
        column = X.iloc[:, j]
        if pd.api.types.is_numeric_dtype(column):
            values = column.to_numpy(dtype=float, copy=True)
            values[mask] = np.nan
            X[X.columns[j]] = values
        else:
            values = column.to_numpy(dtype=object, copy=True)
            values[mask] = np.nan
            X[X.columns[j]] = pd.Series(values, dtype=object, index=X.index)
        info["columns"][X.columns[j]] = round(float(mask.mean()), 4)
    return X, info


def _format_labels(rng: np.random.Generator, y: np.ndarray, n_classes: int):
    """Permute the class codes and write them as ints (from 0 or 1) or strings."""
    codes = rng.permutation(n_classes)[y]
    style = _choice(rng, ["int", "int_from_1", "str_class", "str_letter"],
                    p=[0.4, 0.2, 0.25, 0.15])
    if style == "str_letter" and n_classes > 26:
        style = "str_class"
    if style == "int":
        return pd.Series(codes, name="target"), style
    if style == "int_from_1":
        return pd.Series(codes + 1, name="target"), style
    if style == "str_class":
        names = np.array([f"class_{k}" for k in range(n_classes)], dtype=object)
    else:
        names = np.array([chr(ord("A") + k) for k in range(n_classes)], dtype=object)
    return pd.Series(names[codes], name="target", dtype=object), style


def _jsonable(value):
    """Params as plain JSON types (numpy scalars and arrays converted)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        return round(float(value), 6)
    return value


# --------------------------------------------------------------------------- public API


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def generator_rng(generator: str, seed: int) -> np.random.Generator:
    """The random generator of dataset ``(generator, seed)``, the same in every process."""
    return np.random.default_rng([int(seed), _stable_int(generator)])


def _check_generator(generator: str) -> None:
    if generator not in GENERATORS:
        raise ValueError(
            f"Unknown synthetic generator {generator!r}. Known generators: "
            f"{', '.join(GENERATORS)}."
        )


def make_synthetic(generator: str, seed: int, *, n_rows: int | None = None,
                   n_features: int | None = None, n_classes: int | None = None) -> Dataset:
    """Generate dataset number ``seed`` of the prior ``generator``.

    Parameters
    ----------
    generator : str
        A key of :data:`GENERATORS`.
    seed : int
        Non-negative; with ``generator`` it fixes every random choice.
    n_rows, n_features, n_classes : int, optional
        Override the drawn sizes (for tests and small experiments). The id then carries
        them, so it never names two different tables. ``n_rows`` is a target: class priors
        may leave fewer rows.

    Returns
    -------
    Dataset
        ``id`` is ``"synthetic/{generator}/{seed}"``; ``provenance["params"]`` records every
        random choice (JSON-serialisable), the target sizes and the class counts.

    Raises
    ------
    ValueError
        For an unknown generator, a negative seed or impossible sizes.

    Examples
    --------
    >>> from pretrain.sources.synthetic import make_synthetic
    >>> data = make_synthetic("manifold", 3)
    >>> data.id
    'synthetic/manifold/3'
    >>> make_synthetic("manifold", 3).X.equals(data.X)
    True
    """
    _check_generator(generator)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    seed = int(seed)
    rng = generator_rng(generator, seed)
    drawn = draw_sizes(rng)  # drawn even when overridden, so the rest of the stream is stable
    overrides = {"n_rows": n_rows, "n_features": n_features, "n_classes": n_classes}
    overrides = {k: int(v) for k, v in overrides.items() if v is not None}
    sizes = dict(zip(("n_rows", "n_features", "n_classes"), drawn, strict=True))
    sizes.update(overrides)
    if "n_classes" not in overrides:  # the cap of draw_sizes, for an overridden n_rows
        sizes["n_classes"] = max(2, min(sizes["n_classes"], sizes["n_rows"] // MIN_CLASS_ROWS))
    n_rows, n_features, n_classes = sizes["n_rows"], sizes["n_features"], sizes["n_classes"]
    if n_features < MIN_FEATURES or n_classes < 2 or n_rows < MIN_CLASS_ROWS * n_classes:
        raise ValueError(
            f"Impossible sizes {sizes}: need n_features >= {MIN_FEATURES}, n_classes >= 2 "
            f"and n_rows >= {MIN_CLASS_ROWS} * n_classes."
        )

    priors, imbalance = _draw_class_priors(rng, n_rows, n_classes)
    n_generated = _rows_to_generate(n_rows, n_features, n_classes, priors)
    rows, attempts = None, 0
    while rows is None:  # a draw with fewer than two usable classes is drawn again, larger
        if attempts == _MAX_ATTEMPTS:
            raise RuntimeError(
                f"{generator} seed {seed}: no draw in {_MAX_ATTEMPTS} attempts had two "
                f"classes of at least {MIN_CLASS_ROWS} rows."
            )
        if attempts:
            n_generated = math.ceil(1.5 * n_generated)
        attempts += 1
        # One BLAS thread whatever the caller set: with more, matrix products may sum in
        # another order and differ in the last bit. Seen once in 1,214 regenerations
        # (random_mlp_scm/290: 64 cells, 1 ulp), so that table can only be scored from the
        # stored copy (`runs --source collection`), not regenerated elsewhere.
        with threadpool_limits(limits=1):
            X, y, generator_params = GENERATORS[generator](rng, n_generated, n_features,
                                                           n_classes)
        y = np.asarray(y, dtype=np.int64)
        assert X.shape == (n_generated, n_features), (generator, X.shape)
        rows = _subsample_classes(rng, y, n_classes, priors, imbalance["kind"] == "natural",
                                  n_rows)
    X = X.iloc[rows].reset_index(drop=True)
    _, y = np.unique(y[rows], return_inverse=True)  # codes 0..K'-1 for the classes kept

    X, transforms = _transform_columns(rng, X)
    X, missing = _inject_missing(rng, X)
    order = rng.permutation(n_features)
    roles = [str(X.columns[j]) for j in order]
    renamed = {old: f"x{i}" for i, old in enumerate(roles)}
    X = X.iloc[:, order].set_axis(list(renamed.values()), axis=1)
    y, label_style = _format_labels(rng, y, int(y.max()) + 1)

    counts = y.value_counts()
    if imbalance["kind"] != "natural":
        imbalance["priors"] = [round(float(p), 4) for p in priors]
    params = {
        "sizes": sizes,
        "generator": generator_params,
        "attempts": attempts,
        "rows_generated": n_generated,
        "imbalance": imbalance,
        "class_counts": {str(k): int(v) for k, v in counts.items()},
        "minority_share": round(float(counts.min() / counts.sum()), 4),
        "transforms": {renamed[k]: v for k, v in transforms.items()},
        "missing": {**missing, "columns": {renamed[k]: v
                                           for k, v in missing["columns"].items()}},
        "labels": label_style,
        "column_roles": {renamed[role]: role for role in roles},
    }
    dataset_id = f"synthetic/{generator}/{seed}"
    if overrides:
        params["drawn_sizes"] = dict(zip(("n_rows", "n_features", "n_classes"), drawn,
                                         strict=True))
        dataset_id += "/" + ",".join(f"{k}={v}" for k, v in overrides.items())
    return Dataset(
        id=dataset_id,
        X=X,
        y=y,
        provenance={
            "source": "synthetic",
            "name": dataset_id.removeprefix("synthetic/"),
            "generator": generator,
            "seed": seed,
            "licence": "generated",
            "domain": "synthetic",
            "params": _jsonable(params),
        },
    )


def iter_synthetic(count: int, seed: int = 0,
                   generators: Iterable[str] | None = None) -> Iterator[Dataset]:
    """Yield ``count`` synthetic datasets, cycling through ``generators`` round-robin.

    The ``j``-th dataset of each generator has seed ``seed * SEED_STRIDE + j``, so a
    dataset's id does not depend on ``count`` nor on which other generators are listed,
    and corpora made with different ``seed`` never share a dataset.

    Parameters
    ----------
    count : int
        Number of datasets.
    seed : int, default=0
        Corpus seed, non-negative.
    generators : iterable of str, optional
        Names from :data:`GENERATORS` (default: all, in their order).

    Returns
    -------
    iterator of Dataset
        Made lazily, one at a time.

    Examples
    --------
    >>> from pretrain.sources.synthetic import iter_synthetic
    >>> [d.id for d in iter_synthetic(3, generators=["manifold", "tree_rules"])]
    ['synthetic/manifold/0', 'synthetic/tree_rules/0', 'synthetic/manifold/1']
    """
    # Arguments are checked by synthetic_plan, when called, not at the first ``next``.
    return (make_synthetic(name, j) for name, j in synthetic_plan(count, seed, generators))


def synthetic_plan(count: int, seed: int = 0,
                   generators: Iterable[str] | None = None) -> list[tuple[str, int]]:
    """The ``(generator, seed)`` pairs :func:`iter_synthetic` makes, without making them.

    Lets a parallel caller hand each worker a pair to generate, instead of generating
    every table in the launching process.
    """
    names = list(GENERATORS) if generators is None else list(generators)
    if not names:
        raise ValueError("generators is empty; pass None for all of them.")
    for name in names:
        _check_generator(name)
    if count < 0 or seed < 0:
        raise ValueError(f"count and seed must be non-negative, got {count} and {seed}.")
    return [(names[index % len(names)], seed * SEED_STRIDE + index // len(names))
            for index in range(count)]
