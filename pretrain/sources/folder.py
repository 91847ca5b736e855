"""A user's own folder of tables ("private domain data"): every CSV or parquet file in it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from pretrain.sources import Dataset

SUFFIXES = (".csv", ".csv.gz", ".parquet")


def _read_table(path: Path) -> pd.DataFrame:
    if path.name.endswith(".parquet"):
        return pd.read_parquet(path)
    return pd.read_csv(path)


def iter_folder(path: str | Path, target: str | None = None, *, domain: str = "private",
                licence: str | None = None) -> Iterator[Dataset]:
    """Yield one dataset per table in ``path`` (sorted by file name), with the id
    ``folder/<file name>`` (``folder/x.csv``).

    Parameters
    ----------
    path : path
        Folder holding ``*.csv``, ``*.csv.gz`` or ``*.parquet`` files, one table each.
    target : str, optional
        Name of the class column in every file; the last column when not given.
    domain, licence : str
        Provenance recorded with each dataset.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder of CSV/parquet tables.")
    files = sorted(p for p in folder.iterdir() if p.name.endswith(SUFFIXES))
    if not files:
        raise ValueError(f"{folder} holds no {', '.join(SUFFIXES)} files.")
    for file in files:
        frame = _read_table(file)
        column = target if target is not None else frame.columns[-1]
        if column not in frame.columns:
            raise ValueError(
                f"{file} has no target column {column!r}; its columns are "
                f"{list(frame.columns)}. Pass --target with the class column's name."
            )
        name = file.name
        for suffix in SUFFIXES:
            name = name.removesuffix(suffix)
        y = frame.pop(column)
        yield Dataset(
            # The file name, suffix included: x.csv and x.parquet are two datasets, and a
            # file's id does not change when another file is added beside it.
            id=f"folder/{file.name}",
            X=frame,
            y=y,
            provenance={"source": "folder", "name": name, "file": str(file),
                        "licence": licence, "domain": domain},
        )
