"""The benchmark scripts, run as modules from the repository root so that ``pretrain`` (not
installed) and ``benchmarks`` import from the checkout, e.g. ``python -m benchmarks.peers``.

``compat.py`` alone runs as a script (``python benchmarks/compat.py``): it must import the
installed wheel's ``skllmselect``, not the checkout's (see its docstring).
"""
