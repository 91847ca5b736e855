"""The held-out benchmark: 55 real UCI tables in a read-only folder (manifest.json, *.csv.gz).

These are never copied into the repository nor allowed into a training corpus. Benchmarks,
the leakage guard and the tests read them from the folder given on the command line
(``--uci-path``) or, failing that, in the environment variable :data:`UCI_ENV`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from pretrain.sources import Dataset

#: The environment variable naming the benchmark folder when no path is passed.
UCI_ENV = "SKLLMSELECT_UCI"
#: A default argument meaning "the folder in :data:`UCI_ENV`" (read when used, not on import).
FROM_ENV = "$" + UCI_ENV


def env_uci_path() -> Path | None:
    """The folder :data:`UCI_ENV` names, or None when it is unset or empty."""
    value = os.environ.get(UCI_ENV, "").strip()
    return Path(value) if value else None


def resolve_uci_path(path: str | Path | None = None) -> Path:
    """``path``, else the folder in :data:`UCI_ENV`; a clear error when neither is given."""
    if path is None or str(path) in ("", FROM_ENV):
        path = env_uci_path()
    if path is None:
        raise ValueError(
            "No UCI benchmark folder given: pass --uci-path FOLDER (the folder with "
            f"manifest.json and *.csv.gz) or set the environment variable {UCI_ENV}."
        )
    return Path(path)


def read_manifest(path: str | Path | None = None) -> list[dict]:
    """Return the folder's ``manifest.json`` entries (name, file, target, categorical, ...)."""
    path = resolve_uci_path(path)
    manifest = path / "manifest.json"
    if not manifest.is_file():
        raise FileNotFoundError(
            f"No benchmark manifest at {manifest}. Pass the folder that holds the UCI "
            f"benchmark (manifest.json and *.csv.gz) with --uci-path or {UCI_ENV}."
        )
    return json.loads(manifest.read_text())


def load_uci_dataset(entry: dict, path: str | Path | None = None) -> Dataset:
    """Read one benchmark table; nominal columns (as the manifest lists them) become str."""
    path = resolve_uci_path(path)
    categorical = set(entry["categorical"])
    # Read nominal columns as strings so that codes like "1"/"2" stay categories.
    dtypes = {column: "string" for column in categorical}
    dtypes[entry["target"]] = "string"
    frame = pd.read_csv(path / entry["file"], dtype=dtypes, keep_default_na=False,
                        na_values=[""])
    y = frame.pop(entry["target"]).astype(object)
    for column in categorical:
        frame[column] = frame[column].astype(object)
    return Dataset(
        id=f"uci/{entry['name']}",
        X=frame,
        y=y,
        provenance={
            "source": "uci",
            "name": entry["name"],
            "licence": "UCI Machine Learning Repository terms (CC BY 4.0 for most)",
            "domain": "benchmark",
        },
    )


def iter_uci(path: str | Path | None = None, names=None) -> Iterator[Dataset]:
    """Yield the benchmark datasets in manifest order (optionally only ``names``)."""
    path = resolve_uci_path(path)
    entries = read_manifest(path)
    if names is not None:
        wanted = set(names)
        unknown = wanted - {e["name"] for e in entries}
        if unknown:
            raise ValueError(f"Unknown UCI datasets {sorted(unknown)} in {path}.")
        entries = [e for e in entries if e["name"] in wanted]
    for entry in entries:
        yield load_uci_dataset(entry, path)
