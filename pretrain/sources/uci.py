"""The held-out benchmark: 55 real UCI tables in a read-only folder (``../shared/data/uci``).

These are never copied into the repository nor allowed into a training corpus; benchmarks
read them from the folder given on the command line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from pretrain.sources import Dataset

#: Where the benchmark folder sits relative to a checkout of this repository.
DEFAULT_UCI_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "uci"


def read_manifest(path: str | Path = DEFAULT_UCI_PATH) -> list[dict]:
    """Return the folder's ``manifest.json`` entries (name, file, target, categorical, ...)."""
    path = Path(path)
    manifest = path / "manifest.json"
    if not manifest.is_file():
        raise FileNotFoundError(
            f"No benchmark manifest at {manifest}. Pass the folder that holds the UCI "
            "benchmark (manifest.json and *.csv.gz), e.g. --uci-path ../shared/data/uci."
        )
    return json.loads(manifest.read_text())


def load_uci_dataset(entry: dict, path: str | Path = DEFAULT_UCI_PATH) -> Dataset:
    """Read one benchmark table; nominal columns (as the manifest lists them) become str."""
    path = Path(path)
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


def iter_uci(path: str | Path = DEFAULT_UCI_PATH, names=None) -> Iterator[Dataset]:
    """Yield the benchmark datasets in manifest order (optionally only ``names``)."""
    entries = read_manifest(path)
    if names is not None:
        wanted = set(names)
        unknown = wanted - {e["name"] for e in entries}
        if unknown:
            raise ValueError(f"Unknown UCI datasets {sorted(unknown)} in {path}.")
        entries = [e for e in entries if e["name"] in wanted]
    for entry in entries:
        yield load_uci_dataset(entry, path)
