"""One meta-feature vector -> the network's answer: predicted scores, uncertainty, fit times, order.

The single implementation of inference after the meta-features: ``LLMAlgorithmSelector``
calls :func:`predict_and_rank` for every table, and the benchmarks and ``pretrain``'s
evaluation protocol call the same function (through the estimator, or on stored corpus
vectors), so what a benchmark reports is what the estimator computes. The forward pass is
:mod:`skllmselect.numpy_network`'s (numpy, no torch import).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skllmselect.numpy_network import as_numpy_network
from skllmselect.ranking import complementary_order, ineligible_last


@dataclass(frozen=True)
class Prediction:
    """The network's answer for one dataset, per pipeline in ``config.pipeline_names`` order."""

    scores: np.ndarray
    """Predicted cross-validated score, clipped to [0, 1] (balanced accuracy), shape (P,)."""
    uncertainty: np.ndarray
    """The model's standard deviation of that prediction, shape (P,)."""
    fit_time: np.ndarray
    """Predicted seconds of the protocol's cross-validation, shape (P,)."""
    order: np.ndarray
    """Pipeline indices in the order ``fit`` tries them: the first ``k`` chosen as a set
    (:mod:`skllmselect.ranking`), ineligible pipelines last."""


def predict_and_rank(network, tokenizer, residuals, vector, k: int, *,
                     eligible=None, forest=None) -> Prediction:
    """Run the network on one meta-feature vector and order the pipelines.

    Parameters
    ----------
    network : NumpyNetwork or SelectorTransformer
        The network; a torch one (``pretrain``'s, just trained) is converted to a
        :class:`~skllmselect.numpy_network.NumpyNetwork` from its current weights first,
        so every caller gets the same computation.
    tokenizer : MetaFeatureTokenizer
    residuals : numpy.ndarray of shape (m, P) or None
        The model's training residuals (set-aware top k); None ranks by score.
    vector : array-like of shape (n_metafeatures,)
        From :func:`skllmselect.describe.describe`.
    k : int
        How many pipelines are chosen together (``top_k``).
    eligible : array-like of bool of shape (P,), optional
        False for pipelines the labels rule out; they come last.
    forest : skllmselect.forest.Forest, optional
        Blended into the network's scores (:mod:`skllmselect.forest`).
    """
    network = as_numpy_network(network)  # one implementation of the forward pass
    vector = np.asarray(vector)
    ids = tokenizer.encode(vector)[None, :]  # (1, L)
    attention_mask = None
    if network.config.mask_missing:  # trained with missing tokens masked out: do the same
        attention_mask = ~tokenizer.is_missing(ids)
    values = None  # where each value lies in its bin: computed only for a value channel
    if network.config.value_channel:
        values = tokenizer.encode_values(vector)[None, :]
    out = network.forward(ids, attention_mask, values)
    raw = out.scores[0].astype(np.float64)  # (P,)
    if forest is not None:
        raw = forest.blend(raw, vector.astype(np.float64))[0]
    std = np.exp(0.5 * out.score_log_var[0]).astype(np.float64)
    seconds = np.exp(out.log_fit_time[0]).astype(np.float64)
    decoded = None
    if network.config.architecture == "encoder-decoder":  # the decoder writes the order
        decoded = network.rank(ids, attention_mask, values)[0]
    if eligible is None:
        eligible = np.ones(len(raw), dtype=bool)
    if decoded is not None:
        order = ineligible_last(decoded, eligible)
    else:
        order = complementary_order(raw, residuals, k, eligible=eligible)
    # A regression head can step past the metric's range (1.0003 was seen): the reported
    # scores are clipped to it, the order keeps the head's own (clipping would make ties).
    scores = np.clip(raw, 0.0, 1.0)
    return Prediction(scores=scores, uncertainty=std, fit_time=seconds, order=np.asarray(order))
