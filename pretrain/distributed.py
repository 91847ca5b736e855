"""Parallel training in one place: one process, DDP, ZeRO-1, FSDP2, tensor and pipeline
parallelism, under ``torchrun``.

The model knows nothing of parallelism (torchtitan's rule): ``train.py`` asks this module for
a :class:`Parallel` and lets it wrap the model, build the optimizer, average metrics and
gather full state dicts for checkpoints. The mode comes from the launcher's environment:
``torchrun --nproc_per_node N -m pretrain train ...`` sets ``RANK``/``WORLD_SIZE``; without
it we run one process whatever the configured strategy (and say so).

Strategies (``TrainConfig.distributed``):

- ``"none"``: one process.
- ``"ddp"``: ``DistributedDataParallel``; every rank holds the whole model and optimizer, and
  gradients are averaged by all-reduce during ``backward``.
- ``"zero1"``: DDP plus ``ZeroRedundancyOptimizer``: the AdamW moments (two thirds of the
  training state) are sharded over ranks; each rank updates its shard and broadcasts it.
- ``"fsdp"``: FSDP2 ``fully_shard`` per transformer block and at the root: parameters,
  gradients and optimizer state all sharded (ZeRO-3).
- ``"tp"``: tensor parallelism (:mod:`pretrain.tensor_parallel`): each attention and MLP
  layer split by heads over all ranks, which all read the same batch.
- ``"pp"``: pipeline parallelism (:mod:`pretrain.pipeline`): the blocks split into one stage
  per rank, micro-batches under a GPipe schedule; all ranks read the same batch.

Backends: NCCL on CUDA, gloo on CPU. Only rank 0 writes files (``is_main``).

For a model of a few hundred thousand parameters none of this saves memory or time (the
docs' scaling section has the arithmetic); it is here so the same training script scales
to a cluster, and the tests check that each mode's losses match one process's.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

STRATEGIES = ("none", "ddp", "zero1", "fsdp", "tp", "pp")
#: Strategies whose parameters are DTensors: full state dicts go through
#: torch.distributed.checkpoint.state_dict.
DTENSOR_STRATEGIES = ("fsdp", "tp")
#: Strategies where every rank reads the same batch (no data parallelism).
MODEL_PARALLEL = ("tp", "pp")
#: The optimizer "state" saved before the first step, when there is none to gather.
FRESH_OPTIMIZER = "fresh_optimizer"


def resolve_device(device: str = "auto", local_rank: int = 0) -> torch.device:
    """``"auto"`` is the local rank's GPU when there is one, else the CPU."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("device='cuda' but torch sees no GPU; use device='cpu' or 'auto'.")
        return torch.device("cuda", local_rank)
    if device != "cpu":
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}.")
    return torch.device("cpu")


@dataclass
class Parallel:
    """Where this process sits in the job, and how to make its model and optimizer parallel."""

    strategy: str
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    microbatches: int = 4
    """Micro-batches per batch under pipeline parallelism."""

    @property
    def is_main(self) -> bool:
        """Rank 0: the only process that logs, checkpoints and exports."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    @property
    def sharded(self) -> bool:
        """Parameters are DTensors (FSDP2, tensor parallelism)."""
        return self.is_distributed and self.strategy in DTENSOR_STRATEGIES

    @property
    def pipelined(self) -> bool:
        return self.is_distributed and self.strategy == "pp"

    @property
    def data_rank(self) -> int:
        """This rank's place among the ranks that read different batches."""
        return 0 if self.strategy in MODEL_PARALLEL else self.rank

    @property
    def data_world_size(self) -> int:
        """How many different batches one step reads (1 under tensor or pipeline
        parallelism, where all ranks read the same one)."""
        return 1 if self.strategy in MODEL_PARALLEL else self.world_size

    # ------------------------------------------------------------------ model and optimizer

    def wrap_model(self, model: nn.Module) -> nn.Module:
        """Move ``model`` to the device and apply the strategy."""
        model = model.to(self.device)
        if not self.is_distributed or self.strategy == "none":
            return model
        if self.strategy in ("ddp", "zero1"):
            from torch.nn.parallel import DistributedDataParallel

            device_ids = [self.device.index] if self.device.type == "cuda" else None
            return DistributedDataParallel(model, device_ids=device_ids)
        if self.strategy == "tp":
            from pretrain.tensor_parallel import parallelize

            return parallelize(model, self.world_size, self.device.type)
        if self.strategy == "pp":
            from pretrain.pipeline import Pipeline

            return Pipeline(model, self.rank, self.world_size, self.device, self.microbatches)
        from torch.distributed.fsdp import fully_shard

        # One FSDP unit per block, so only one block's full parameters exist at a time; the
        # root call shards what is left (embeddings, heads, final norm).
        for module in model.modules():
            if getattr(module, "is_transformer_block", False) or type(module).__name__ in (
                    "Block", "EncoderBlock", "DecoderBlock", "TransformerBlock"):
                fully_shard(module)
        fully_shard(model)
        return model

    def make_optimizer(self, param_groups: list[dict], **adamw_kwargs) -> torch.optim.Optimizer:
        """AdamW over ``param_groups``; sharded by ZeroRedundancyOptimizer for ``zero1``."""
        if self.is_distributed and self.strategy == "zero1":
            from torch.distributed.optim import ZeroRedundancyOptimizer

            return ZeroRedundancyOptimizer(param_groups, optimizer_class=torch.optim.AdamW,
                                           **adamw_kwargs)
        if self.is_distributed and self.strategy == "tp":
            # The multi-tensor kernels refuse a mix of DTensors and plain tensors.
            adamw_kwargs = {**adamw_kwargs, "fused": False, "foreach": False}
        return torch.optim.AdamW(param_groups, **adamw_kwargs)

    @staticmethod
    def unwrap(model: nn.Module) -> nn.Module:
        """The user's module inside a DDP wrapper or a pipeline (this rank's pruned copy);
        FSDP2 and tensor parallelism shard in place: nothing to unwrap."""
        return getattr(model, "module", model)

    # ------------------------------------------------------------------ collectives

    def all_reduce_mean(self, tensor: torch.Tensor) -> torch.Tensor:
        """Mean of ``tensor`` over ranks (a copy; the input is left alone)."""
        if not self.is_distributed:
            return tensor
        out = tensor.detach().clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out / self.world_size

    def all_reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        if not self.is_distributed:
            return tensor
        out = tensor.detach().clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out

    def broadcast_object(self, value):
        """Rank 0's ``value`` on every rank (e.g. a checkpoint's path or a rollback decision)."""
        if not self.is_distributed:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        if self.is_distributed:
            dist.barrier()

    # ------------------------------------------------------------------ full state for checkpoints

    def model_state_dict(self, model: nn.Module) -> dict:
        """The full (unsharded) model state, on the CPU (on rank 0 at least); every rank must
        call it."""
        if self.pipelined:
            return model.model_state_dict()
        if self.sharded:
            from torch.distributed.checkpoint.state_dict import (
                StateDictOptions,
                get_model_state_dict,
            )

            return get_model_state_dict(
                model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
        return {k: v.detach().cpu().clone() for k, v in self.unwrap(model).state_dict().items()}

    def load_model_state_dict(self, model: nn.Module, state: dict) -> None:
        if self.pipelined:
            model.load_model_state_dict(state)
            return
        if self.sharded:
            from torch.distributed.checkpoint.state_dict import (
                StateDictOptions,
                set_model_state_dict,
            )

            set_model_state_dict(model, state, options=StateDictOptions(full_state_dict=True))
            return
        self.unwrap(model).load_state_dict(state)

    def optimizer_state_dict(self, model: nn.Module, optimizer) -> dict | None:
        """The full optimizer state on rank 0 (None elsewhere); every rank must call it."""
        if self.is_distributed and self.strategy == "zero1":
            optimizer.consolidate_state_dict(to=0)
            return optimizer.state_dict() if self.is_main else None
        if self.pipelined:
            return model.optimizer_state_dict(optimizer)
        if self.sharded:
            from torch.distributed.checkpoint.state_dict import (
                StateDictOptions,
                get_optimizer_state_dict,
            )

            if not optimizer.state:
                # Before the first step there is nothing to save, and get_optimizer_state_dict
                # would make something: it initialises the state by an AdamW step with zero
                # gradients, which moves Adam's step counter (and so its bias correction)
                # one ahead of a single process's; the step-0 checkpoint did exactly that.
                return {FRESH_OPTIMIZER: True} if self.is_main else None
            state = get_optimizer_state_dict(
                model, optimizer,
                options=StateDictOptions(full_state_dict=True, cpu_offload=True))
            return state if self.is_main else None
        return optimizer.state_dict()

    def load_optimizer_state_dict(self, model: nn.Module, optimizer, state: dict) -> None:
        if state.get(FRESH_OPTIMIZER):  # saved before the first step: keep the fresh one
            return
        if self.pipelined:
            model.load_optimizer_state_dict(optimizer, state)
            return
        if self.sharded:
            from torch.distributed.checkpoint.state_dict import (
                StateDictOptions,
                set_optimizer_state_dict,
            )

            set_optimizer_state_dict(model, optimizer, state,
                                     options=StateDictOptions(full_state_dict=True))
            return
        # ZeroRedundancyOptimizer.load_state_dict takes the consolidated state and keeps
        # this rank's shard.
        optimizer.load_state_dict(state)

    def close(self) -> None:
        if dist.is_initialized():
            dist.destroy_process_group()


def setup(strategy: str = "none", device: str = "auto", microbatches: int = 4) -> Parallel:
    """The :class:`Parallel` of this process, from ``torchrun``'s environment.

    Starts the process group (NCCL on CUDA, gloo on CPU) when launched by ``torchrun`` with
    more than one process. Without ``torchrun`` it is one process: a strategy other than
    ``"none"`` then warns that it is ignored.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"distributed strategy must be one of {STRATEGIES}, got {strategy!r}.")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    resolved = resolve_device(device, local_rank)
    if world_size == 1:
        if strategy != "none" and "RANK" not in os.environ:
            warnings.warn(f"distributed={strategy!r} ignored: not launched by torchrun; "
                          "running one process. Launch with `torchrun --nproc_per_node N "
                          "-m pretrain train ...`.", stacklevel=2)
        return Parallel("none", device=resolved)
    if strategy == "none":
        raise ValueError(
            f"Launched with {world_size} processes but distributed='none': every process "
            "would train its own copy. Choose 'ddp', 'zero1', 'fsdp', 'tp' or 'pp'.")
    if resolved.type == "cuda":
        torch.cuda.set_device(resolved)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if resolved.type == "cuda" else "gloo")
    return Parallel(strategy, rank=rank, world_size=world_size, local_rank=local_rank,
                    device=resolved, microbatches=microbatches)
