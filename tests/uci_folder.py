"""Where the tests find the UCI benchmark: the folder ``SKLLMSELECT_UCI`` names.

The folder is not part of the repository (it is never copied into it); CI sets the variable
(``.ci/run``). Tests that read it are skipped, with this reason, when it is unset, and fail
when it names a folder without a benchmark manifest: a wrong path must not pass as a skip.
"""

from __future__ import annotations

import pytest

from pretrain.sources.uci import UCI_ENV, env_uci_path

UCI_PATH = env_uci_path()
if UCI_PATH is not None and not (UCI_PATH / "manifest.json").is_file():
    raise pytest.UsageError(f"{UCI_ENV}={UCI_PATH} has no manifest.json; point it at the UCI "
                            "benchmark folder or unset it to skip the tests that need it.")

needs_uci = pytest.mark.skipif(
    UCI_PATH is None, reason=f"set {UCI_ENV} to the UCI benchmark folder to run this test")
