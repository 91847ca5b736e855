"""A random forest of meta-learners as plain arrays, blended with the transformer's scores.

On the decision protocol (grouped cross-validation over the corpus's real datasets, see
``docs/decisions.md``) a random forest regressing every pipeline's score on the same
meta-features, real tables weighted more than synthetic ones, ranked better at top 1 than
the transformer alone, and a blend of the two better than either. The forest ships beside
the network as ``forest.safetensors``: its trees' node arrays (no pickle), the training
medians that fill missing meta-features, and the blend weight in the metadata. It is
trained by ``pretrain`` (``pretrain/forest.py``); this module only reads and predicts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skllmselect.loading import FOREST_NAME  # noqa: F401 (one name for the file)

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def as_tree_input(X) -> np.ndarray:
    """X as scikit-learn's trees read it: float32 values (clipped to float32's range first,
    since a few real tables' meta-features reach beyond it), back in float64."""
    X = np.clip(np.asarray(X, dtype=np.float64), -_FLOAT32_MAX, _FLOAT32_MAX)
    return X.astype(np.float32).astype(np.float64)


@dataclass(frozen=True)
class Forest:
    """Trees as concatenated node arrays; node ``i`` of tree ``t`` is ``roots[t] + i``."""

    left: np.ndarray
    """(N,) int64, absolute index of the left child, -1 at a leaf."""
    right: np.ndarray
    """(N,) int64, absolute index of the right child, -1 at a leaf."""
    feature: np.ndarray
    """(N,) int64, the meta-feature a split reads (unused at a leaf)."""
    threshold: np.ndarray
    """(N,) float64, go left when the value is <= threshold."""
    value: np.ndarray
    """(N, P) float64, each node's mean score per pipeline (read at the leaves)."""
    roots: np.ndarray
    """(T,) int64, each tree's root node."""
    median: np.ndarray
    """(F,) float64, training medians that replace missing meta-features."""
    weight: float
    """Share of the forest in the blended score: (1 - weight) * network + weight * forest."""

    def predict(self, meta) -> np.ndarray:
        """Mean over trees of each pipeline's predicted score, (n, P)."""
        X = np.atleast_2d(np.asarray(meta, dtype=np.float64))
        X = as_tree_input(np.where(np.isfinite(X), X, self.median))
        node = np.broadcast_to(self.roots, (len(X), len(self.roots))).copy()  # (n, T)
        rows = np.arange(len(X))[:, None]
        while True:
            inner = self.left[node] >= 0
            if not inner.any():
                break
            go_left = X[rows, self.feature[node]] <= self.threshold[node]
            step = np.where(go_left, self.left[node], self.right[node])
            node = np.where(inner, step, node)
        return self.value[node].mean(axis=1)

    def blend(self, network_scores, meta) -> np.ndarray:
        """The blended scores of one or more datasets."""
        return (1.0 - self.weight) * np.asarray(network_scores) + self.weight * self.predict(meta)


def save_forest(forest: Forest, path, metadata: dict | None = None) -> Path:
    """Write ``forest.safetensors`` (arrays, and the weight and ``metadata`` as text)."""
    import safetensors.numpy

    # Compact on disk: node indices as int32, leaf scores as float32 (scores need no more);
    # thresholds and medians stay float64 so that every split decides exactly as trained.
    dtypes = {"left": np.int32, "right": np.int32, "feature": np.int32, "roots": np.int32,
              "value": np.float32, "threshold": np.float64, "median": np.float64}
    tensors = {name: np.ascontiguousarray(getattr(forest, name), dtype=dtype)
               for name, dtype in dtypes.items()}
    meta = {"weight": repr(float(forest.weight)), **{k: json.dumps(v) for k, v in
                                                       (metadata or {}).items()}}
    safetensors.numpy.save_file(tensors, str(path), metadata=meta)
    return Path(path)


def read_forest(folder, n_features: int, n_pipelines: int) -> Forest | None:
    """The forest of a model folder, or None when it has none.

    Raises
    ------
    ValueError
        The file is damaged or made for another meta-feature list or portfolio.
    """
    import safetensors
    import safetensors.numpy

    path = Path(folder) / FOREST_NAME
    if not path.is_file():
        return None
    try:
        arrays = safetensors.numpy.load_file(str(path))
        with safetensors.safe_open(str(path), "np") as handle:
            weight = float(handle.metadata()["weight"])
        forest = Forest(**{k: arrays[k].astype(np.float64 if k in ("threshold", "value",
                                                                      "median") else np.int64)
                           for k in ("left", "right", "feature", "threshold", "value", "roots",
                                     "median")}, weight=weight)
    except Exception as error:  # any unreadable file is the same problem for the user
        raise ValueError(f"{path} could not be read ({type(error).__name__}: {error}); "
                         "download the model again or delete that file.") from None
    n_nodes = len(forest.left)
    problems = []
    if forest.value.shape != (n_nodes, n_pipelines):
        problems.append(f"value has shape {forest.value.shape}, expected ({n_nodes}, "
                        f"{n_pipelines})")
    if forest.median.shape != (n_features,):
        problems.append(f"median has {forest.median.shape} values, expected {n_features}")
    for name in ("left", "right", "roots"):
        values = getattr(forest, name)
        if values.size and (values.max() >= n_nodes or values.min() < -1):
            problems.append(f"{name} points outside the {n_nodes} nodes")
    inner = forest.left >= 0
    index = np.arange(n_nodes)
    if (forest.left[inner] <= index[inner]).any() or (forest.right[inner] <= index[inner]).any():
        problems.append("a child comes before its parent (the trees must be acyclic)")
    if inner.any() and (forest.feature[inner].min() < 0
                        or forest.feature[inner].max() >= n_features):
        problems.append("a split reads a meta-feature that does not exist")
    if not 0.0 <= weight <= 1.0:
        problems.append(f"blend weight {weight} is not in [0, 1]")
    if problems:
        raise ValueError(f"{path} does not fit this model: " + "; ".join(problems) + ".")
    return forest
