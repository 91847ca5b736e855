"""Selection quality: ranking metrics, meta-learning baselines, statistics, perplexity.

Everything here is a small function or estimator; ``benchmarks/selection.py`` strings them
together on the 55 UCI datasets and on the corpus test split, ``pretrain/protocol.py`` on the
decision protocol's folds. One module per concept; every public name is re-exported here, so
``from pretrain.evaluate import X`` and ``evaluate.X`` work whichever module defines ``X``:

- ``table``: a benchmark's arrays (:class:`SelectionTable`, :func:`selection_table`);
- ``metrics``: metrics of one ranking (regret@k, gap closed, ...), random choice exactly;
- ``statistics``: bootstrap intervals (:func:`bootstrap_ci`, :func:`gap_closed_ci`);
- ``baselines``: the meta-learning baselines and the model as a scorer;
- ``comparison``: methods fitted and scored (:func:`evaluate_methods`), the summary table;
- ``perplexity``: masked-token perplexity of the token head.
"""

from pretrain.evaluate.baselines import (
    GreedyPortfolio,
    ModelScorer,
    NearestDatasets,
    PairwiseForest,
    PerPipelineForest,
    RandomChoice,
    SingleBest,
    cheap_baselines,
)
from pretrain.evaluate.comparison import (
    METRICS,
    evaluate_methods,
    leave_one_group_out,
    oracle_per_dataset_metrics,
    per_dataset_metrics,
    random_per_dataset_metrics,
    summarize,
)
from pretrain.evaluate.metrics import (
    TIE_TOLERANCE,
    cost_at_k,
    expected_random_cost_at_k,
    expected_random_fail_at_k,
    expected_random_hit_at_k,
    expected_random_ndcg_at_k,
    expected_random_regret_at_k,
    expected_random_spearman,
    fail_at_k,
    gap_closed,
    hit_at_k,
    ndcg_at_k,
    ndcg_gains,
    put_ineligible_last,
    ranking_from_scores,
    regret_at_k,
    score_mae,
    spearman,
)
from pretrain.evaluate.perplexity import masked_perplexity
from pretrain.evaluate.statistics import bootstrap_ci, bootstrap_indices, gap_closed_ci
from pretrain.evaluate.table import SelectionTable, selection_table

__all__ = [
    "SelectionTable",
    "selection_table",
    "TIE_TOLERANCE",
    "ranking_from_scores",
    "regret_at_k",
    "hit_at_k",
    "ndcg_gains",
    "ndcg_at_k",
    "spearman",
    "fail_at_k",
    "cost_at_k",
    "score_mae",
    "expected_random_regret_at_k",
    "expected_random_hit_at_k",
    "expected_random_ndcg_at_k",
    "expected_random_spearman",
    "expected_random_fail_at_k",
    "expected_random_cost_at_k",
    "gap_closed",
    "put_ineligible_last",
    "bootstrap_indices",
    "bootstrap_ci",
    "gap_closed_ci",
    "RandomChoice",
    "SingleBest",
    "GreedyPortfolio",
    "NearestDatasets",
    "PerPipelineForest",
    "PairwiseForest",
    "ModelScorer",
    "cheap_baselines",
    "METRICS",
    "per_dataset_metrics",
    "random_per_dataset_metrics",
    "oracle_per_dataset_metrics",
    "summarize",
    "evaluate_methods",
    "leave_one_group_out",
    "masked_perplexity",
]
