"""The README's and the docs' generated blocks are what ``benchmarks/results`` and the corpus
manifest give (``benchmarks/tables.py``, ``make tables``): a rerun benchmark whose numbers
were not carried into the pages fails here, naming the block and the page."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from benchmarks import tables

# What the generator reads, besides the pages themselves.
SOURCES = [tables.MANIFEST, tables.WEIGHTS, tables.RESULTS / "peers.csv",
           tables.RESULTS / "large_tier.json",
           # the curves' results, once `make curves` has written them
           *(path.relative_to(tables.ROOT) for pattern in ("curves_*.csv", "curves_*.png")
             for path in (tables.ROOT / tables.RESULTS).glob(pattern)),
           tables.RESULTS / "selection.json", tables.RESULTS / "speed.json",
           *(tables.RESULTS / "protocol" / variant / "report.md"
             for variant in (tables.CHOICES_VARIANT, tables.SHIPPED_VARIANT))]


@pytest.fixture
def repo(tmp_path):
    """A copy of the pages and of the result files they are made from."""
    for page in tables.pages(tables.ROOT):
        relative = page.relative_to(tables.ROOT)
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(page, tmp_path / relative)
    for relative in SOURCES:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tables.ROOT / relative, tmp_path / relative)
    return tmp_path


def test_every_generated_block_matches_the_results():
    problems = tables.run(tables.ROOT, check=True)
    assert not problems, "\n".join(problems) + "\nrun `make tables` and commit the pages"


def test_every_block_is_used_somewhere():
    text = "".join(page.read_text(encoding="utf-8") for page in tables.pages(tables.ROOT))
    unused = [name for name in tables.BLOCKS if f"<!-- generated: {name} -->" not in text]
    assert not unused


def test_a_changed_result_file_fails_the_check_until_regenerated(repo):
    assert tables.run(repo, check=True) == []
    # anneal: top_k=1 and top_k=3 tie today; a worse top_k=1 there is one more top_k=3 win.
    path = repo / tables.RESULTS / "peers.csv"
    frame = pd.read_csv(path)
    before = tables.peers_summary(repo)
    frame.loc[(frame["dataset"] == "anneal") & (frame["method"] == "skllmselect_k1"),
              "balanced_accuracy"] = 0.1
    frame.to_csv(path, index=False)
    problems = tables.run(repo, check=True)
    assert any(p.startswith("README.md: block 'peers-summary' differs") for p in problems)
    assert tables.main(["--check", "--root", str(repo)]) == 1
    assert tables.peers_summary(repo) != before

    tables.main(["--root", str(repo)])  # regenerate, as `make tables` does
    assert tables.run(repo, check=True) == []
    assert tables.peers_summary(repo) in (repo / "README.md").read_text(encoding="utf-8")


def test_a_changed_manifest_fails_the_check_of_the_docs(repo):
    path = repo / tables.MANIFEST
    manifest = json.loads(path.read_text())
    manifest["by_split"]["train"] += 1
    path.write_text(json.dumps(manifest))
    problems = tables.run(repo, check=True)
    assert "docs/pretraining.md: block 'corpus-tokens' differs from what the results give" \
        in problems


def test_broken_markers_name_the_page(repo):
    readme = repo / "README.md"
    readme.write_text("<!-- generated: no-such-block -->\n\n<!-- end generated -->\n")
    with pytest.raises(ValueError, match="README.md: unknown generated block 'no-such-block'"):
        tables.run(repo, check=True)
    readme.write_text("<!-- generated: peers-summary -->\n\ntext\n")
    with pytest.raises(ValueError, match="README.md: generated block 'peers-summary' has no"):
        tables.run(repo, check=True)


def test_a_missing_result_file_says_which(repo):
    (repo / tables.RESULTS / "selection.json").unlink()
    with pytest.raises(FileNotFoundError, match="selection.json is missing"):
        tables.run(repo, check=True)
