"""Resumable training state on disk: ``out_dir/checkpoints/step_000123.pt``.

A checkpoint is everything needed to continue a run exactly: model and optimizer state,
gradient scaler, step, data position, guard state, RNG states, the config and the tokenizer.
It is *not* the exported model (``out_dir/model/``: safetensors + config.json, see
:meth:`~skllmselect.model.SelectorTransformer.save_pretrained`), which is what ships.

Files are written atomically (a temporary file in the same folder, then ``os.replace``), so a
run killed mid-write leaves the previous checkpoint intact (and a temporary file, which the
next run removes: :func:`remove_temporaries`), and only the newest ``keep`` are kept. They
are read with ``torch.load(weights_only=True)``: the state holds only tensors and plain
Python containers (the numpy RNG state is stored as a tensor for that reason), so no
arbitrary object is ever unpickled. Only rank 0 calls :func:`save`.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path

import numpy as np
import torch

FORMAT_VERSION = 1
_NAME = re.compile(r"^step_(\d+)\.pt$")
#: What :func:`save` writes before its ``os.replace``: left behind only by a killed save.
_TEMPORARY = re.compile(r"^\.step_\d+\.pt\.\d+\.tmp$")


def directory(out_dir) -> Path:
    """The checkpoint folder of a run."""
    return Path(out_dir) / "checkpoints"


def path_for(out_dir, step: int) -> Path:
    return directory(out_dir) / f"step_{step:06d}.pt"


def list_checkpoints(out_dir) -> list[Path]:
    """Checkpoint files of a run, oldest step first."""
    folder = directory(out_dir)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def latest(out_dir) -> Path | None:
    """The checkpoint with the highest step, or ``None`` when there is none."""
    found = list_checkpoints(out_dir)
    return found[-1] if found else None


def save(out_dir, step: int, state: dict, *, keep: int) -> Path:
    """Write ``state`` as the checkpoint of ``step`` atomically; delete all but the newest
    ``keep`` checkpoints. Returns the path written."""
    path = path_for(out_dir, step)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # _TEMPORARY
    state = {"format": FORMAT_VERSION, **state}
    try:
        with open(tmp, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    for old in list_checkpoints(out_dir)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def load(path, map_location="cpu") -> dict:
    """Read a checkpoint written by :func:`save` (``weights_only=True``: no pickled code)."""
    state = torch.load(path, map_location=map_location, weights_only=True)
    if state.get("format") != FORMAT_VERSION:
        raise ValueError(f"Checkpoint {str(path)!r} has format {state.get('format')!r}; this "
                         f"code reads format {FORMAT_VERSION}. Resume it with the code that "
                         "wrote it, or start over with --no-resume.")
    return state


def remove_temporaries(out_dir) -> dict[Path, int]:
    """Delete the temporary files of saves killed mid-write (``.step_*.pt.<pid>.tmp`` in the
    run's checkpoint folder, nothing else); return their sizes in bytes, by path."""
    folder = directory(out_dir)
    if not folder.is_dir():
        return {}
    stray = {p: p.stat().st_size for p in sorted(folder.iterdir())
             if _TEMPORARY.match(p.name) and p.is_file()}
    for path in stray:
        path.unlink(missing_ok=True)
    return stray


def clear(out_dir) -> None:
    """Delete every checkpoint of a run (a fresh start with ``resume=False``)."""
    for path in list_checkpoints(out_dir):
        path.unlink(missing_ok=True)


def rng_state() -> dict:
    """The state of every random generator training touches (python, numpy, torch, cuda)."""
    # The global numpy generator: training draws nothing from it, but code it calls may.
    numpy_state = np.random.get_state(legacy=False)  # noqa: NPY002
    state = {
        "python": random.getstate(),
        "numpy": {"key": torch.from_numpy(numpy_state["state"]["key"].astype(np.int64)),
                  "pos": int(numpy_state["state"]["pos"]),
                  "has_gauss": int(numpy_state["has_gauss"]),
                  "gauss": float(numpy_state["gauss"])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` returned."""
    random.setstate(_as_tuples(state["python"]))
    numpy_state = state["numpy"]
    np.random.set_state({  # noqa: NPY002
        "bit_generator": "MT19937",
        "state": {"key": numpy_state["key"].numpy().astype(np.uint32),
                  "pos": numpy_state["pos"]},
        "has_gauss": numpy_state["has_gauss"], "gauss": numpy_state["gauss"],
    })
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def _as_tuples(value):
    """``random.setstate`` wants tuples; a round trip through lists must not break it."""
    if isinstance(value, list | tuple):
        return tuple(_as_tuples(v) for v in value)
    return value
