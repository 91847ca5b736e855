"""Whether a table lies inside what the model was trained on, said in words.

The training corpus holds tables of at least :data:`MIN_ROWS` rows with 2 to
:data:`MAX_CLASSES` classes (the curation rules of ``pretrain``), and the tokenizer knows each
meta-feature's range on the training datasets. A table outside them gets predictions that
are extrapolations: a 4-row table was given predicted balanced accuracies of 0.09-0.26,
below chance, without a word. :func:`coverage_notes` names what is outside, and
``LLMAlgorithmSelector`` raises a :class:`CoverageWarning` with those notes; the ranking is
still returned (cross-validation in ``fit`` decides among the candidates either way).
"""

from __future__ import annotations

import numpy as np

#: The fewest rows of a corpus table (curation's ``min_rows``).
MIN_ROWS = 30
#: The most classes of a corpus table (curation's ``max_classes``).
MAX_CLASSES = 50
#: Share of meta-features outside their training range from which a table is unlike the
#: corpus. Chosen on the corpus, not on a benchmark: of the 143 real validation and test
#: datasets (outside the bundled model's training split) none had more than 3 of 73.
MAX_OUT_OF_RANGE_SHARE = 0.10


class CoverageWarning(UserWarning):
    """The table lies outside what the model was trained on; its predictions extrapolate."""


def coverage_notes(vector, tokenizer, n_rows: int, n_classes: int) -> list[str]:
    """Sentences naming how this table lies outside the training corpus (empty if inside)."""
    notes = []
    if n_rows < MIN_ROWS:
        notes.append(f"the table has {n_rows} rows, fewer than any of the model's training "
                     f"tables (at least {MIN_ROWS}): its predicted scores are a guess, and "
                     "cross-validation on so few rows is noisy too")
    if n_classes > MAX_CLASSES:
        notes.append(f"the target has {n_classes} classes, more than any training table "
                     f"(at most {MAX_CLASSES})")
    low = getattr(tokenizer, "train_min_", None)
    high = getattr(tokenizer, "train_max_", None)
    if low is not None and high is not None:
        values = np.asarray(vector, dtype=np.float64)
        finite = np.isfinite(values) & np.isfinite(low) & np.isfinite(high)
        outside = finite & ((values < low) | (values > high))
        if outside.sum() > MAX_OUT_OF_RANGE_SHARE * len(values):
            names = [tokenizer.feature_names[j] for j in np.flatnonzero(outside)[:5]]
            notes.append(f"{int(outside.sum())} of its {len(values)} meta-features lie outside "
                         f"the range of the training tables (e.g. {', '.join(names)})")
    return notes
