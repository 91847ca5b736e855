"""Train the forest meta-learner that the selector blends with its network (skllmselect.forest).

A scikit-learn ``RandomForestRegressor`` (multi-output: every pipeline's score) on the
meta-features of the training datasets, real tables weighted ``real_weight`` times, then
its trees' node arrays are written to ``forest.safetensors`` beside the model. Small on
purpose (``n_estimators=50``, ``min_samples_leaf=2``: about 7 MB), so that it ships inside
the package. It learns from the corpus's train and validation datasets: unlike the network,
it uses no validation set to stop, so holding those back would only take data from it.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import RandomForestRegressor

from skllmselect.forest import FOREST_NAME, Forest, save_forest

#: Defaults chosen on the decision protocol (docs/decisions.md): leaves of 2 rather than 5
#: (regret@1 3.61 against 3.69 blended, train and validation both), 50 trees rather than 100
#: (3.58, twice the file size).
N_ESTIMATORS = 50
MIN_SAMPLES_LEAF = 2
REAL_WEIGHT = 5.0
BLEND_WEIGHT = 0.5


def train_forest(meta, scores, is_real, *, weight: float = BLEND_WEIGHT,
                 real_weight: float = REAL_WEIGHT, n_estimators: int = N_ESTIMATORS,
                 min_samples_leaf: int = MIN_SAMPLES_LEAF, random_state: int = 0) -> Forest:
    """Fit the forest on (meta-features, scores) of the training datasets; return its arrays.

    The forest is the protocol's per-pipeline baseline (:class:`pretrain.evaluate.
    PerPipelineForest`: training medians for missing values, float32-range inputs), smaller.
    """
    from pretrain.evaluate import PerPipelineForest

    model = PerPipelineForest(n_estimators=n_estimators, min_samples_leaf=min_samples_leaf,
                              random_state=random_state)
    model.fit(meta, scores, sample_weight=np.where(np.asarray(is_real), real_weight, 1.0))
    return from_sklearn(model.forest_, model.median_, weight)


def from_sklearn(forest: RandomForestRegressor, median, weight: float) -> Forest:
    """The node arrays of a fitted multi-output forest, trees concatenated."""
    parts, roots, offset = [], [], 0
    for tree in forest.estimators_:
        t = tree.tree_
        inner = t.children_left >= 0
        shift = np.where(inner, offset, 0)
        parts.append((t.children_left + shift, t.children_right + shift, t.feature,
                      t.threshold, t.value[:, :, 0]))
        roots.append(offset)
        offset += t.node_count
    left, right, feature, threshold, value = (np.concatenate(p) for p in zip(*parts,
                                                                            strict=True))
    return Forest(left=left.astype(np.int64), right=right.astype(np.int64),
                  feature=np.where(left >= 0, feature, 0).astype(np.int64),
                  threshold=threshold.astype(np.float64), value=value.astype(np.float64),
                  roots=np.asarray(roots, np.int64), median=np.asarray(median, np.float64),
                  weight=float(weight))


#: The corpus splits the forest learns from (the test split is never used for training).
TRAINING_SPLITS = ("train", "validation")


def write_forest(model_dir, corpus, *, splits=TRAINING_SPLITS, **kwargs) -> dict:
    """Train the forest on corpus splits and write it into ``model_dir``; return a summary."""
    import json
    from pathlib import Path

    import pandas as pd

    from pretrain.evaluate import selection_table

    corpus = Path(corpus)
    table = selection_table(pd.read_parquet(corpus / "corpus.parquet"))
    table = table.subset(np.isin(table.groups["split"].to_numpy(), list(splits)))
    is_real = table.groups["source"].to_numpy() != "synthetic"
    forest = train_forest(table.metafeatures, table.scores, is_real, **kwargs)
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    path = save_forest(forest, Path(model_dir) / FOREST_NAME, metadata={
        "splits": ",".join(splits), "n_datasets": len(table), "n_real": int(is_real.sum()),
        "corpus_content_hashes": manifest.get("content_hashes", {}),
        "n_estimators": len(forest.roots), "nodes": len(forest.left)})
    return {"path": str(path), "nodes": len(forest.left), "weight": forest.weight,
            "megabytes": path.stat().st_size / 2**20}
