"""MkDocs hooks: serve the pictures that live outside docs/ (no copies are committed).

The benchmark plots (``benchmarks/results/*.png``) become ``benchmarks/<name>.png`` in the
site, beside the pages that include ``benchmarks/results/*.md``, so the relative image links
inside those files work unchanged; the training curves
(``pretrain/data/training/training.png``) become ``assets/training.png``. They are added as
MkDocs files, so links to them are validated like any other (``--strict`` fails on a missing
one) and ``mkdocs build`` copies them into the site.

Docstrings use Sphinx roles (``:class:`~sklearn.model_selection.StratifiedKFold```), which
mkdocstrings renders literally; ``on_page_content`` keeps the code span and drops the role.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
PICTURES = {
    "benchmarks": sorted((ROOT / "benchmarks" / "results").glob("*.png")),
    "assets": [ROOT / "pretrain" / "data" / "training" / "training.png"],
}
_ROLE = re.compile(r":(?:class|func|meth|data|attr|mod|obj|exc):<code>(~?)([^<]*)</code>")


def on_files(files, config):
    for folder, paths in PICTURES.items():
        for path in paths:
            if path.is_file():  # a missing picture fails the build through its broken link
                files.append(File.generated(config, f"{folder}/{path.name}",
                                            abs_src_path=str(path)))
    return files


def _role(match: re.Match) -> str:
    short, target = match.group(1), match.group(2)
    return f"<code>{target.rsplit('.', 1)[-1] if short else target}</code>"


def on_page_content(html, page, config, files):
    return _ROLE.sub(_role, html)
