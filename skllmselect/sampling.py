"""Stratified row subsampling that never loses a class: shared by meta-features and ground truth."""

from __future__ import annotations

import numpy as np

# The rows the training corpus describes: at most this many labelled rows, a stratified
# subsample keeping CORPUS_N_SPLITS rows per class, seed CORPUS_SEED; meta-features are then
# extracted with CORPUS_EXTRACT_ARGS. pretrain's ground-truth protocol and corpus take their
# defaults from here, and the selector applies the same at inference, so the model never
# reads a kind of vector it was not trained on.
CORPUS_MAX_ROWS = 2000
CORPUS_N_SPLITS = 5
CORPUS_SEED = 0
CORPUS_EXTRACT_ARGS = {"time_budget": None, "random_state": CORPUS_SEED}


def stratified_subsample(y, max_rows: int, *, min_per_class: int = 1, random_state=0):
    """Return sorted row indices of a stratified subsample of at most about ``max_rows`` rows.

    Each class keeps its share of the rows, but never fewer than ``min(count, min_per_class)``
    rows, so a rare class survives the cut (scikit-learn's ``train_test_split(stratify=...)``
    refuses classes with one member and may drop rare ones). When the data already fit, every
    index is returned. The result depends only on ``y`` and ``random_state``, not on the
    columns, so it is the same for a column-permuted copy of the data.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels.
    max_rows : int
        Target number of rows. The floor per class may add a few more.
    min_per_class : int, default=1
        Rows each class keeps at least (or all of its rows, if it has fewer).
    random_state : int, numpy Generator or None, default=0
        Seed of the draw.

    Returns
    -------
    numpy.ndarray of int
        Row positions in increasing order.
    """
    y = np.asarray(y)
    n_rows = len(y)
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, got {max_rows}.")
    if n_rows <= max_rows:
        return np.arange(n_rows)
    rng = np.random.default_rng(random_state)
    _, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    fraction = max_rows / n_rows
    chosen = []
    for code, count in enumerate(counts):
        members = np.flatnonzero(codes == code)
        keep = max(min(count, min_per_class), int(round(count * fraction)))
        chosen.append(rng.choice(members, size=min(keep, count), replace=False))
    return np.sort(np.concatenate(chosen))
