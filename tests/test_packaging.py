"""The library's requirements are ranges, and the two files that pin versions agree with them.

``constraints.txt`` is what ``make test`` installs; ``constraints-lowest.txt`` is the low end
that ``make compat`` installs the wheel with. If a lower bound in pyproject.toml moves without
the lowest file (or the reverse), the compatibility check would test another range than the
one users are promised.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
# Checked at 2.13.0 only (every other build is a multi-GB CUDA download); its bound, 2.4, is
# the first release with nn.RMSNorm (docs/contributing.md, "Supported versions").
ONLY_CHECKED_AT_ONE_VERSION = {"torch"}


def requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(line) for line in project["dependencies"]]


def pins(name: str) -> dict[str, Version]:
    out = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            (spec,) = requirement.specifier
            assert spec.operator == "==", f"{name}: {line} is not an exact pin"
            out[canonicalize_name(requirement.name)] = Version(spec.version)
    return out


def lower_bound(requirement: Requirement) -> Version | None:
    bounds = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
    return max(bounds) if bounds else None


def test_library_requirements_are_ranges_not_pins():
    for requirement in requirements():
        assert all(s.operator != "==" for s in requirement.specifier), str(requirement)
        assert lower_bound(requirement) is not None, f"{requirement}: no tested lower bound"


def test_lowest_constraints_pin_every_lower_bound():
    lowest = pins("constraints-lowest.txt")
    for requirement in requirements():
        name = canonicalize_name(requirement.name)
        assert name in lowest, f"constraints-lowest.txt lacks {name}"
        if name not in ONLY_CHECKED_AT_ONE_VERSION:
            assert lowest[name] == lower_bound(requirement), (
                f"{name}: constraints-lowest.txt has {lowest[name]}, pyproject.toml's lower "
                f"bound is {lower_bound(requirement)}")
        assert requirement.specifier.contains(lowest[name], prereleases=True)


def test_test_constraints_pin_every_requirement_inside_its_range():
    pinned = pins("constraints.txt")
    for requirement in requirements():
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"constraints.txt lacks {name}"
        assert requirement.specifier.contains(pinned[name]), (
            f"constraints.txt pins {name} {pinned[name]}, outside {requirement.specifier}")
