"""The corpus as token batches: splits, the tokenizer fitted on train, a resumable sampler.

:meth:`CorpusData.load` reads ``corpus.parquet`` and ``manifest.json``, checks that the
corpus was built with this code's meta-features and portfolio, fits the tokenizer on the
training split only, and encodes every split once. :class:`BatchSampler` gives each rank a
disjoint shard of a per-epoch permutation that depends only on ``(seed, epoch)``, and
:class:`DataPosition` (epoch, cursor) says where it stands, so a checkpoint resumes the exact
batch sequence. :class:`Collator` turns dataset indices into the tensors the model and the
losses read; its random masking is seeded per batch, never from global state.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from skllmselect.metafeatures import METAFEATURE_NAMES
from skllmselect.portfolio import PIPELINE_NAMES
from skllmselect.tokenizer import MetaFeatureTokenizer

SPLITS = ("train", "validation", "test")
IGNORE_INDEX = -100  # label of a position no token loss is computed at (torch's default)


@dataclass
class Split:
    """One split's arrays, rows in corpus order."""

    name: str
    datasets: list[str]
    metafeatures: np.ndarray
    """(n, F) float64, NaN where a meta-feature is missing."""
    scores: np.ndarray
    """(n, P) the protocol's score: balanced accuracy, or chance level (1 / n_classes) where
    the pipeline failed or timed out (``runs.py``, step 5), so that the model learns to steer
    away from pipelines that break on such data, as the benchmarks penalise them. NaN only
    where no score exists at all."""
    score_mask: np.ndarray
    """(n, P) bool, True where a score exists."""
    log_fit_times: np.ndarray
    """(n, P) log(seconds), NaN where the pipeline failed or took no measurable time."""
    fit_time_mask: np.ndarray
    """(n, P) bool, True where a fit time was observed."""
    input_ids: np.ndarray | None = None
    """(n, 1 + F) int64 token ids, set by :meth:`CorpusData.load`."""
    values: np.ndarray | None = None
    """(n, 1 + F) float32 positions of the values inside their bins, aligned with
    ``input_ids`` (:meth:`MetaFeatureTokenizer.encode_values`), set with them."""

    def __len__(self) -> int:
        return len(self.datasets)


@dataclass
class CorpusData:
    """The corpus, split and tokenized. Build it with :meth:`load`."""

    manifest: dict
    splits: dict[str, Split]
    tokenizer: MetaFeatureTokenizer

    @classmethod
    def load(cls, corpus_dir, *, n_bins: int = 32) -> CorpusData:
        """Read a corpus folder and fit the tokenizer on its training split.

        Parameters
        ----------
        corpus_dir : path
            Folder with ``corpus.parquet`` and ``manifest.json`` (``python -m pretrain corpus``).
        n_bins : int
            Bins per meta-feature for :class:`~skllmselect.tokenizer.MetaFeatureTokenizer`.

        Raises
        ------
        FileNotFoundError
            If a file is missing.
        ValueError
            If the manifest names other meta-features or pipelines than this code, a column
            is missing, or the training split is empty.
        """
        corpus_dir = Path(corpus_dir)
        paths = {name: corpus_dir / name for name in ("corpus.parquet", "manifest.json")}
        for name, path in paths.items():
            if not path.is_file():
                raise FileNotFoundError(
                    f"No {name} in {str(corpus_dir)!r}; build the corpus with "
                    f"`python -m pretrain corpus ... --out {corpus_dir}` or pass --corpus.")
        manifest = json.loads(paths["manifest.json"].read_text(encoding="utf-8"))
        check_manifest(manifest)
        table = pd.read_parquet(paths["corpus.parquet"])
        splits = {name: _split_arrays(table, name) for name in SPLITS}
        if not len(splits["train"]):
            raise ValueError(f"The corpus in {str(corpus_dir)!r} has no 'train' datasets; "
                             "nothing to fit the tokenizer or the model on.")
        tokenizer = MetaFeatureTokenizer(list(METAFEATURE_NAMES), list(PIPELINE_NAMES),
                                         n_bins=n_bins)
        tokenizer.fit(splits["train"].metafeatures)  # train only: no peeking at held-out bins
        for split in splits.values():
            encode_split(split, tokenizer)
        return cls(manifest=manifest, splits=splits, tokenizer=tokenizer)

    @property
    def content_hashes(self) -> dict:
        """The manifest's hashes of the datasets, meta-features and ground truth."""
        return dict(self.manifest.get("content_hashes", {}))


def encode_split(split: Split, tokenizer: MetaFeatureTokenizer) -> None:
    """Set the split's token ids and the values' positions in their bins from its vectors."""
    if len(split):
        split.input_ids = tokenizer.encode(split.metafeatures)
        split.values = tokenizer.encode_values(split.metafeatures).astype(np.float32)
    else:
        split.input_ids = np.empty((0, tokenizer.sequence_length), dtype=np.int64)
        split.values = np.empty((0, tokenizer.sequence_length), dtype=np.float32)


def check_manifest(manifest: dict) -> None:
    """Raise ``ValueError`` unless the manifest's meta-features and pipelines are this code's."""
    for key, expected, where in (
            ("metafeature_names", METAFEATURE_NAMES, "skllmselect.metafeatures.METAFEATURE_NAMES"),
            ("pipelines", PIPELINE_NAMES, "skllmselect.portfolio.PIPELINE_NAMES")):
        found = manifest.get(key)
        if found is None:
            raise ValueError(f"The corpus manifest has no {key!r}; rebuild the corpus with "
                             "`python -m pretrain corpus`.")
        if list(found) != list(expected):
            added = [n for n in found if n not in expected]
            removed = [n for n in expected if n not in found]
            detail = (f"only in the corpus: {added[:5]}, only in the code: {removed[:5]}"
                      if added or removed else "same names, different order")
            raise ValueError(
                f"The corpus manifest's {key} differ from {where} ({detail}). The corpus was "
                "built with another version of skllmselect; rebuild it with "
                "`python -m pretrain corpus` (or check out the matching code).")


def _split_arrays(table: pd.DataFrame, name: str) -> Split:
    needed = (["dataset", "split"] + [f"mf.{n}" for n in METAFEATURE_NAMES]
              + [f"{kind}.{p}" for kind in ("score", "status", "fit_time")
                 for p in PIPELINE_NAMES])
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ValueError(f"corpus.parquet lacks the columns {missing[:5]} "
                         f"({len(missing)} in all); rebuild it with `python -m pretrain corpus`.")
    rows = table[table["split"] == name]
    meta = rows[[f"mf.{n}" for n in METAFEATURE_NAMES]].to_numpy(dtype=np.float64)
    score = rows[[f"score.{p}" for p in PIPELINE_NAMES]].to_numpy(dtype=np.float64)
    ok = rows[[f"status.{p}" for p in PIPELINE_NAMES]].to_numpy() == "ok"
    seconds = rows[[f"fit_time.{p}" for p in PIPELINE_NAMES]].to_numpy(dtype=np.float64)
    # A failed pipeline's score is the protocol's chance level: a real outcome to learn
    # (selecting it is as bad as a constant prediction), not a missing value.
    score_mask = np.isfinite(score)
    time_mask = ok & np.isfinite(seconds) & (seconds > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_seconds = np.where(time_mask, np.log(np.where(time_mask, seconds, 1.0)), np.nan)
    return Split(name=name, datasets=rows["dataset"].astype(str).tolist(), metafeatures=meta,
                 scores=np.where(score_mask, score, np.nan), score_mask=score_mask,
                 log_fit_times=log_seconds, fit_time_mask=time_mask)


# ------------------------------------------------------------------------------- sampling


@dataclass
class DataPosition:
    """Where a rank stands in its stream of batches: epoch and offset into its shard."""

    epoch: int = 0
    cursor: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


class BatchSampler:
    """Deterministic, resumable, sharded batches of dataset indices.

    Epoch ``e`` is a permutation of ``range(n)`` drawn from ``(seed, e)`` alone; rank ``r`` of
    ``w`` takes every ``w``-th element from ``r`` (the last ``n % w`` are dropped so all ranks
    have the same count), so ranks see disjoint shards in lockstep. A batch that would run past
    the end of the shard starts the next epoch instead (the remainder is dropped), which keeps
    the batch size exact even while it changes step to step.
    """

    def __init__(self, n: int, *, seed: int, rank: int = 0, world_size: int = 1,
                 repeats=None):
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, world_size), got rank={rank}, "
                             f"world_size={world_size}.")
        # An epoch visits dataset i repeats[i] times (all once by default).
        self.items = np.arange(n) if repeats is None else np.repeat(np.arange(n), repeats)
        if len(self.items) < world_size:
            raise ValueError(f"{n} datasets cannot be shared by {world_size} ranks.")
        self.n, self.seed, self.rank, self.world_size = n, seed, rank, world_size
        self.shard_size = len(self.items) // world_size

    def order(self, epoch: int) -> np.ndarray:
        """This rank's dataset indices for ``epoch``, in visiting order."""
        generator = torch.Generator().manual_seed(_mix(self.seed, epoch))
        permutation = self.items[torch.randperm(len(self.items), generator=generator).numpy()]
        return permutation[: self.shard_size * self.world_size][self.rank::self.world_size]

    def take(self, position: DataPosition, batch_size: int) -> tuple[np.ndarray, DataPosition]:
        """The next ``batch_size`` indices after ``position``, and the position after them."""
        if batch_size > self.shard_size:
            raise ValueError(f"batch_size {batch_size} exceeds the {self.shard_size} training "
                             f"datasets per rank; lower OptimConfig.batch_size.")
        epoch, cursor = position.epoch, position.cursor
        if cursor + batch_size > self.shard_size:
            epoch, cursor = epoch + 1, 0
        indices = self.order(epoch)[cursor:cursor + batch_size]
        return indices, DataPosition(epoch, cursor + batch_size)


def _mix(*values: int) -> int:
    """A 63-bit seed from a tuple of non-negative ints (stable across runs and platforms)."""
    return int(np.random.SeedSequence([int(v) for v in values]).generate_state(2, np.uint64)[0]
               >> np.uint64(1))


def batch_seed(seed: int, epoch: int) -> int:
    """Seed of the token masking in ``epoch``; each dataset's mask then depends on its index.

    Masks are drawn per dataset (not per batch), so a dataset gets the same mask wherever it
    lands: on one process with a batch of ``2B`` or on either of two ranks with ``B`` each.
    That is what lets a data-parallel run reproduce the single-process run.
    """
    return _mix(seed, epoch, 1)


# ------------------------------------------------------------------------------- batches


class Collator:
    """Dataset indices -> a dict of tensors for the model and :mod:`pretrain.losses`.

    Keys (``B`` datasets, ``L = 1 + F`` tokens, ``P`` pipelines):

    - ``input_ids`` (B, L): the clean tokens; ``attention_mask`` (B, L) bool, True = attend
      (all True unless ``mask_missing``, which hides missing-value tokens).
    - ``values`` (B, L) float32: each token's position inside its bin, in [0, 1]
      (:meth:`~skllmselect.tokenizer.MetaFeatureTokenizer.encode_values`; 0 at [CLS] and
      missing values), what a model with ``value_channel`` reads beside ``input_ids``.
    - ``masked_input_ids`` (B, L): what the model reads during training. Encoder and
      encoder-decoder: ``input_ids`` with a ``mlm_probability`` share of the meta-feature
      positions replaced by [MASK]; decoder: ``input_ids``. ``masked_values`` (B, L): the
      ``values`` beside them, 0 at a masked position (as for a missing value), so that the
      value channel does not give the masked token away.
    - ``token_labels`` (B, L): the target of ``token_logits``: the original id at masked
      positions (encoder) or the next token (decoder: position i holds token i + 1);
      ``IGNORE_INDEX`` elsewhere.
    - ``scores``, ``score_mask``, ``log_fit_times``, ``fit_time_mask`` (B, P): targets
      (0 where unobserved) and where they were observed.
    - encoder-decoder only: ``decoder_input_ids`` (B, P + 1) = [BOS] + the pipeline tokens
      sorted by true score (best first, stable; failed ones last, in portfolio order) and
      ``decoder_labels`` (B, P + 1) = those tokens + [EOS], ``IGNORE_INDEX`` for failed ones
      (their order carries no information).
    """

    def __init__(self, tokenizer: MetaFeatureTokenizer, *, architecture: str,
                 mlm_probability: float, mask_missing: bool = False):
        self.tokenizer = tokenizer
        self.architecture = architecture
        self.mlm_probability = mlm_probability
        self.mask_missing = mask_missing
        self._missing_ids = torch.as_tensor(tokenizer.missing_token_ids)
        self._pipeline_ids = torch.as_tensor(tokenizer.pipeline_token_ids)

    def __call__(self, split: Split, indices, *, seed: int) -> dict[str, torch.Tensor]:
        index = torch.as_tensor(np.asarray(indices, dtype=np.int64))
        ids = torch.as_tensor(split.input_ids)[index]  # (B, L)
        if split.values is None:
            raise ValueError(f"split {split.name!r} has token ids but no values; set both "
                             "with pretrain.batches.encode_split.")
        values = torch.as_tensor(split.values, dtype=torch.float32)[index]  # (B, L)
        missing = torch.isin(ids, self._missing_ids)
        attention = ~missing if self.mask_missing else torch.ones_like(ids, dtype=torch.bool)
        scores = torch.as_tensor(split.scores)[index]
        score_mask = torch.as_tensor(split.score_mask)[index]
        times = torch.as_tensor(split.log_fit_times)[index]
        time_mask = torch.as_tensor(split.fit_time_mask)[index]
        batch = {
            "input_ids": ids,
            "values": values,
            "attention_mask": attention,
            "scores": torch.where(score_mask, scores, 0.0).float(),
            "score_mask": score_mask,
            "log_fit_times": torch.where(time_mask, times, 0.0).float(),
            "fit_time_mask": time_mask,
        }
        generator = torch.Generator().manual_seed(seed)
        if self.architecture == "decoder":
            labels = torch.full_like(ids, IGNORE_INDEX)
            labels[:, :-1] = ids[:, 1:]
            batch["masked_input_ids"], batch["token_labels"] = ids, labels
            batch["masked_values"] = values
        else:
            eligible = torch.ones_like(ids, dtype=torch.bool)
            eligible[:, 0] = False  # [CLS] is never masked
            if self.mask_missing:
                eligible &= ~missing  # hidden from attention anyway
            # One generator per dataset (see batch_seed): the mask of a dataset does not
            # depend on which other datasets share its batch, nor on the rank.
            draws = torch.stack([
                torch.rand(ids.shape[1], generator=generator.manual_seed(_mix(seed, int(i))))
                for i in index])
            chosen = draws < self.mlm_probability
            chosen &= eligible
            batch["masked_input_ids"] = torch.where(chosen, self.tokenizer.mask_id, ids)
            batch["masked_values"] = torch.where(chosen, 0.0, values)
            batch["token_labels"] = torch.where(chosen, ids, IGNORE_INDEX)
        if self.architecture == "encoder-decoder":
            batch.update(self._ranking(scores, score_mask))
        return batch

    def _ranking(self, scores, score_mask) -> dict[str, torch.Tensor]:
        B, P = scores.shape
        key = torch.where(score_mask, -scores, math.inf)  # failed last
        order = torch.sort(key, dim=1, stable=True).indices  # (B, P), best first
        tokens = self._pipeline_ids[order]
        bos = torch.full((B, 1), self.tokenizer.bos_id, dtype=torch.long)
        eos = torch.full((B, 1), self.tokenizer.eos_id, dtype=torch.long)
        observed = torch.gather(score_mask, 1, order)
        labels = torch.cat([torch.where(observed, tokens, IGNORE_INDEX), eos], dim=1)
        return {"decoder_input_ids": torch.cat([bos, tokens], dim=1), "decoder_labels": labels}
