"""Masked-token perplexity of the model's token head on held-out datasets."""

from __future__ import annotations

import math

import numpy as np


def masked_perplexity(network, tokenizer, metafeatures, *, train_metafeatures=None,
                      mlm_probability: float = 0.15, seed: int = 0) -> dict:
    """Masked-token perplexity of the model's token head on held-out datasets.

    The mask comes from :class:`pretrain.batches.Collator` (the training code's masking) with a
    fixed ``seed``; the loss is the cross-entropy of ``token_logits`` at the masked
    positions. With ``train_metafeatures``, the same masked tokens are also scored by a
    per-position unigram (each feature's bin frequencies on train, add-one smoothed within
    the feature's block), the perplexity of a model that ignores the other meta-features.
    """
    import torch

    from pretrain.batches import Collator, Split, encode_split

    meta = np.asarray(metafeatures, np.float64)
    n, P = len(meta), tokenizer.n_pipelines
    empty = np.zeros((n, P))
    split = Split(name="heldout", datasets=[str(i) for i in range(n)], metafeatures=meta,
                  scores=empty, score_mask=empty.astype(bool), log_fit_times=empty,
                  fit_time_mask=empty.astype(bool))
    encode_split(split, tokenizer)
    collator = Collator(tokenizer, architecture=network.config.architecture,
                        mlm_probability=mlm_probability, mask_missing=network.config.mask_missing)
    batch = collator(split, np.arange(n), seed=seed)
    network.eval()
    with torch.no_grad():
        out = network(batch["masked_input_ids"], batch["attention_mask"],
                      values=batch["masked_values"])
    labels = batch["token_labels"]
    chosen = labels != -100
    nll = torch.nn.functional.cross_entropy(
        out.token_logits.float()[chosen], labels[chosen], reduction="sum")
    count = int(chosen.sum())
    result = {"n_datasets": n, "n_masked_tokens": count,
              "mlm_probability": mlm_probability, "seed": seed,
              "perplexity": math.exp(float(nll) / count) if count else math.nan}
    if train_metafeatures is not None and count:
        train_ids = tokenizer.encode(np.asarray(train_metafeatures, np.float64))
        rows, positions = np.nonzero(chosen.numpy())
        total = 0.0
        for row, position in zip(rows, positions, strict=True):
            start, stop = tokenizer.feature_block(int(position) - 1)
            column = train_ids[:, position]
            counts = np.bincount(column - start, minlength=stop - start) + 1.0
            total -= math.log(counts[int(labels[row, position]) - start] / counts.sum())
        result["unigram_perplexity"] = math.exp(total / count)
    return result
