"""The training objective: one function per part, and their weighted sum.

All parts are computed in float32 from a :class:`~skllmselect.model.SelectorOutput` and a
batch from :class:`~pretrain.batches.Collator`; a masked mean ignores what was not observed
(a failed pipeline has no score, a dataset with fewer than two observed scores no ranking).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pretrain.batches import IGNORE_INDEX
from pretrain.config import ObjectiveConfig


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp_min(1.0)


def score_nll(mean, log_var, target, mask) -> torch.Tensor:
    """Gaussian negative log-likelihood of the observed scores, a masked mean over (B, P).

    ``0.5 * (log_var + (target - mean)**2 / exp(log_var))``, without the constant
    ``0.5 * log(2 pi)``; it is negative once the predicted spread is small. The model clamps
    ``log_var``, which bounds the loss from below.
    """
    error = torch.where(mask, target - mean, 0.0)
    nll = 0.5 * (log_var + error.square() * torch.exp(-log_var))
    return _masked_mean(nll, mask)


def listwise_ranking(predicted, target, mask, temperature: float) -> torch.Tensor:
    """ListNet: cross-entropy between softmax(target / T) and softmax(predicted / T).

    Both softmaxes run over the observed pipelines of each dataset only. The entropy of the
    target distribution is subtracted (a constant: the gradients are the cross-entropy's),
    so the value is a KL divergence, 0 for a perfect ranking and scale. Datasets with fewer
    than two observed scores do not count.
    """
    very_negative = torch.finfo(torch.float32).min / 4  # -inf would give 0 * inf = NaN
    logits = torch.where(mask, predicted.float() / temperature, very_negative)
    target_logits = torch.where(mask, target.float() / temperature, very_negative)
    log_p = F.log_softmax(logits, dim=1)
    log_q = F.log_softmax(target_logits, dim=1)
    q = log_q.exp()
    kl = torch.where(mask, q * (log_q - log_p), 0.0).sum(dim=1)  # (B,)
    valid = mask.sum(dim=1) >= 2
    return _masked_mean(kl, valid)


def fit_time_mse(predicted, target, mask) -> torch.Tensor:
    """Mean squared error of log(seconds) over the observed fit times."""
    return _masked_mean(torch.where(mask, predicted - target, 0.0).square(), mask)


def token_cross_entropy(logits, labels) -> torch.Tensor:
    """Mean cross-entropy over labelled positions (``IGNORE_INDEX`` elsewhere); 0 if none.

    Masked tokens for the encoder, next tokens for the decoder, pipeline tokens for the
    ranking decoder. ``exp`` of its mean over a split is the perplexity.
    """
    labels = labels.reshape(-1)
    if not (labels != IGNORE_INDEX).any():
        return logits.sum() * 0.0  # keeps the graph (and DDP's bookkeeping) intact
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels,
                           ignore_index=IGNORE_INDEX)


def term_counts(batch: dict) -> dict[str, torch.Tensor]:
    """How many terms each part's masked mean averages over ``batch`` (see compute_losses)."""
    counts = {"score": batch["score_mask"].sum(),
              "ranking": (batch["score_mask"].sum(dim=1) >= 2).sum(),
              "fit_time": batch["fit_time_mask"].sum(),
              "mlm": (batch["token_labels"] != IGNORE_INDEX).sum()}
    if "decoder_labels" in batch:
        counts["decoder_ranking"] = (batch["decoder_labels"] != IGNORE_INDEX).sum()
    return counts


def compute_losses(output, batch: dict, objective: ObjectiveConfig, *,
                   batch_counts: dict | None = None) -> dict[str, torch.Tensor]:
    """Every loss part and their weighted sum under ``"total"``.

    Parts: ``score`` (Gaussian NLL), ``ranking`` (listwise KL), ``fit_time`` (MSE of
    log seconds), ``mlm`` (masked-token or, for the decoder, next-token cross-entropy) and,
    for the encoder-decoder, ``decoder_ranking`` (cross-entropy of the written ranking).

    ``batch_counts`` (:func:`term_counts` of a whole batch) says that ``batch`` is a piece
    of it (a pipeline micro-batch): each part is then scaled by the piece's share of the
    batch's terms, so that the pieces' parts sum to the whole batch's masked means.
    """
    parts = {
        "score": score_nll(output.scores, output.score_log_var, batch["scores"],
                           batch["score_mask"]),
        "ranking": listwise_ranking(output.scores, batch["scores"], batch["score_mask"],
                                    objective.ranking_temperature),
        "fit_time": fit_time_mse(output.log_fit_time, batch["log_fit_times"],
                                 batch["fit_time_mask"]),
        "mlm": token_cross_entropy(output.token_logits, batch["token_labels"]),
    }
    weights = {"score": objective.score_weight, "ranking": objective.ranking_weight,
               "fit_time": objective.fit_time_weight, "mlm": objective.mlm_weight}
    if output.ranking_logits is not None:
        parts["decoder_ranking"] = token_cross_entropy(output.ranking_logits,
                                                       batch["decoder_labels"])
        weights["decoder_ranking"] = objective.decoder_ranking_weight
    if batch_counts is not None:
        counts = term_counts(batch)
        for name in weights:
            parts[name] = parts[name] * (counts[name] / batch_counts[name].clamp_min(1))
    parts["total"] = sum(weights[name] * parts[name] for name in weights)
    return parts
