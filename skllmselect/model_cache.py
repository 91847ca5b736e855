"""The model, loaded once per process, and its first load started beside the worker.

:class:`skllmselect.selector.LLMAlgorithmSelector` asks :func:`load` for the network, the
tokenizer, the residuals and the forest; :func:`start` begins the meta-feature worker and,
on the first call for a model, that model's load in a thread, so that the two cold starts
overlap. The folders themselves are :mod:`skllmselect.loading`'s.
"""

from __future__ import annotations

import contextlib
import functools
import threading

from skllmselect import loading
from skllmselect.metafeatures import start_worker


@functools.lru_cache(maxsize=8)
def _load_cached(model: str, revision: str | None):
    """``loading.load`` once per (model, revision) and process: later calls are free.

    Returns ``(network, tokenizer, residuals, forest)``; residuals and forest are None for a
    model without them. Call it through :func:`load`, which waits for a load under way.
    """
    return loading.load(model, revision, with_residuals=True, with_forest=True)


# One load at a time: a call that needs the model while start's thread loads it waits for
# that load (then finds it cached) instead of loading it a second time.
_LOAD_LOCK = threading.Lock()
_started_loads: set[tuple[str, str | None]] = set()
_STARTED_LOCK = threading.Lock()


def load(model: str, revision: str | None):
    """``(network, tokenizer, residuals, forest)`` of ``model``; waits for a load under way."""
    with _LOAD_LOCK:
        return _load_cached(model, revision)


def start(model: str, revision: str | None) -> None:
    """Start the meta-feature worker and, on the first call for this model, its load.

    The model loads in a thread of this process while the worker process starts and
    extracts the meta-features: on a first call each takes about 1.5 s of one core (torch
    and the network here; pymfe, scikit-learn and the extraction there), in parallel rather
    than one after the other (see ``benchmarks/speed.py --cold-only``). Later calls: a
    no-op queued in the running worker. A load that fails in the thread is left for the
    caller's own load (:func:`load`, in :meth:`LLMAlgorithmSelector._rank`) to raise.
    """
    start_worker()
    with _STARTED_LOCK:
        if (model, revision) in _started_loads:
            return
        _started_loads.add((model, revision))
    threading.Thread(target=_load_quietly, args=(model, revision),
                     name="skllmselect-model-load").start()


def _load_quietly(model: str, revision: str | None) -> None:
    with contextlib.suppress(Exception):  # raised again, to the caller, by its own load
        load(model, revision)

