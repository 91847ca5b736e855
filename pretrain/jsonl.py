"""Append-only JSON-lines logs (``metrics.jsonl``) that survive a kill in the middle of a write.

A process killed while appending a row can leave a torn last line: a prefix of the row, with
no final newline. Reading drops that line with a warning, and appending first cuts it off, so
that the next row does not end up glued to it. Any other line that is not JSON is corruption:
reading stops with an error that names the file and the line.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def read_jsonl(path: str | Path) -> list:
    """The rows of ``path``; a torn last line is dropped with a warning."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")  # a complete file ends with "\n": its last piece is empty
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as error:
            if number == len(lines):  # the last piece, not followed by a newline
                log.warning("%s: ignoring its torn last line %d (a write was interrupted): "
                            "%.60r", path, number, line)
                break
            raise ValueError(f"{path} line {number} is not JSON ({error}); only a torn last "
                             "line is expected after a kill. Repair or delete the file.") from None
    return rows


def append_jsonl(path: str | Path, row) -> None:
    """Append ``row`` as one line, after cutting a torn last line left by a killed writer."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        end = handle.seek(0, 2)
        handle.seek(max(end - 1, 0))
        if end and handle.read(1) != b"\n":
            handle.seek(0)
            content = handle.read()
            start = content.rfind(b"\n") + 1
            try:  # the row was written whole but for its newline: keep it
                json.loads(content[start:])
                handle.write(b"\n")
            except ValueError:
                log.warning("%s: cutting its torn last line (a write was interrupted): %.60r",
                            path, content[start:])
                handle.truncate(start)
        handle.write((json.dumps(row) + "\n").encode("utf-8"))
