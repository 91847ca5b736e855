"""Do the lowest and the highest supported dependency versions describe data the same way?

The bundled model was trained on meta-features computed with one set of library versions
(constraints.txt); a user installs the wheel beside whatever numpy, pandas, scipy and
scikit-learn the ranges in pyproject.toml allow. This script is the check behind those ranges
(``make compat`` runs all of it):

1. ``wheel WHEEL``: the built wheel holds the ``skllmselect`` package and nothing else at the
   top level (``pretrain`` and ``benchmarks`` stay in the repository).
2. ``describe --uci-path FOLDER --out FILE.json``, run by each environment's own python with
   the wheel installed: the bundled model's meta-feature vector, its tokens and its ranking
   (``recommend``) for every UCI table, plus the versions that produced them.
3. ``compare LOW.json HIGH.json``: per meta-feature, the largest absolute and relative
   difference over the tables; whether the NaN pattern, the tokens and every ranking's top 3
   are the same. Exit status 1 when any of these three differs (why that tolerance:
   :func:`compare`; the measured differences: docs/contributing.md, "Supported versions").

The UCI tables are read with the repository's ``pretrain.sources.uci``, its package imported
from the checkout by location (:func:`_checkout_package`), without any ``sys.path`` entry, so
``skllmselect`` stays the installed wheel's; ``describe`` refuses to run on the repository's
copy.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import platform
import sys
import time
import warnings
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VERSIONED = ("numpy", "pandas", "scipy", "scikit-learn", "pymfe", "torch", "safetensors",
             "huggingface-hub", "threadpoolctl", "skllmselect")
TOP = 3


def check_wheel(wheel: Path) -> list[str]:
    """The wheel's top-level names other than ``skllmselect`` and its metadata (should be
    none)."""
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
        weights = [n for n in archive.namelist() if n.startswith("skllmselect/weights/")]
    if not weights:
        return ["skllmselect/weights/ (missing: the bundled model is package data)"]
    return sorted(t for t in tops if t != "skllmselect" and not t.endswith(".dist-info"))


def _checkout_package(name: str) -> None:
    """Import the checkout's package ``name`` by its location, not through ``sys.path``.

    Putting the checkout on ``sys.path`` would also make its ``skllmselect`` importable, ahead
    of or beside the installed wheel this script exists to test; registering the one package
    by location gives ``pretrain`` (and its subpackages, through the package's ``__path__``)
    and nothing else.
    """
    import importlib.util

    folder = REPO / name
    spec = importlib.util.spec_from_file_location(
        name, folder / "__init__.py", submodule_search_locations=[str(folder)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)


def describe_all(uci_path: str | None) -> dict:
    """The installed wheel's meta-features, tokens and top 3 for every UCI table."""
    import numpy as np

    import skllmselect
    from skllmselect import LLMAlgorithmSelector, loading

    if Path(skllmselect.__file__).resolve().parent == REPO / "skllmselect":
        raise SystemExit(f"skllmselect comes from the repository ({skllmselect.__file__}), not "
                         "from an installed wheel: run this with the test environment's python "
                         "from outside the repository's import path (see `make compat`).")
    _checkout_package("pretrain")  # for reading the tables; skllmselect stays the wheel's
    from pretrain.sources.uci import iter_uci

    _, tokenizer = loading.load()
    selector = LLMAlgorithmSelector(random_state=0)
    rows, start = [], time.perf_counter()
    for dataset in iter_uci(uci_path):
        labelled = dataset.y.notna().to_numpy()
        X = dataset.X[labelled].reset_index(drop=True)
        y = dataset.y[labelled].reset_index(drop=True)
        with warnings.catch_warnings():  # the preparation's and coverage notes: not compared
            warnings.simplefilter("ignore")
            table = selector.recommend(X, y)
        vector = np.array(list(table.attrs["meta_features"].values()), dtype=float)
        rows.append({
            "dataset": dataset.id,
            "metafeatures": [None if math.isnan(v) else v for v in vector.tolist()],
            "tokens": tokenizer.encode(vector[None, :])[0].tolist(),
            "ranking": table["pipeline"].tolist(),
        })
        print(f"{dataset.id}: top {TOP} {rows[-1]['ranking'][:TOP]}", flush=True)
    return {
        "python": platform.python_version(),
        "versions": {name: importlib.metadata.version(name) for name in VERSIONED},
        "skllmselect_file": skllmselect.__file__,
        "names": list(table.attrs["meta_features"]),
        "seconds": round(time.perf_counter() - start, 1),
        "datasets": rows,
    }


def compare(low: dict, high: dict) -> tuple[str, bool]:
    """A Markdown report of the differences, and whether the model reads the same input.

    The tolerance is the model's own resolution: the network reads each meta-feature as one
    of its tokenizer's quantile bins, so the check asks for the same token of every
    meta-feature on every table (and the same NaN pattern), and, for the forest that reads the
    raw values, the same top 3. Raw differences are reported, not judged.
    """
    problems = []
    if [r["dataset"] for r in low["datasets"]] != [r["dataset"] for r in high["datasets"]]:
        problems.append("the two runs described different datasets")
    names = low["names"]
    worst = {name: (0.0, 0.0, "") for name in names}  # abs, rel, dataset
    tops_same = tokens_same = 0
    for a, b in zip(low["datasets"], high["datasets"], strict=True):
        for name, u, v in zip(names, a["metafeatures"], b["metafeatures"], strict=True):
            if (u is None) != (v is None):
                problems.append(f"{a['dataset']} {name}: {u} (low) vs {v} (high), NaN in one")
            elif u is not None and u != v:
                diff = abs(u - v)
                rel = diff / max(abs(u), abs(v))
                if rel > worst[name][1]:
                    worst[name] = (diff, rel, a["dataset"])
        if a["tokens"] == b["tokens"]:
            tokens_same += 1
        else:
            changed = [names[j] for j, (s, t) in enumerate(zip(a["tokens"], b["tokens"],
                                                               strict=True)) if s != t]
            problems.append(f"{a['dataset']}: tokens differ for {', '.join(changed)}")
        if a["ranking"][:TOP] == b["ranking"][:TOP]:
            tops_same += 1
        else:
            problems.append(f"{a['dataset']}: top {TOP} {a['ranking'][:TOP]} (low) vs "
                            f"{b['ranking'][:TOP]} (high)")

    n = len(low["datasets"])
    differing = {k: v for k, v in worst.items() if v[1] > 0}
    lines = [
        "| | low | high |", "| --- | --- | --- |",
        *(f"| {k} | {low['versions'][k]} | {high['versions'][k]} |" for k in VERSIONED),
        f"| python | {low['python']} | {high['python']} |",
        f"| seconds (describe + rank, {n} tables) | {low['seconds']} | {high['seconds']} |",
        "",
        f"- Identical top {TOP} on {tops_same} of {n} UCI tables; identical tokens on "
        f"{tokens_same} of {n}.",
        f"- Meta-features with any difference: {len(differing)} of {len(names)}"
        + (":" if differing else " (every vector bit for bit the same)."),
        *(f"  - {k}: max abs {d:.3g}, max rel {r:.3g} ({w})"
          for k, (d, r, w) in sorted(differing.items(), key=lambda kv: -kv[1][1])),
        "- Same NaN pattern, tokens and top 3 everywhere: "
        + ("yes." if not problems else f"NO, {len(problems)} problems:"),
        *(f"  - {p}" for p in problems),
    ]
    return "\n".join(lines), not problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    wheel = commands.add_parser("wheel", help="check what the built wheel ships")
    wheel.add_argument("wheel", type=Path)
    run = commands.add_parser("describe", help="describe every UCI table with this environment")
    run.add_argument("--uci-path", default=None,
                     help="the UCI benchmark folder (default: $SKLLMSELECT_UCI)")
    run.add_argument("--out", type=Path, required=True)
    both = commands.add_parser("compare", help="compare two describe runs")
    both.add_argument("low", type=Path)
    both.add_argument("high", type=Path)
    args = parser.parse_args(argv)

    if args.command == "wheel":
        extra = check_wheel(args.wheel)
        if extra:
            print(f"{args.wheel.name} ships more than skllmselect: {', '.join(extra)}")
            return 1
        print(f"{args.wheel.name}: skllmselect (with its weights) and its metadata only")
        return 0
    if args.command == "describe":
        result = describe_all(args.uci_path)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")
        print(f"{len(result['datasets'])} tables in {result['seconds']} s -> {args.out}")
        return 0
    report, ok = compare(json.loads(args.low.read_text()), json.loads(args.high.read_text()))
    print(report)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
