"""The documentation site: every code sample runs, and ``mkdocs build --strict`` passes.

Each page's fenced blocks are taken in file order. ``python`` blocks run in one namespace
per page, in a temporary folder; ``bash`` blocks are checked command by command: the
``skllmselect`` commands run (in-process, in the same folder, after the page's Python
that writes their input), and every other command must name a real ``make`` target, a
``python -m pretrain`` step whose options parse, or a file of the repository. A block
preceded by ``<!-- no-run: reason -->`` needs a GPU, the network or hours: it is only
compiled. The strict build is how CI builds the docs: a broken link, anchor, include,
picture or docstring fails it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
NO_RUN = re.compile(r"^<!--\s*no-run\b(?P<reason>.*?)-->\s*$")
FENCE = re.compile(r"^(?P<fence>`{3,})\s*(?P<lang>[\w+-]*)")
MAKE_TARGET = re.compile(r"^(?P<name>[A-Za-z][\w-]*)\s*:(?!=)", re.M)
# Commands that are shown, not checked: installers and shell built-ins.
SHOWN_ONLY = {"pip", "source", "cd"}
# Pages whose samples take over ~20 s on 2 loaded cores (a dozen fits on iris).
SLOW_PAGES = {"user-guide.md"}


@dataclass
class Block:
    page: Path
    line: int
    lang: str
    code: str
    no_run: str | None  # the reason, for a block marked <!-- no-run -->

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def code_blocks(page: Path) -> list[Block]:
    """The fenced code blocks of ``page``, in order, with their no-run marks."""
    blocks, previous = [], ""
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            if lines[i].strip():
                previous = lines[i].strip()
            i += 1
            continue
        fence, start, body = opening.group("fence"), i + 1, []
        i += 1
        while i < len(lines) and not lines[i].startswith(fence):
            body.append(lines[i])
            i += 1
        mark = NO_RUN.match(previous)
        blocks.append(Block(page, start, opening.group("lang").lower(), "\n".join(body) + "\n",
                            mark.group("reason").strip(" :") if mark else None))
        previous = ""
        i += 1
    return blocks


def _has_code(page: Path) -> bool:
    return any(b.lang in ("python", "bash") for b in code_blocks(page))


# ---------------------------------------------------------------------------------------------
# shell commands


def shell_commands(code: str) -> list[list[str]]:
    """Each command of a bash block as words: continuations joined, comments dropped."""
    commands = []
    for line in code.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = []
        for token in [*lexer, ";"]:
            if token in ("&&", "||", ";", "|"):
                if words:
                    commands.append(words)
                words = []
            else:
                words.append(token)
    return commands


def _pretrain_parser() -> argparse.ArgumentParser:
    """``python -m pretrain``'s parser, as its ``main`` builds it (every ``_add_*`` step)."""
    import pretrain.__main__ as steps

    parser = argparse.ArgumentParser(prog="python -m pretrain")
    subparsers = parser.add_subparsers(dest="step", required=True)
    for name in sorted(vars(steps)):
        if name.startswith("_add_"):
            getattr(steps, name)(subparsers)
    return parser


def _parses(parser: argparse.ArgumentParser, argv: list[str], where: str) -> None:
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            parser.parse_args(argv)
    except SystemExit:
        pytest.fail(f"{where}: `{shlex.join(argv)}` does not parse: {errors.getvalue()}")


def check_command(words: list[str], where: str) -> None:
    """Run a ``skllmselect`` command; check that any other command is a real one."""
    env = []
    while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
        env.append(words.pop(0))
    program, args = words[0], words[1:]
    if program == "skllmselect":
        from skllmselect.cli import _parser, main

        if env:  # run with an environment of its own: only check that it parses
            _parses(_parser(), args, where)
            return
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(args)
        assert status == 0, f"{where}: `{shlex.join(words)}` exited {status}: {err.getvalue()}"
        assert out.getvalue().strip(), f"{where}: `{shlex.join(words)}` printed nothing"
    elif program == "make":
        targets = set(MAKE_TARGET.findall((ROOT / "Makefile").read_text()))
        for target in args:
            if "=" not in target:
                assert target in targets, f"{where}: no make target {target!r}"
    elif program in ("python", "python3") and args[:2] == ["-m", "pretrain"]:
        _parses(_pretrain_parser(), args[2:], where)
    elif program in ("python", "python3") and args[:2] == ["-m", "venv"]:
        pass
    elif program in ("python", "python3") and args[:1] == ["-m"] \
            and args[1].startswith("benchmarks."):
        script = ROOT / (args[1].replace(".", "/") + ".py")
        assert script.is_file(), f"{where}: no benchmark {args[1]!r}"
    elif program in ("python", "python3", "bash"):
        assert args and (ROOT / args[0]).is_file(), f"{where}: no file {args[:1]}"
    elif program == "torchrun":
        assert args[args.index("-m") + 1] == "pretrain", f"{where}: torchrun of what?"
        _parses(_pretrain_parser(), args[args.index("-m") + 2:], where)
    elif program == "dask":
        assert args[:1] in (["scheduler"], ["worker"]), f"{where}: dask {args[:1]}?"
    else:
        assert program in SHOWN_ONLY, f"{where}: unknown command {program!r}: check it here"


# ---------------------------------------------------------------------------------------------
# the tests


def test_the_pages_have_samples_and_few_are_not_run():
    blocks = [b for page in PAGES for b in code_blocks(page)]
    by_page = {p.name for p in PAGES if any(b.lang == "python" for b in code_blocks(p))}
    assert {"quickstart.md", "user-guide.md"} <= by_page
    skipped = [b for b in blocks if b.no_run is not None]
    assert all(b.no_run for b in skipped), "say why a block is not run: <!-- no-run: why -->"
    assert len(skipped) <= 3, [b.where for b in skipped]
    for block in skipped:  # shown only, but still valid Python
        assert block.lang == "python", f"{block.where}: no-run is for Python blocks"
        compile(block.code, block.where, "exec")


@pytest.mark.parametrize("page", [
    pytest.param(p, id=str(p.relative_to(DOCS)),
                 marks=[pytest.mark.slow] if p.name in SLOW_PAGES else [])
    for p in PAGES if _has_code(p)])
def test_page_samples_run(page, tmp_path, monkeypatch):
    """The page's Python blocks, in order, in one namespace; its commands checked or run."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    from threadpoolctl import threadpool_limits

    namespace = {"__name__": "__docs__"}
    with threadpool_limits(limits=1):
        for block in code_blocks(page):
            if block.no_run is not None:
                continue
            if block.lang == "python":
                exec(compile(block.code, block.where, "exec"), namespace)
            elif block.lang == "bash":
                for words in shell_commands(block.code):
                    check_command(words, block.where)
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def test_strict_build(tmp_path):
    """``mkdocs build --strict`` from a clean site folder: no warning at all."""
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    # Included, not copied: the model card without its YAML front matter, the results with
    # their plots (served from benchmarks/results/ by docs/hooks.py).
    card = (site / "model-card" / "index.html").read_text(encoding="utf-8")
    assert "bundled model" in card and "library_name" not in card
    for name in ("demo.png", "selection_regret.png", "speed_latency.png"):
        assert (site / "benchmarks" / name).is_file(), name
    assert (site / "assets" / "training.png").is_file()
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    assert "LLMAlgorithmSelector" in api and ":class:" not in api
