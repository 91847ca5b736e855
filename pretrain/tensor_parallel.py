"""Tensor parallelism: every attention and MLP layer split by heads over the ranks.

Megatron's layout, through ``torch.distributed.tensor.parallel.parallelize_module`` over a
1-D DeviceMesh of all ranks: in each attention layer ``q_proj``, ``k_proj`` and ``v_proj``
are split by output rows (column-wise), so a rank computes ``n_heads / degree`` whole heads,
and ``out_proj`` by input columns (row-wise), whose partial outputs one all-reduce sums; in
each MLP ``w1`` (and ``w3`` for SwiGLU) column-wise, ``w2`` row-wise. So one block costs two
all-reduces of the (B, L, d_model) activations forward and two backward. Embeddings, norms
and heads stay whole on every rank, and every rank reads the same batch (no data
parallelism), so their gradients agree without any reduction of ours.

The sharded weights are DTensors: :class:`pretrain.distributed.Parallel` gathers full state
dicts through ``torch.distributed.checkpoint.state_dict`` (as for FSDP2), so a checkpoint or
an exported model is the same as one process's.
"""

from __future__ import annotations

from torch import nn


def check_model(config, degree: int) -> None:
    """Refuse what cannot be split ``degree`` ways, with the fix."""
    if config.n_heads % degree:
        raise ValueError(f"Tensor parallelism over {degree} processes splits the attention "
                         f"heads, but n_heads={config.n_heads} is not divisible by {degree}; "
                         f"use n_heads a multiple of {degree} or another --nproc_per_node.")
    if config.ff_dim % degree:
        raise ValueError(f"Tensor parallelism over {degree} processes splits the MLP, but its "
                         f"width {config.ff_dim} is not divisible by {degree}; set d_ff to a "
                         f"multiple of {degree}.")
    if config.positions == "alibi":
        raise ValueError("positions='alibi' cannot be tensor parallel here: its per-head "
                         "biases are built for all heads outside the attention layers. Use "
                         "positions='learned' or 'rope', or another --distributed mode.")


def parallelize(model: nn.Module, degree: int, device_type: str) -> nn.Module:
    """Split ``model``'s attention and MLP layers over a mesh of ``degree`` ranks, in place."""
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor.parallel import (
        ColwiseParallel,
        RowwiseParallel,
        parallelize_module,
    )

    from skllmselect.model import MLP, Attention

    check_model(model.config, degree)
    mesh = init_device_mesh(device_type, (degree,))
    for module in list(model.modules()):
        if isinstance(module, Attention):
            plan = {"q_proj": ColwiseParallel(), "k_proj": ColwiseParallel(),
                    "v_proj": ColwiseParallel(), "out_proj": RowwiseParallel()}
            # The layer reshapes by its own head count: now the heads this rank holds.
            module.n_heads = model.config.n_heads // degree
        elif isinstance(module, MLP):
            plan = {"w1": ColwiseParallel(), "w2": RowwiseParallel()}
            if module.w3 is not None:
                plan["w3"] = ColwiseParallel()
        else:
            continue
        parallelize_module(module, mesh, plan)
    return model
