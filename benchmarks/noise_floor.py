"""How noisy one cross-validation is as a target: the corpus tables scored under two seeds.

    python -m benchmarks.noise_floor [--corpus pretrain/data/corpus]

For every real table the corpus scored under protocol seeds 0 and 1 (``runs.jsonl.gz`` and
``runs.seed1.jsonl.gz``, packed beside the corpus), the regret, on seed 0's scores, of the
pipeline seed 1 ranks first (the oracle of another CV seed: what a perfect predictor of one
CV's outcome loses on another's) beside the regret of the corpus's single best pipeline, by
table size. Writes ``benchmarks/results/noise_floor.md``.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd

from pretrain.evaluate import ranking_from_scores, regret_at_k
from pretrain.markdown import markdown_table

ROOT = Path(__file__).resolve().parents[1]

SIZES = [0, 50, 100, 200, 400, 1000]


def read_pack(path: Path) -> dict[str, dict]:
    with gzip.open(path, "rt") as handle:
        return {r["dataset"]: r for r in map(json.loads, handle)}


def noise_table(corpus_dir: Path) -> pd.DataFrame:
    corpus = pd.read_parquet(corpus_dir / "corpus.parquet")
    names = [c.removeprefix("score.") for c in corpus.columns if c.startswith("score.")]
    first = read_pack(corpus_dir / "runs.jsonl.gz")
    second = read_pack(corpus_dir / "runs.seed1.jsonl.gz")
    rows = []
    in_corpus = set(corpus["dataset"])
    # The single best pipeline by mean seed-0 score over the corpus (what SBS means here).
    first_mean = np.mean([[first[d]["pipelines"][n]["score"] for n in names]
                          for d in in_corpus if d in first], axis=0)
    single_best = ranking_from_scores(first_mean)
    for dataset, again in second.items():
        once = first.get(dataset)
        if (dataset not in in_corpus or once is None or again["error"]
                or once["fingerprint"] != again["fingerprint"]):
            continue
        a = np.array([once["pipelines"][n]["score"] for n in names])
        b = np.array([again["pipelines"][n]["score"] for n in names])
        rows.append({"rows": once["n_rows_used"],
                     "oracle of the other seed": regret_at_k(a, ranking_from_scores(b)),
                     "single best pipeline": regret_at_k(a, single_best)})
    table = pd.DataFrame(rows)
    table["table rows"] = pd.cut(table["rows"], SIZES)
    grouped = table.groupby("table rows", observed=True)
    out = grouped[["oracle of the other seed", "single best pipeline"]].mean().round(2)
    out.insert(0, "tables", grouped.size())
    out.index = out.index.astype(str)
    out.loc["all"] = [len(table), *table[out.columns[1:]].mean().round(2)]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "pretrain" / "data" / "corpus")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    table = noise_table(args.corpus)
    text = ("# Noise of one cross-validation as a target\n\n"
            "Real corpus tables scored under two protocol seeds (other folds, other pipeline "
            "seeds): mean regret@1 in points of balanced accuracy, on seed 0's scores, of the "
            "pipeline seed 1 ranks first, beside the corpus's single best pipeline. Made by "
            "`python -m benchmarks.noise_floor`.\n\n" + markdown_table(table) + "\n")
    (args.out / "noise_floor.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
