"""Cheap what-ifs on a finished protocol run, from its stored per-fold predictions.

    python -m benchmarks.protocol_sweeps work/protocol/compact_forest50_repcv

Re-fits no network: it reads each fold's held-out predictions of the network alone and of
the baselines (``fold_k.json``) and asks, by top-1 regret on the held-out real datasets:

- **forest**: which forest to blend with (the protocol's own ``PerPipelineForest`` refitted
  per fold on the train split or on train + validation, leaves of 5 or 2, 50 or 100 trees);
- **blend**: which blend weight, with the real-weighted forest baseline's predictions, and
  with each fold's shipped forest (recovered from the blend: ``2 * blend - network`` at
  weight 0.5), chosen honestly too: nested, the weight that is best on four folds graded on
  the fifth;
- **shrink**: whether shrinking the blend toward the single best pipeline's mean helps,
  by a constant share or by a share that grows with the predicted variance;
- **risk**: ranking by the blend minus a multiple of each pipeline's predicted standard
  deviation (risk-averse) or plus it (optimistic);
- **targets** (``--targets``): what the forest regresses: the scores as they are, the scores
  centred on each dataset's mean (only the differences between pipelines), an indicator of
  being within one point of the dataset's best, or the gap to the best clipped at 10 points;
  random forests and extra trees; each alone and blended with the network's centred scores.

A what-if points at a choice; the choice is then measured through the estimator's own path
by a protocol run of its own (``python -m pretrain evaluate``), and that row is what counts.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from pretrain import evaluate as ev
from pretrain.protocol import MODEL, NETWORK_ALONE, RF_REAL, real_folds

#: What the forest regresses (``--targets``): a function of one fold's (n, P) training scores.
TARGETS = {
    "scores": lambda s: s,
    "centred": lambda s: s - s.mean(axis=1, keepdims=True),
    "within 1 point of the best": lambda s: (s >= s.max(axis=1, keepdims=True) - 0.01) * 1.0,
    "gap to the best, clipped at 10 points": lambda s: -np.minimum(
        s.max(axis=1, keepdims=True) - s, 0.10),
}

FORESTS = {"train, 50 trees, leaf 5": ("train", 50, 5),
           "train + validation, 50 trees, leaf 5": ("both", 50, 5),
           "train + validation, 50 trees, leaf 2": ("both", 50, 2),
           "train + validation, 100 trees, leaf 2": ("both", 100, 2)}


def regret1(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Top-1 regret of ranking by ``predicted``, as the protocol computes it."""
    return ev.regret_at_k(truth, ev.ranking_from_scores(predicted), k=1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, help="a finished `pretrain evaluate` folder")
    parser.add_argument("--skip-forests", action="store_true", help="only blend and shrink")
    parser.add_argument("--targets", action="store_true",
                        help="also the forest's targets (about 10 minutes on one core)")
    args = parser.parse_args(argv)
    settings = json.loads((args.run / "settings.json").read_text())
    frame = pd.read_parquet(Path(settings["corpus"]) / "corpus.parquet")
    table = ev.selection_table(frame)
    held = real_folds(frame, settings["n_folds"])
    records = [json.loads((args.run / f"fold_{k}.json").read_text()) for k in range(len(held))]
    rows = np.concatenate(held)
    truth = table.scores[rows]

    def pooled(key: str, name: str) -> np.ndarray:
        return np.concatenate([np.asarray(r[key][name], float) for r in records])

    network, forest, blend = (pooled("predictions", m) for m in (NETWORK_ALONE, RF_REAL, MODEL))
    single_best, sd = pooled("predictions", "SBS"), pooled("uncertainty", MODEL)
    out = {"as run (the estimator's path)": regret1(truth, blend).mean()}
    for weight in (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0):
        mix = (1 - weight) * network + weight * forest
        out[f"blend: network + real-weighted forest at {weight:.1f}"] = regret1(truth, mix).mean()
    out.update(nested_weight(records, held, table))
    for share in (0.1, 0.2, 0.3):
        mix = (1 - share) * blend + share * single_best
        out[f"shrink: constant share {share:.1f}"] = regret1(truth, mix).mean()
    for tau in (0.05, 0.1, 0.2):
        share = sd**2 / (sd**2 + tau**2)
        mix = (1 - share) * blend + share * single_best
        out[f"shrink: variance share, tau {tau}"] = regret1(truth, mix).mean()
    for lam in (-0.5, -0.25, 0.25, 0.5, 1.0):
        # Risk: rank by the blend minus lam predicted standard deviations (lam > 0: prefer
        # the pipelines the model is sure of; lam < 0: optimism, as a bandit would).
        out[f"risk: blend - {lam} sd"] = regret1(truth, blend - lam * sd).mean()
    if not args.skip_forests:
        for label, (splits, n_trees, leaf) in FORESTS.items():
            parts = forest_per_fold(frame, table, held, train_splits=splits,
                                    n_estimators=n_trees, min_samples_leaf=leaf)
            out[f"forest at 0.5: {label}"] = np.concatenate([
                regret1(table.scores[held_out],
                        0.5 * np.asarray(record["predictions"][NETWORK_ALONE], float)
                        + 0.5 * predicted)
                for held_out, record, predicted in zip(held, records, parts, strict=True)
            ]).mean()
    if args.targets:
        out.update(target_sweep(frame, table, held, records, truth, network))
    text = pd.Series(out, name="regret@1").round(2).to_string()
    print(f"{args.run} ({len(rows)} held-out real datasets)\n{text}")
    return 0


WEIGHTS = np.round(np.arange(0.0, 1.01, 0.1), 1)


def nested_weight(records, held, table) -> dict:
    """Regret@1 of each blend weight with the folds' own forests, and the nested estimate.

    Only for runs shipped at weight 0.5, whose blend ``(network + forest) / 2`` gives the
    forest's predictions back exactly (clipping aside, which moves no top-1 here).
    """
    per_fold = []
    for held_out, record in zip(held, records, strict=True):
        network = np.asarray(record["predictions"][NETWORK_ALONE], float)
        forest = 2 * np.asarray(record["predictions"][MODEL], float) - network
        per_fold.append({w: regret1(table.scores[held_out], (1 - w) * network + w * forest)
                         for w in WEIGHTS})
    out = {f"blend with the folds' forests at {w:.1f}":
           np.concatenate([fold[w] for fold in per_fold]).mean() for w in WEIGHTS}
    nested = []
    for k, fold in enumerate(per_fold):
        others = {w: np.concatenate([f[w] for j, f in enumerate(per_fold) if j != k]).mean()
                  for w in WEIGHTS}
        nested.append(fold[min(WEIGHTS, key=lambda w: others[w])])
    out["blend, nested: weight chosen on four folds, graded on the fifth"] = np.concatenate(
        nested).mean()
    return out


def forest_per_fold(frame, table, held, *, target=lambda scores: scores, train_splits="both",
                    **forest) -> list[np.ndarray]:
    """Each fold's held-out predictions by a ``PerPipelineForest(**forest)`` fitted on the
    rest (``train_splits="train"``: on its train split only) on ``target(scores)``, real
    tables weighted 5x as the shipped forest is."""
    split = frame["split"].to_numpy()
    parts = []
    for held_out in held:
        train = np.setdiff1d(np.arange(len(frame)), held_out)
        if train_splits == "train":
            train = train[split[train] == "train"]
        sub = table.subset(train)
        real = sub.groups["source"].to_numpy() != "synthetic"
        model = ev.PerPipelineForest(**forest).fit(sub.metafeatures, target(sub.scores),
                                                   sample_weight=np.where(real, 5.0, 1.0))
        parts.append(model.predict_scores(table.metafeatures[held_out]))
    return parts


def target_sweep(frame, table, held, records, truth, network) -> dict:
    """Regret@1 of forests on each of :data:`TARGETS`, alone and blended with the network.

    Blends add the centred predictions (a ranking ignores each dataset's level); the
    indicator's probabilities count as 10 points per unit, the scale of a near-best margin.
    """
    def centred(p):
        return p - p.mean(axis=1, keepdims=True)

    out = {}
    for kind, extra_trees in (("RF", False), ("extra trees", True)):
        for label, target in TARGETS.items():
            predicted = centred(np.concatenate(forest_per_fold(
                frame, table, held, target=target, n_estimators=50, min_samples_leaf=2,
                extra_trees=extra_trees)))
            scale = 0.1 if label.startswith("within") else 1.0
            out[f"targets: {kind} on {label}, alone"] = regret1(truth, predicted).mean()
            for weight in (0.5, 0.67):
                mix = (1 - weight) * centred(network) + weight * scale * predicted
                out[f"targets: {kind} on {label}, blended at {weight}"] = regret1(
                    truth, mix).mean()
    return out

if __name__ == "__main__":
    raise SystemExit(main())
