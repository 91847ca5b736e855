"""``python -m skllmselect``: the ``skllmselect`` command (see :mod:`skllmselect.cli`)."""

import sys

from skllmselect.cli import main

if __name__ == "__main__":
    sys.exit(main())
