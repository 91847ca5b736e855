"""The model, loaded once per process.

:class:`skllmselect.selector.LLMAlgorithmSelector` asks :func:`load` for the network, the
tokenizer, the residuals and the forest. The network is the numpy one
(:func:`skllmselect.loading.load_numpy`): loading the bundled model takes a few hundredths
of a second and imports no torch, so a first call loads it when it needs it, after the
meta-features. The folders themselves are :mod:`skllmselect.loading`'s.
"""

from __future__ import annotations

import functools
import threading

from skllmselect import loading


@functools.lru_cache(maxsize=8)
def _load_cached(model: str, revision: str | None):
    """``loading.load_numpy`` once per (model, revision) and process: later calls are free.

    Returns ``(network, tokenizer, residuals, forest)``; residuals and forest are None for a
    model without them. Call it through :func:`load`, which waits for a load under way.
    """
    return loading.load_numpy(model, revision, with_residuals=True, with_forest=True)


# One load at a time: a thread that needs the model while another loads it waits for that
# load (then finds it cached) instead of loading it a second time.
_LOAD_LOCK = threading.Lock()


def load(model: str, revision: str | None):
    """``(network, tokenizer, residuals, forest)`` of ``model``; waits for a load under way."""
    with _LOAD_LOCK:
        return _load_cached(model, revision)
