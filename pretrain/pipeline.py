"""Pipeline parallelism: the transformer's blocks split into one stage per rank, GPipe schedule.

Rank ``s`` of ``S`` keeps blocks ``[s * n / S, (s + 1) * n / S)`` of the ``n``; the first
stage also keeps the embeddings, the last the final norm, the heads and (encoder-decoder)
the ranking decoder; the rest of the model is dropped on that rank. A batch is cut into
micro-batches that flow through the stages under ``torch.distributed.pipelining``'s
``ScheduleGPipe`` (all forwards, then all backwards); only the (B, L, d_model) hidden
states travel between stages.

How the model's extra inputs get through:

- Masks are not sent between stages. Every rank reads the same batch (there is no data
  parallelism), so each stage gets ``attention_mask`` (and ``decoder_input_ids``) as keyword
  inputs, which the schedule cuts into micro-batches like the inputs and hands to every
  stage, and rebuilds the attention mask and rotary tables from them
  (``SelectorTransformer._encoder_context``). The values' positions in their bins
  (``values``, read by a ``value_channel`` model's embedding) come the same way; only the
  first stage reads them.
- The loss is the one-process loss. The last stage's loss function receives, as its
  "target", the row numbers of its micro-batch in the batch, takes those rows of the batch
  and calls :func:`pretrain.losses.compute_losses` with the whole batch's term counts, so
  each part of a micro-batch is its share of the batch's masked mean and the micro-batches
  sum to the batch's loss (``scale_grads=False``: the schedule must not average them again).
- The token embedding is on two stages when the token head is tied to it (or the ranking
  decoder reads it): its gradient is summed over those two ranks before the step, so both
  copies take the same step.

Checkpoints: the model state is gathered to rank 0 as one plain state dict, the same as
one process's (it loads and exports anywhere); the optimizer state is kept per stage and
resumes under pipeline parallelism with the same number of processes.
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
from torch import nn

from pretrain.losses import compute_losses, term_counts

#: Where the tied token embedding lives on a stage other than the first.
SHARED_EMBEDDING = "tok_emb.weight"


def microbatches_for(batch_size: int, wanted: int) -> int:
    """The most micro-batches up to ``wanted`` that cut ``batch_size`` into equal parts.

    The stages learn the shapes they exchange from the first micro-batch, so all must be
    the same size.
    """
    return max(m for m in range(1, min(wanted, batch_size) + 1) if batch_size % m == 0)


class _Stage(nn.Module):
    """One rank's part of a SelectorTransformer, pruned in place (parameter names kept)."""

    def __init__(self, model: nn.Module, index: int, n_stages: int):
        super().__init__()
        config = model.config
        n = len(model.blocks)
        if n < n_stages:
            raise ValueError(f"Pipeline parallelism over {n_stages} processes needs at least "
                             f"{n_stages} blocks, but the model has n_layers={n}; use more "
                             "layers, fewer processes, or another --distributed mode.")
        self.model, self.index = model, index
        self.is_first, self.is_last = index == 0, index == n_stages - 1
        self.layers = range(index * n // n_stages, (index + 1) * n // n_stages)
        for i in range(n):  # Identity keeps the indices, hence the parameter names
            if i not in self.layers:
                model.blocks[i] = nn.Identity()
        self.shares_embedding = self.is_last and not self.is_first and (
            config.tie_embeddings or config.architecture == "encoder-decoder")
        if not self.is_first:
            model.pos_emb = model.value_proj = None
            if not self.shares_embedding:
                model.tok_emb = None
        if not self.is_last:
            for name in ("norm_f", "score_head", "log_var_head", "fit_time_head", "token_head",
                         "dec_pos_emb", "dec_blocks", "dec_norm_f", "ranking_head"):
                if hasattr(model, name):
                    setattr(model, name, None)

    def forward(self, inputs, attention_mask=None, decoder_input_ids=None, values=None):
        """Token ids (first stage) or hidden states -> hidden states, or the outputs as a
        tuple (last stage)."""
        model = self.model
        key_mask, mask, rope = model._encoder_context(attention_mask, inputs.shape[1],
                                                      inputs.device)
        if self.is_first:
            model._check_values(inputs, values)
            x = model._embed(inputs, model.pos_emb, values)
        else:
            x = inputs
        for i in self.layers:
            x = model.blocks[i](x, mask, rope)
        if not self.is_last:
            return x
        out = model._heads(model.norm_f(x), key_mask, decoder_input_ids)
        fields = (out.scores, out.score_log_var, out.log_fit_time, out.token_logits)
        return fields if out.ranking_logits is None else (*fields, out.ranking_logits)


class Pipeline(nn.Module):
    """This rank's stage and its schedules; called like the model (forward only, for
    evaluation: every rank gets the outputs) or trained by :meth:`train_step`."""

    def __init__(self, model: nn.Module, rank: int, world_size: int, device: torch.device,
                 microbatches: int):
        super().__init__()
        self.stage = _Stage(model, rank, world_size)
        self.rank, self.world_size, self.device = rank, world_size, device
        self.microbatches = microbatches
        self.last_rank = world_size - 1
        self._runs: dict[str, tuple] = {}  # mode -> (shapes, schedule)
        self._step: dict = {}
        # The ranks holding the token embedding: the first, and the last if it shares it.
        flags = [None] * world_size
        dist.all_gather_object(flags, self.stage.shares_embedding)
        self.embedding_ranks = [0] + [r for r, f in enumerate(flags) if f]
        self.embedding_group = (dist.new_group(self.embedding_ranks)
                                if len(self.embedding_ranks) > 1 else None)

    @property
    def module(self) -> nn.Module:
        """The pruned SelectorTransformer of this rank (its state dict uses the full names)."""
        return self.stage.model

    # ---------------------------------------------------------------------- schedules

    def _schedule(self, mode: str, batch: dict):
        from torch.distributed.pipelining import PipelineStage, ScheduleGPipe

        shapes = tuple(tuple(v.shape) for v in batch.values())
        if mode in self._runs and self._runs[mode][0] == shapes:
            return self._runs[mode][1]
        size = next(iter(batch.values())).shape[0]
        stage = PipelineStage(self.stage, self.rank, self.world_size, self.device)
        schedule = ScheduleGPipe(stage, microbatches_for(size, self.microbatches),
                                 loss_fn=self._loss if mode == "train" else None,
                                 scale_grads=False)
        self._runs[mode] = (shapes, schedule)
        return schedule

    def _run(self, schedule, input_ids, batch: dict, train: bool):
        kwargs = {k: batch[k] for k in ("attention_mask", "decoder_input_ids", "values")
                  if k in batch}
        args = (input_ids,) if self.stage.is_first else ()
        if not train:
            return schedule.eval(*args, **kwargs)
        rows = torch.arange(input_ids.shape[0], device=input_ids.device)
        return schedule.step(*args, target=rows if self.stage.is_last else None,
                             return_outputs=False, **kwargs)

    # ---------------------------------------------------------------------- training

    def train_step(self, batch: dict, objective, *, on_loss, scale) -> dict:
        """Forward and backward of one batch through the pipeline; its loss parts (the
        one-process values, detached) on every rank."""
        names = ["score", "ranking", "fit_time", "mlm"]
        if "decoder_input_ids" in batch:
            names.append("decoder_ranking")
        names.append("total")
        inputs = {"input_ids": batch["masked_input_ids"], "attention_mask":
                  batch["attention_mask"], **({"decoder_input_ids": batch["decoder_input_ids"]}
                                              if "decoder_input_ids" in batch else {})}
        # The model reads the masked values beside the masked ids (as in one process).
        step_batch = {**batch, "values": batch["masked_values"]}
        self._step = {"batch": batch, "counts": term_counts(batch), "objective": objective,
                      "on_loss": on_loss, "scale": scale, "sums": dict.fromkeys(names, 0.0)}
        self._step["schedule"] = schedule = self._schedule("train", inputs)
        self._run(schedule, batch["masked_input_ids"], step_batch, True)
        values = torch.tensor([float(self._step["sums"][n]) for n in names],
                              device=self.device)
        dist.broadcast(values, src=self.last_rank)  # only the last stage has computed them
        self._step = {}
        return dict(zip(names, values, strict=True))

    def _loss(self, output, rows):
        from skllmselect.model import SelectorOutput

        step = self._step
        piece = {k: v[rows] for k, v in step["batch"].items()}
        parts = compute_losses(SelectorOutput(*output), piece, step["objective"],
                               batch_counts=step["counts"])
        if not step["schedule"]._stage_backward_initialized:
            # A new schedule first runs one micro-batch forward and backward to learn the
            # shapes of the gradients it will exchange; that pass does not count.
            return parts["total"]
        parts["total"] = step["on_loss"](parts["total"])
        for name, value in parts.items():
            step["sums"][name] += value.detach().float()
        return step["scale"](parts["total"])

    def reduce_shared_gradients(self) -> None:
        """Sum the tied embedding's gradient over the ranks that hold it (once a step)."""
        if self.embedding_group is None or self.rank not in self.embedding_ranks:
            return
        weight = dict(self.module.named_parameters())[SHARED_EMBEDDING]
        if weight.grad is None:
            weight.grad = torch.zeros_like(weight)
        dist.all_reduce(weight.grad, group=self.embedding_group)

    def clip_grad_norm(self, max_norm: float) -> float:
        """Clip the gradient norm of the whole model (all stages; the shared embedding
        counted once); return the norm before clipping."""
        from torch.nn.utils import clip_grads_with_norm_, get_total_norm

        self.reduce_shared_gradients()
        named = [(n, p) for n, p in self.module.named_parameters() if p.grad is not None]
        mine = [p.grad for n, p in named if not (n == SHARED_EMBEDDING and self.rank != 0)]
        square = (get_total_norm(mine).square() if mine
                  else torch.zeros((), device=self.device))
        dist.all_reduce(square)
        norm = square.sqrt()
        if named and math.isfinite(max_norm):
            clip_grads_with_norm_([p for _, p in named], max_norm, norm)
        return float(norm)

    # ---------------------------------------------------------------------- evaluation

    @torch.no_grad()
    def forward(self, input_ids, attention_mask=None, decoder_input_ids=None, values=None):
        from skllmselect.model import SelectorOutput

        batch = {"input_ids": input_ids}
        if attention_mask is not None:
            batch["attention_mask"] = attention_mask
        if decoder_input_ids is not None:
            batch["decoder_input_ids"] = decoder_input_ids
        if values is not None:
            batch["values"] = values
        out = self._run(self._schedule("eval", batch), input_ids, batch, False)
        config = self.module.config
        B, L = input_ids.shape
        P, V = config.n_pipelines, config.vocab_size
        shapes = [(B, P), (B, P), (B, P), (B, L, V)]
        if decoder_input_ids is not None:
            shapes.append((B, decoder_input_ids.shape[1], V))
        fields = ([t.float().contiguous() for t in out] if self.stage.is_last
                  else [torch.empty(s, device=self.device) for s in shapes])
        for tensor in fields:  # every rank gets the outputs, so evaluation runs unchanged
            dist.broadcast(tensor, src=self.last_rank)
        return SelectorOutput(*fields)

    # ---------------------------------------------------------------------- checkpoints

    def model_state_dict(self) -> dict | None:
        """The whole model's state (plain tensors, full names) on rank 0; None elsewhere."""
        local = {k: v.detach().cpu().clone() for k, v in self.module.state_dict().items()}
        parts = [None] * self.world_size if self.rank == 0 else None
        dist.gather_object(local, parts, dst=0)
        if self.rank != 0:
            return None
        return {k: v for part in parts for k, v in part.items()}

    def load_model_state_dict(self, state: dict) -> None:
        self.module.load_state_dict({k: state[k] for k in self.module.state_dict()})

    def optimizer_state_dict(self, optimizer) -> dict | None:
        """Each stage's optimizer state, gathered on rank 0 (None elsewhere)."""
        parts = [None] * self.world_size if self.rank == 0 else None
        dist.gather_object(optimizer.state_dict(), parts, dst=0)
        return {"pipeline_stages": parts} if self.rank == 0 else None

    def load_optimizer_state_dict(self, optimizer, state: dict) -> None:
        stages = state.get("pipeline_stages")
        if stages is None or len(stages) != self.world_size:
            raise ValueError(
                f"This checkpoint's optimizer state is not that of a {self.world_size}-stage "
                "pipeline; resume it under the --distributed mode and process count that "
                "wrote it (its model state loads anywhere: start over from it otherwise).")
        optimizer.load_state_dict(stages[self.rank])
