"""What each parallel mode costs for this model's sizes: the numbers behind the docs' scaling
section (``python -m pretrain.parallel_costs`` prints its table; a test keeps the page equal).

Per preset, for the real vocabulary (5 special + 20 pipeline + 73 x (1 + n_bins) ids) and
sequences of L = 74 tokens, with ``n`` = 2 processes:

- parameters, and the training state that data parallelism replicates and ZeRO/FSDP shard:
  16 bytes a parameter (fp32 weight, gradient and two AdamW moments);
- activation memory one block keeps for backward, per sequence, in 16-bit (Korthikanti et
  al. 2022): ``L d (34 + 5 h L / d)`` bytes, for ``d`` = d_model and ``h`` heads;
- bytes each rank sends per optimizer step of ``B`` sequences (ring collectives, which send
  ``2 (n - 1) / n`` of the buffer): DDP all-reduces the fp32 gradients once; TP all-reduces
  the (B, L, d) 16-bit activations twice per block forward and twice backward; PP sends
  them once forward and once backward per stage boundary;
- the step's compute, ``6 x non-embedding parameters x B x L`` FLOPs.
"""

from __future__ import annotations

from pretrain import presets
from pretrain.plan import count_parameters

SEQUENCE_LENGTH = 74  # [CLS] + 73 meta-features
N_PIPELINES = 20
PROCESSES = 2
STATE_BYTES = 16  # fp32 weight + gradient + AdamW's two moments
ACTIVATION_BYTES = 2  # bf16 activations


def costs(name: str, n: int = PROCESSES) -> dict:
    """The numbers of one preset (see the module docstring)."""
    config = presets.PRESETS[name]()
    model, batch = config.model, config.optim.batch_size
    vocab = 5 + N_PIPELINES + (SEQUENCE_LENGTH - 1) * (1 + model.n_bins)
    L, d, h = SEQUENCE_LENGTH, model.d_model, model.n_heads
    parameters = count_parameters(model, vocab, L, N_PIPELINES)
    non_embedding = count_parameters(model, vocab, L, N_PIPELINES, exclude_embeddings=True)
    ring = 2 * (n - 1) / n
    hidden = batch * L * d * ACTIVATION_BYTES  # one (B, L, d) activation tensor
    return {
        "preset": name, "d_model": d, "layers": model.n_layers, "heads": h, "batch": batch,
        "parameters": parameters,
        "state_mb": parameters * STATE_BYTES / 1e6,
        "activation_kb_per_layer_sequence": L * d * (34 + 5 * h * L / d) / 1e3,
        "activation_mb_per_step": model.n_layers * batch * L * d * (34 + 5 * h * L / d) / 1e6,
        "ddp_mb": ring * parameters * 4 / 1e6,
        "tp_mb": 4 * model.n_layers * ring * hidden / 1e6,
        "pp_mb": 2 * hidden / 1e6,
        "step_gflop": 6 * non_embedding * batch * L / 1e9,
    }


def markdown() -> str:
    """The docs' table: one row per preset."""
    header = ("| preset | d_model x layers (heads) | parameters | training state | "
              "activations per block and sequence | activations per step | "
              "sent per step: DDP | TP | PP | compute per step |")
    rows = [header, "|" + "---|" * 10]
    for name in ("debug", "compact", "small", "full"):
        c = costs(name)
        rows.append(
            f"| {name} | {c['d_model']} x {c['layers']} ({c['heads']}) | "
            f"{c['parameters']:,} | {c['state_mb']:.1f} MB | "
            f"{c['activation_kb_per_layer_sequence']:.0f} kB | "
            f"{c['activation_mb_per_step']:.0f} MB (B = {c['batch']}) | "
            f"{c['ddp_mb']:.2f} MB | {c['tp_mb']:.2f} MB | {c['pp_mb']:.2f} MB | "
            f"{c['step_gflop']:.1f} GFLOP |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
