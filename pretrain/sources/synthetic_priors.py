"""The nine synthetic priors (:data:`GENERATORS`), each built around one kind of concept
and favouring a different algorithm family:

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

"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.special import ndtr

from pretrain.sources.synthetic_blocks import (
    _balanced_labels,
    _choice,
    _embed,
    _flip_labels,
    _frame,
    _gumbel_argmax,
    _label_noise_share,
    _log_uniform,
    _log_uniform_int,
    _mixed_marginals,
    _rotation,
    _standardize,
)

GeneratorFunction = Callable[
    [np.random.Generator, int, int, int], tuple[pd.DataFrame, pd.Series, dict]
]




























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
