"""The training loop: corpus -> tokenizer (fitted on train) -> SelectorTransformer -> model/.

Run it alone (one process, CPU or one GPU)::

    python -m pretrain train --preset debug --corpus pretrain/data/corpus --out runs/debug
    python -m pretrain train --preset small --out runs/small --precision bf16 --device cuda

or from Python::

    from pretrain import presets
    from pretrain.train import train
    summary = train(presets.debug(out_dir="runs/debug"))

Under torchrun (``--distributed ddp``, ``zero1``, ``fsdp``, ``tp`` or ``pp``)::

    torchrun --standalone --nproc_per_node 4 -m pretrain train --preset full \\
        --out runs/full --distributed ddp

Re-running the same command resumes from the newest checkpoint in ``out_dir/checkpoints``
(``--no-resume`` starts over); a resumed run continues exactly where the killed one would
have gone (bit for bit in fp32 on CPU). What a run writes, from rank 0 only:
``metrics.jsonl`` (every row), ``train.csv`` and ``eval.csv`` (the same rows as tables),
``checkpoints/step_*.pt`` (resumable state, :mod:`pretrain.checkpoint`), ``model/``
(the exported model: ``model.safetensors`` + ``config.json``) and ``summary.json``.

The distributed contract
------------------------
:func:`train` gets a :class:`pretrain.distributed.Parallel` (one process, or DDP, ZeRO-1,
FSDP2, tensor or pipeline parallelism under torchrun) and lets it wrap the model, build
the optimizer, average the loss parts and gather full state dicts; the model knows nothing
of parallelism. The loop relies
on this: every rank runs every line (forward, eval, state gathering); only
``is_main`` writes files; the spike decision is taken on the all-reduced loss, so all ranks
skip or roll back together; checkpoints are read back by every rank after a ``barrier``.
Gradient accumulation uses the wrapped model's ``no_sync()`` when it has one (DDP), and the
gradient norm is reduced over shards when parameters are DTensors (FSDP2, TP) and over
stages under PP, whose schedule runs forward and backward itself (``Pipeline.train_step``).
"""

from __future__ import annotations

import contextlib
import csv
import functools
import json
import logging
import math
import random
import shutil
import time
from collections import deque
from pathlib import Path

import numpy as np
import torch
from scipy.stats import rankdata
from torch import nn

from pretrain import checkpoint, distributed
from pretrain.batches import BatchSampler, Collator, CorpusData, DataPosition, Split, batch_seed
from pretrain.config import GuardConfig, OptimConfig, TrainConfig
from pretrain.distributed import Parallel
from pretrain.jsonl import append_jsonl, read_jsonl
from pretrain.losses import compute_losses

log = logging.getLogger(__name__)

LOSS_PARTS = ("total", "score", "ranking", "fit_time", "mlm", "decoder_ranking")
TRAIN_COLUMNS = ("step", "epoch", "lr", "batch_size", "loss", "score", "ranking", "fit_time",
                 "mlm", "decoder_ranking", "grad_norm", "loss_scale", "tokens_per_s",
                 "elapsed_s", "event")
SELECTION = ("regret", "spearman", "top1")
EVAL_COLUMNS = (("step", "n_datasets", "val_loss")
                + tuple(f"val_{p}" for p in LOSS_PARTS[1:]) + ("val_perplexity",)
                + tuple(f"val_{m}" for m in SELECTION)
                + tuple(f"baseline_{m}" for m in SELECTION))


# ---------------------------------------------------------------------- schedule, optimizer


def lr_at(step: int, optim: OptimConfig) -> float:
    """Learning rate of the optimizer step that follows ``step`` completed ones.

    Linear warmup to ``optim.lr`` (reached at ``step == warmup_steps - 1``), then a cosine
    decay that reaches ``optim.min_lr`` at ``step == max_steps`` and stays there.
    """
    if step < optim.warmup_steps:
        return optim.lr * (step + 1) / optim.warmup_steps
    progress = min(1.0, (step - optim.warmup_steps) / max(1, optim.max_steps - optim.warmup_steps))
    return optim.min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (optim.lr - optim.min_lr)


def batch_size_at(step: int, optim: OptimConfig) -> int:
    """Micro-batch size at ``step``: the ramp of ``batch_size_schedule``, then ``batch_size``."""
    if optim.batch_size_schedule is None:
        return optim.batch_size
    start, ramp = optim.batch_size_schedule
    if step >= ramp:
        return optim.batch_size
    return int(round(start + (optim.batch_size - start) * step / ramp))


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """AdamW parameter groups: decay on matmul weights only.

    ``nn.Linear`` weights decay; biases, norm weights and embedding tables (including an
    output projection tied to the embedding) do not. Each group lists its parameter names
    under ``"names"``.
    """
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    matmuls = {id(m.weight) for m in model.modules() if isinstance(m, nn.Linear)}
    decay, no_decay = [], []
    for name, param in model.named_parameters():  # a tied parameter is listed once
        if param.requires_grad:
            is_matmul = id(param) in matmuls and id(param) not in embeddings
            (decay if is_matmul else no_decay).append((name, param))
    return [
        {"params": [p for _, p in decay], "weight_decay": weight_decay,
         "names": [n for n, _ in decay]},
        {"params": [p for _, p in no_decay], "weight_decay": 0.0,
         "names": [n for n, _ in no_decay]},
    ]


def adamw_kwargs(optim: OptimConfig, device: torch.device) -> dict:
    """AdamW's keyword arguments (``lr`` is overwritten each step by :func:`lr_at`)."""
    return {"lr": optim.lr, "betas": optim.betas, "eps": optim.eps,
            "fused": device.type == "cuda"}


def _no_sync(model: nn.Module):
    """Skip the gradient all-reduce of a micro-batch that is not the last (DDP)."""
    no_sync = getattr(model, "no_sync", None)
    return no_sync() if no_sync is not None else contextlib.nullcontext()


def _clip_grad_norm(model: nn.Module, max_norm: float) -> float:
    """Clip the global gradient norm (over all ranks' shards or stages); return the norm
    before clipping. Called once a step, after the last backward."""
    from torch.distributed.tensor import DTensor
    from torch.nn.utils import clip_grads_with_norm_, get_total_norm

    if hasattr(model, "clip_grad_norm"):  # a pipeline stage: the norm over all stages
        return model.clip_grad_norm(max_norm)
    params = [p for p in model.parameters() if p.grad is not None]
    # DTensor gradients (all of them under FSDP2, the split layers' under tensor
    # parallelism) and plain ones cannot share a norm kernel: one norm for each kind.
    groups = [g for g in ([p for p in params if isinstance(p.grad, DTensor)],
                          [p for p in params if not isinstance(p.grad, DTensor)]) if g]
    norms = [get_total_norm([p.grad for p in group]) for group in groups]
    norms = [n.full_tensor() if isinstance(n, DTensor) else n for n in norms]
    if not norms:
        return 0.0
    total = torch.linalg.vector_norm(torch.stack(norms))
    for group in groups:
        clip_grads_with_norm_(group, max_norm, total)
    return float(total)


# --------------------------------------------------------------------- devices, processes


def _setup(config: TrainConfig) -> Parallel:
    """This process's place in the job (one process, or a rank under torchrun)."""
    return distributed.setup(config.distributed, config.precision.device,
                             config.pipeline_microbatches)


def _autocast(device: torch.device, precision: str):
    """A factory of fresh autocast contexts (they are single use)."""
    if precision == "fp32":
        return contextlib.nullcontext
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return functools.partial(torch.autocast, device_type=device.type, dtype=dtype)


# ------------------------------------------------------------------------------- the guard


class SpikeGuard:
    """Decides which optimizer steps to skip, and when to roll back (see GuardConfig)."""

    def __init__(self, config: GuardConfig):
        self.config = config
        self.history: deque[float] = deque(maxlen=config.window)  # accepted losses
        self.consecutive = 0  # skipped steps in a row
        self.skips = 0  # skipped steps in all (a rollback does not undo them)
        self.rollbacks = 0
        self.lr_scale = 1.0  # lr_backoff ** rollbacks

    def is_spike(self, loss: float) -> bool:
        """True for a non-finite loss, or one too far above the running median."""
        if not math.isfinite(loss):
            return True
        if len(self.history) < self.config.min_history:
            return False
        history = np.asarray(self.history)
        median = float(np.median(history))
        robust_std = 1.4826 * float(np.median(np.abs(history - median)))
        margin = max((self.config.spike_factor - 1.0) * abs(median),
                     self.config.sigmas * robust_std)
        return loss > median + margin

    def accept(self, loss: float) -> None:
        if math.isfinite(loss):
            self.history.append(loss)
        self.consecutive = 0

    def reject(self) -> None:
        self.consecutive += 1
        self.skips += 1

    @property
    def must_roll_back(self) -> bool:
        return self.consecutive >= self.config.max_consecutive_skips

    def state_dict(self) -> dict:
        return {"history": list(self.history), "consecutive": self.consecutive,
                "skips": self.skips, "rollbacks": self.rollbacks, "lr_scale": self.lr_scale}

    def load_state_dict(self, state: dict, *, keep_counters: bool = False) -> None:
        """Restore; ``keep_counters`` (a rollback) keeps skips, rollbacks and lr_scale."""
        self.history = deque(state["history"], maxlen=self.config.window)
        self.consecutive = 0 if keep_counters else state["consecutive"]
        if not keep_counters:
            self.skips, self.rollbacks = state["skips"], state["rollbacks"]
            self.lr_scale = state["lr_scale"]


# ------------------------------------------------------------------------------ metrics


class MetricsLog:
    """Rows to ``metrics.jsonl`` (all) and ``train.csv``/``eval.csv`` (by kind); rank 0 only."""

    def __init__(self, out_dir: Path, enabled: bool):
        self.enabled = enabled
        self.jsonl = out_dir / "metrics.jsonl"
        self.csv = {"train": (out_dir / "train.csv", TRAIN_COLUMNS),
                    "eval": (out_dir / "eval.csv", EVAL_COLUMNS)}

    def reset(self) -> None:
        if self.enabled:
            for path in (self.jsonl, *(p for p, _ in self.csv.values())):
                path.unlink(missing_ok=True)

    def truncate(self, step: int) -> None:
        """Drop rows of steps after ``step`` (written after the checkpoint being resumed)."""
        if not self.enabled or not self.jsonl.exists():
            return
        rows = read_jsonl(self.jsonl)  # a run killed mid-write leaves a torn last line
        self.reset()
        for row in rows:
            if row["step"] <= step:
                self.write(row)

    def write(self, row: dict) -> None:
        if not self.enabled:
            return
        row = {k: _jsonable(v) for k, v in row.items()}
        append_jsonl(self.jsonl, row)
        path, columns = self.csv[row["kind"]]
        new = not path.exists()
        with open(path, "a", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)


def _jsonable(value):
    if isinstance(value, torch.Tensor):
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def read_metrics(out_dir, kind: str | None = None) -> list[dict]:
    """The rows of a run's ``metrics.jsonl`` (of one ``kind``: "train" or "eval")."""
    rows = read_jsonl(Path(out_dir) / "metrics.jsonl")
    return [r for r in rows if kind is None or r["kind"] == kind]


# ---------------------------------------------------------------------------- evaluation


def selection_metrics(predicted: np.ndarray, true: np.ndarray, observed: np.ndarray) -> dict:
    """How good the pick by ``predicted`` (n, P) is against ``true`` scores (NaN = failed).

    - ``regret``: mean over datasets of the best observed score minus the true score of
      the pipeline with the highest prediction; a failed pick counts as the dataset's
      worst observed score.
    - ``spearman``: mean Spearman correlation of predicted and true scores over the observed
      pipelines (datasets with fewer than 3 of them, or constant true scores, do not count).
    - ``top1``: share of datasets whose predicted best is a truly best pipeline.
    """
    regrets, hits, correlations = [], [], []
    for pred, score, seen in zip(predicted, true, observed, strict=True):
        if not seen.any():
            continue
        best = score[seen].max()
        pick = int(np.argmax(pred))
        picked = score[pick] if seen[pick] else score[seen].min()
        regrets.append(best - picked)
        hits.append(bool(seen[pick] and picked >= best - 1e-12))
        if seen.sum() >= 3 and np.ptp(score[seen]) > 0 and np.ptp(pred[seen]) > 0:
            a, b = rankdata(pred[seen]), rankdata(score[seen])
            correlations.append(float(np.corrcoef(a, b)[0, 1]))
    return {"regret": float(np.mean(regrets)) if regrets else math.nan,
            "spearman": float(np.mean(correlations)) if correlations else math.nan,
            "top1": float(np.mean(hits)) if hits else math.nan}


def baseline_scores(train: Split) -> np.ndarray:
    """The "single best pipeline on train" baseline: the mean train score per pipeline
    (a failure counts as the dataset's worst observed score), shape (P,)."""
    worst = np.nanmin(np.where(train.score_mask, train.scores, np.inf), axis=1, keepdims=True)
    filled = np.where(train.score_mask, train.scores, worst)
    filled = filled[np.isfinite(worst[:, 0])]
    return filled.mean(axis=0)


@torch.no_grad()
def evaluate(model, split: Split, collator: Collator, config: TrainConfig, device, autocast,
             baseline: np.ndarray) -> dict:
    """Loss parts, token perplexity and selection metrics on a held-out split.

    The losses and the perplexity use masked inputs (a fixed mask, seeded by the config's
    seed), as in training; the selection metrics use the predicted scores of the clean input.
    """
    was_training = model.training
    model.eval()
    n, sums, predicted = len(split), dict.fromkeys(LOSS_PARTS, 0.0), []
    token_nll, token_count = 0.0, 0
    for start in range(0, n, config.eval_batch_size):
        indices = np.arange(start, min(n, start + config.eval_batch_size))
        batch = _to_device(collator(split, indices, seed=config.seed + start + 1), device)
        with autocast():
            out = model(batch["masked_input_ids"], batch["attention_mask"],
                        batch.get("decoder_input_ids"), values=batch["masked_values"])
        parts = compute_losses(out, batch, config.objective)
        for name, value in parts.items():
            sums[name] += float(value) * len(indices) / n
        labels = batch["token_labels"].reshape(-1)
        token_nll += float(torch.nn.functional.cross_entropy(
            out.token_logits.reshape(-1, out.token_logits.shape[-1]).float(), labels,
            ignore_index=-100, reduction="sum"))
        token_count += int((labels != -100).sum())
        if collator.architecture != "decoder":  # the decoder read the clean input already
            with autocast():
                out = model(batch["input_ids"], batch["attention_mask"],
                            values=batch["values"])
        predicted.append(out.scores.float().cpu().numpy())
    if was_training:
        model.train()
    predicted = np.concatenate(predicted)
    row = {"n_datasets": n, "val_loss": sums["total"]}
    for name in LOSS_PARTS[1:]:
        row[f"val_{name}"] = sums[name] if name in parts else math.nan
    row["val_perplexity"] = math.exp(token_nll / token_count) if token_count else math.nan
    for name, value in selection_metrics(predicted, split.scores, split.score_mask).items():
        row[f"val_{name}"] = value
    tiled = np.broadcast_to(baseline, split.scores.shape)
    for name, value in selection_metrics(tiled, split.scores, split.score_mask).items():
        row[f"baseline_{name}"] = value
    return row


# ------------------------------------------------------------------------------ the loop


def _to_device(batch: dict, device) -> dict:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def _versions(data: CorpusData) -> dict:
    import sklearn

    import skllmselect
    from skllmselect.metafeatures import METAFEATURES_VERSION
    from skllmselect.portfolio import PORTFOLIO_VERSION
    from skllmselect.tokenizer import TOKENIZER_VERSION

    versions = {"torch": torch.__version__, "scikit-learn": sklearn.__version__,
                "numpy": np.__version__, "skllmselect": skllmselect.__version__,
                "metafeatures": METAFEATURES_VERSION, "portfolio": PORTFOLIO_VERSION,
                "tokenizer": TOKENIZER_VERSION}
    for key, value in sorted(data.content_hashes.items()):
        versions[f"corpus_{key}"] = str(value)
    return versions


def _call_hooks(hooks, name: str, *args):
    for hook in hooks:
        method = getattr(hook, name, None)
        if method is not None:
            method(*args)


def train(config: TrainConfig, *, resume: bool = True, stop_after: int | None = None,
          hooks=None) -> dict:
    """Train a SelectorTransformer on ``config.corpus``; return a summary dict.

    Parameters
    ----------
    config : TrainConfig
    resume : bool
        Continue from the newest checkpoint in ``config.out_dir`` if there is one. False
        deletes the run's checkpoints and metrics and starts over.
    stop_after : int, optional
        Stop once this many optimizer steps are done (counted from the start of the run,
        not of this call), writing a checkpoint but no final model: a simulated kill.
    hooks : object or list of objects, optional
        Each may define any of ``on_loss(step, loss) -> loss`` (every micro-batch, before
        backward; may return a changed loss tensor, e.g. to inject a spike),
        ``on_step(row)`` (every optimizer step, with its metrics row, logged or not) and
        ``on_eval(row)``. ``step`` is 1-based, as in the metrics.

    Returns
    -------
    dict
        What ``summary.json`` holds: steps, last train and eval rows, skips, rollbacks,
        elapsed seconds, parameter counts, paths, the config.
    """
    hooks = [] if hooks is None else list(hooks) if isinstance(hooks, list | tuple) else [hooks]
    if stop_after is not None and stop_after < 0:
        raise ValueError(f"stop_after must be >= 0 or None, got {stop_after}.")
    run = _Run(config, hooks)
    run.resume_or_start(resume)
    stopped = False
    while run.step < config.optim.max_steps:
        if stop_after is not None and run.step >= stop_after:
            stopped = True
            break
        run.train_step()
        if run.guard.must_roll_back:
            run.roll_back()
            continue
        step = run.step
        if step % config.eval_every == 0 or step == config.optim.max_steps:
            run.evaluate()
        at_stop = stop_after is not None and step == stop_after
        if at_stop or ((step % config.checkpoint_every == 0 or step == config.optim.max_steps)
                       and run.guard.consecutive == 0):
            run.save()
    return run.finish(stopped)


class _Run:
    """One training run: what a checkpoint saves and a rollback restores, and the steps.

    ``train`` drives it; the state (data position, step, tokens, elapsed seconds, the best
    model so far) lives on the instance, which every method reads and changes explicitly.
    """

    def __init__(self, config: TrainConfig, hooks: list):
        from skllmselect.model import ModelConfig, SelectorTransformer

        self.config, self.hooks = config, hooks
        setup = self.setup = _setup(config)
        device, optim = self.device, self.optim = setup.device, config.optim
        self.out = Path(config.out_dir)
        if device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = config.precision.tf32
            torch.backends.cudnn.allow_tf32 = config.precision.tf32
        if config.precision.precision == "bf16" and device.type == "cuda" \
                and not torch.cuda.is_bf16_supported():
            raise ValueError("This GPU does not support bf16; use --precision fp16 or fp32.")
        random.seed(config.seed)
        np.random.seed(config.seed)  # noqa: NPY002 (for code that draws from the global one)
        torch.manual_seed(config.seed)

        data = self.data = CorpusData.load(config.corpus, n_bins=config.model.n_bins)
        tokenizer, train_split = data.tokenizer, data.splits["train"]
        self.tokenizer, self.train_split = tokenizer, train_split
        self.model_config = ModelConfig(
            vocab_size=tokenizer.vocab_size, sequence_length=tokenizer.sequence_length,
            n_pipelines=tokenizer.n_pipelines,
            pipeline_token_offset=tokenizer.pipeline_token_offset,
            pad_id=tokenizer.pad_id, mask_id=tokenizer.mask_id, cls_id=tokenizer.cls_id,
            bos_id=tokenizer.bos_id, eos_id=tokenizer.eos_id,
            metafeature_names=list(tokenizer.feature_names),
            pipeline_names=list(tokenizer.pipeline_names), tokenizer=tokenizer.to_dict(),
            versions=_versions(data), **config.model.network_options())
        bare = SelectorTransformer(self.model_config).to(device)
        self.n_parameters = {
            "n_parameters": bare.num_parameters(),  # before a pipeline prunes it
            "n_parameters_non_embedding": bare.num_parameters(exclude_embeddings=True)}
        self.model = setup.wrap_model(bare)
        self.optimizer = setup.make_optimizer(param_groups(bare, optim.weight_decay),
                                              **adamw_kwargs(optim, device))
        self.scaler = torch.amp.GradScaler(device.type,
                                           enabled=config.precision.precision == "fp16")
        self.autocast = _autocast(device, config.precision.precision)
        real = np.array([not d.startswith("synthetic/") for d in train_split.datasets])
        self.sampler = BatchSampler(len(train_split), seed=config.seed, rank=setup.data_rank,
                                    world_size=setup.data_world_size,
                                    repeats=np.where(real, config.real_repeats, 1)
                                    if config.real_repeats != 1 else None)
        self.collator = Collator(tokenizer, architecture=config.model.architecture,
                                 mlm_probability=config.objective.mlm_probability,
                                 mask_missing=config.model.mask_missing)
        if optim.batch_size > self.sampler.shard_size:
            raise ValueError(f"OptimConfig.batch_size={optim.batch_size} exceeds the "
                             f"{self.sampler.shard_size} training datasets per rank; lower it.")
        self.baseline = baseline_scores(train_split)
        self.metrics = MetricsLog(self.out, enabled=setup.is_main)
        self.guard = SpikeGuard(config.guard)
        self.position, self.step, self.tokens, self.elapsed0 = DataPosition(), 0, 0, 0.0
        # The model we export is the one with the lowest validation regret (ties: validation
        # loss), not the last: with a few thousand datasets repeated for hundreds of epochs,
        # the last model may have begun to memorise.
        self.best = {"step": None, "key": None, "row": None}
        self.last_train, self.last_eval = None, None
        self.start_time = self.interval_start = time.perf_counter()
        self.interval_tokens = 0

    def elapsed(self, now: float | None = None) -> float:
        """Seconds of training, over every call that resumed this run."""
        return self.elapsed0 + (time.perf_counter() if now is None else now) - self.start_time

    # ------------------------------------------------------------------ checkpoints

    def snapshot(self) -> dict:
        setup = self.setup
        return {"step": self.step, "model": setup.model_state_dict(self.model),
                "optimizer": setup.optimizer_state_dict(self.model, self.optimizer),
                "scaler": self.scaler.state_dict(), "position": self.position.to_dict(),
                "guard": self.guard.state_dict(), "tokens": self.tokens,
                "elapsed": self.elapsed(),
                "rng": checkpoint.rng_state(), "config": self.config.to_dict(),
                "tokenizer": self.tokenizer.to_dict(), "corpus": self.data.content_hashes,
                "best": dict(self.best)}

    def save(self) -> None:
        state = self.snapshot()  # every rank: FSDP and ZeRO gather here
        if self.setup.is_main:
            checkpoint.save(self.out, self.step, state, keep=self.config.keep_checkpoints)
        self.setup.barrier()

    def restore(self, state: dict, *, rollback: bool) -> None:
        setup = self.setup
        _check_compatible(state, self.config, self.tokenizer, self.data)
        setup.load_model_state_dict(self.model, state["model"])
        setup.load_optimizer_state_dict(self.model, self.optimizer, state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.position = DataPosition(**state["position"])
        self.guard.load_state_dict(state["guard"], keep_counters=rollback)
        self.step = state["step"]
        checkpoint.set_rng_state(state["rng"])
        if not rollback:
            self.tokens, self.elapsed0 = state["tokens"], state["elapsed"]
            self.best = dict(state.get("best", self.best))

    def resume_or_start(self, resume: bool) -> None:
        """Continue from the newest checkpoint (``resume``), or start over at step 0."""
        out = self.out
        self.start_time = time.perf_counter()
        if self.setup.is_main:
            stray = checkpoint.remove_temporaries(out)
            if stray:
                log.warning("removed %d temporary checkpoint files (%.0f MB) left by killed "
                            "saves in %s", len(stray), sum(stray.values()) / 1e6,
                            checkpoint.directory(out))
        found = checkpoint.latest(out) if resume else None
        if found is not None:
            self.restore(checkpoint.load(found, map_location=self.device), rollback=False)
            self.metrics.truncate(self.step)
            log.info("resumed from %s (step %d)", found, self.step)
        else:
            if self.setup.is_main:
                checkpoint.clear(out)
                self.metrics.reset()
                shutil.rmtree(out / "best_model", ignore_errors=True)
            self.save()  # step 0: a rollback always has somewhere to go
        self.interval_tokens, self.interval_start = 0, time.perf_counter()

    # ------------------------------------------------------------------ steps

    def train_step(self) -> None:
        """One optimizer step over ``grad_accum_steps`` micro-batches, its metrics row written."""
        config, optim, guard, scaler = self.config, self.optim, self.guard, self.scaler
        lr = lr_at(self.step, optim) * guard.lr_scale
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        batch_size = batch_size_at(self.step, optim)
        self.model.train()
        values, names = self._forward_backward(batch_size)
        if scaler.is_enabled():
            scaler.unscale_(self.optimizer)
        grad_norm = _clip_grad_norm(self.model, optim.clip_grad_norm or math.inf)
        spike = guard.is_spike(values["total"]) or (
            not scaler.is_enabled() and not math.isfinite(grad_norm))
        event = ""
        if spike and config.guard.enabled:
            event = "skip"
            guard.reject()
            if scaler.is_enabled():
                scaler.update()  # closes this step's unscale_ bookkeeping
        else:
            scaler.step(self.optimizer)  # with fp16, skips itself on inf/NaN gradients
            scaler.update()
            guard.accept(values["total"])
            event = "spike" if spike else ""
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        step_tokens = (batch_size * optim.grad_accum_steps * self.setup.data_world_size
                       * self.tokenizer.sequence_length)
        self.tokens += step_tokens
        self.interval_tokens += step_tokens
        now = time.perf_counter()
        row = {"kind": "train", "step": self.step, "epoch": self.position.epoch, "lr": lr,
               "batch_size": batch_size * optim.grad_accum_steps * self.setup.data_world_size,
               "loss": values["total"], **{n: values[n] for n in names if n != "total"},
               "grad_norm": grad_norm,
               "loss_scale": scaler.get_scale() if scaler.is_enabled() else None,
               "tokens_per_s": self.interval_tokens / max(now - self.interval_start, 1e-9),
               "elapsed_s": self.elapsed(now), "event": event}
        self.last_train = row
        if self.step % config.log_every == 0 or event:
            self.metrics.write(row)
            self.interval_tokens, self.interval_start = 0, now
        _call_hooks(self.hooks, "on_step", row)

    def _forward_backward(self, batch_size: int) -> tuple[dict, list]:
        """Every micro-batch's forward and backward: the mean loss parts over the ranks."""
        config, optim = self.config, self.optim
        sums = dict.fromkeys(LOSS_PARTS, None)
        for micro in range(optim.grad_accum_steps):
            indices, self.position = self.sampler.take(self.position, batch_size)
            seed = batch_seed(config.seed, self.position.epoch)  # the epoch of these indices
            batch = _to_device(self.collator(self.train_split, indices, seed=seed), self.device)
            last_micro = micro == optim.grad_accum_steps - 1

            def on_loss(loss, step=self.step):
                for hook in self.hooks:
                    if hasattr(hook, "on_loss"):
                        loss = hook.on_loss(step + 1, loss)
                return loss

            def scale(loss):
                return self.scaler.scale(loss / optim.grad_accum_steps)

            if self.setup.pipelined:  # the schedule runs forward and backward, stage by stage
                with self.autocast():
                    parts = self.model.train_step(batch, config.objective, on_loss=on_loss,
                                                  scale=scale)
            else:
                with contextlib.nullcontext() if last_micro else _no_sync(self.model):
                    with self.autocast():
                        output = self.model(batch["masked_input_ids"], batch["attention_mask"],
                                            batch.get("decoder_input_ids"),
                                            values=batch["masked_values"])
                    parts = compute_losses(output, batch, config.objective)
                    parts["total"] = on_loss(parts["total"])
                    scale(parts["total"]).backward()
            for name, value in parts.items():
                value = value.detach().float() / optim.grad_accum_steps
                sums[name] = value if sums[name] is None else sums[name] + value
        names = [n for n in LOSS_PARTS if sums[n] is not None]
        reduced = self.setup.all_reduce_mean(torch.stack([sums[n] for n in names])).tolist()
        return dict(zip(names, reduced, strict=True)), names

    def roll_back(self) -> None:
        """Go back to the last checkpoint with a lower learning rate, or stop diverging."""
        guard, config = self.guard, self.config
        if guard.rollbacks >= config.guard.max_rollbacks:
            raise RuntimeError(
                f"Training diverged: {guard.consecutive} skipped steps in a row at step "
                f"{self.step} after {guard.rollbacks} rollbacks (lr now x{guard.lr_scale:g}). "
                "Lower OptimConfig.lr, raise warmup_steps, or check the data.")
        from_step = self.step
        self.setup.barrier()
        found = checkpoint.latest(self.out)
        self.restore(checkpoint.load(found, map_location=self.device), rollback=True)
        guard.rollbacks += 1
        guard.lr_scale *= config.guard.lr_backoff
        row = {"kind": "train", "step": self.step, "epoch": self.position.epoch,
               "lr": lr_at(self.step, self.optim) * guard.lr_scale, "event": "rollback",
               "from_step": from_step, "lr_scale": guard.lr_scale,
               "elapsed_s": self.elapsed()}
        self.metrics.write(row)
        _call_hooks(self.hooks, "on_step", row)

    def evaluate(self) -> None:
        """The validation row of this step: written, kept if best, given to the hooks."""
        self.last_eval = _eval_row(self.step, self.model, self.data, self.collator, self.config,
                                   self.device, self.autocast, self.baseline)
        self.metrics.write(self.last_eval)
        self._remember_if_best(self.last_eval)
        _call_hooks(self.hooks, "on_eval", self.last_eval)

    def _remember_if_best(self, row: dict) -> None:
        if not row.get("n_datasets"):
            return
        key = [row["val_regret"], row["val_loss"]]
        if self.best["key"] is None or key < self.best["key"]:
            self.best.update(step=row["step"], key=key, row=row)
            self._save_model(self.out / "best_model")

    def _save_model(self, path: Path) -> None:
        """The model as a plain SelectorTransformer folder (every rank gathers, main writes)."""
        from skllmselect.model import SelectorTransformer

        state = self.setup.model_state_dict(self.model)
        if self.setup.is_main:
            copy = SelectorTransformer(self.model_config)
            copy.load_state_dict({k: v.cpu() for k, v in state.items()})
            copy.save_pretrained(path)

    # ------------------------------------------------------------------ the end

    def finish(self, stopped: bool) -> dict:
        """Evaluate the last step, export the model and write the summary (unless stopped)."""
        config, out, guard = self.config, self.out, self.guard
        summary = {"steps": self.step, "max_steps": self.optim.max_steps,
                   "stopped_early": stopped, "last_train": self.last_train,
                   "skips": guard.skips, "rollbacks": guard.rollbacks,
                   "lr_scale": guard.lr_scale, "tokens": self.tokens,
                   "elapsed_s": self.elapsed(),
                   "device": str(self.device), "precision": config.precision.precision,
                   **self.n_parameters,
                   "n_datasets": {name: len(s) for name, s in self.data.splits.items()},
                   "out_dir": str(out), "model_dir": None, "config": config.to_dict()}
        if not stopped:
            if self.last_eval is None or self.last_eval["step"] != self.step:
                self.evaluate()
            self._save_model(out / "model")
            if self.setup.is_main:
                summary["model_dir"] = str(out / "model")
                if self.best["step"] is not None:
                    summary["best_model_dir"] = str(out / "best_model")
        summary["best_step"], summary["best_eval"] = self.best["step"], self.best["row"]
        summary["eval"] = self.last_eval
        if self.setup.is_main and not stopped:
            (out / "summary.json").write_text(
                json.dumps(_jsonable_tree(summary), indent=1) + "\n", encoding="utf-8")
        self.setup.barrier()
        self.setup.close()
        return summary


def _eval_row(step, model, data, collator, config, device, autocast, baseline) -> dict:
    split = data.splits["validation"]
    if not len(split):
        log.warning("the validation split is empty: no evaluation")
        return {"kind": "eval", "step": step, "n_datasets": 0}
    return {"kind": "eval", "step": step,
            **evaluate(model, split, collator, config, device, autocast, baseline)}


def _jsonable_tree(value):
    if isinstance(value, dict):
        return {k: _jsonable_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable_tree(v) for v in value]
    return _jsonable(value)


def _check_compatible(state: dict, config: TrainConfig, tokenizer, data: CorpusData) -> None:
    """A checkpoint must match the model, the tokenizer and the corpus being trained."""
    saved = TrainConfig.from_dict(state["config"])
    if saved.model != config.model:
        raise ValueError(f"The checkpoint in {config.out_dir!r} was trained with other model "
                         f"options ({saved.model}) than these ({config.model}); use another "
                         "--out or --no-resume.")
    if state["tokenizer"] != tokenizer.to_dict():
        raise ValueError("The checkpoint's tokenizer differs from the one fitted on this "
                         "corpus (did the corpus change?); use another --out or --no-resume.")
    if state["corpus"] != data.content_hashes:
        raise ValueError(f"The checkpoint was trained on corpus {state['corpus']}, not "
                         f"{data.content_hashes}; use another --out or --no-resume.")
    where = ("out_dir", "corpus")
    if ({k: v for k, v in saved.to_dict().items() if k not in where}
            != {k: v for k, v in config.to_dict().items() if k not in where}):
        log.warning("resuming with a config that differs from the checkpoint's in more "
                    "than the model; the run will not reproduce an uninterrupted one")
