"""The one writer of result tables: a data frame as a markdown pipe table.

Every report the repository writes (the corpus's diversity page, the protocol reports, the
vocabulary, the benchmarks' results and the README's generated blocks) goes through
:func:`markdown_table`, so they all look alike and ``benchmarks/tables.py`` can read them back.
"""

from __future__ import annotations

import pandas as pd


def markdown_table(frame: pd.DataFrame, **options) -> str:
    """``frame`` as a markdown table (``DataFrame.to_markdown``, through tabulate), or as plain
    text in a code block without tabulate.

    ``options`` go to ``to_markdown``: ``index=False`` leaves the index out, and
    ``disable_numparse=True`` keeps cells that are already formatted strings as they are
    (tabulate would otherwise read ``"0.120"`` as a number and print ``0.12``).
    """
    try:
        return frame.to_markdown(**options)
    except ImportError:  # tabulate missing: plain text still reads
        return "```\n" + frame.to_string(index=options.get("index", True)) + "\n```"
