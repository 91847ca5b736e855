"""Where a model comes from: the bundled weights, a local folder, or a Hub repository.

The only module that talks to ``huggingface_hub`` for files (the network class itself uses
its ``PyTorchModelHubMixin`` for the safetensors format). A model is a folder with
``model.safetensors`` and ``config.json``; the config names the meta-features, the bins and
the portfolio the model was trained on, so a model made for another version of this library
is refused before any weight is read, with a message that says what differs.
"""

from __future__ import annotations

import json
from pathlib import Path

from skllmselect.metafeatures import METAFEATURE_NAMES, METAFEATURES_VERSION
from skllmselect.portfolio import PIPELINE_NAMES, PORTFOLIO_VERSION

BUNDLED = "bundled"
#: The model that ships inside the package (works offline).
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
CONFIG_NAME = "config.json"


class IncompatibleModelError(ValueError):
    """The model was trained on other meta-features or another portfolio than installed."""


def _first_difference(found: list, expected: list) -> str:
    for i, (a, b) in enumerate(zip(found, expected, strict=False)):
        if a != b:
            return f"position {i}: {a!r} in the model, {b!r} installed"
    return f"lengths differ: {len(found)} in the model, {len(expected)} installed"


def check_compatible(config: dict, source: str = "the model") -> None:
    """Raise :class:`IncompatibleModelError` unless ``config`` fits the installed code.

    The meta-feature list (names and order, and the extraction version) and the portfolio
    (pipeline names and order, and its version) must be the ones this installation computes:
    a model read with other inputs would return confident nonsense.
    """
    problems = []
    names = list(config.get("metafeature_names", []))
    if names != list(METAFEATURE_NAMES):
        problems.append(f"meta-features differ ({_first_difference(names, METAFEATURE_NAMES)})")
    pipelines = list(config.get("pipeline_names", []))
    if pipelines != list(PIPELINE_NAMES):
        problems.append(f"portfolio differs ({_first_difference(pipelines, PIPELINE_NAMES)})")
    versions = config.get("versions", {})
    for key, installed in (("metafeatures", METAFEATURES_VERSION),
                           ("portfolio", PORTFOLIO_VERSION)):
        if key in versions and str(versions[key]) != str(installed):
            problems.append(f"{key} version {versions[key]} in the model, {installed} installed")
    tokenizer = config.get("tokenizer", {})
    if tokenizer and (list(tokenizer.get("feature_names", [])) != names
                      or list(tokenizer.get("pipeline_names", [])) != pipelines):
        problems.append("its tokenizer names other features or pipelines than its config")
    if problems:
        raise IncompatibleModelError(
            f"{source} cannot be used with this installation of skllmselect: "
            + "; ".join(problems) + ". Use a model trained for this version "
            "(the bundled one, model='bundled'), or install the skllmselect version the "
            f"model was made with (its config says: {versions or 'no versions recorded'}).")


def resolve(model: str | Path = BUNDLED, revision: str | None = None) -> Path:
    """The local folder holding ``model``: bundled, a folder, or a Hub repo (downloaded)."""
    if str(model) == BUNDLED:
        folder = WEIGHTS_DIR
        if not (folder / CONFIG_NAME).is_file():
            raise FileNotFoundError(
                f"No bundled model in {folder}: this installation was built without weights. "
                "Reinstall skllmselect, or train one with `python -m pretrain train`.")
        return folder
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / CONFIG_NAME).is_file():
            raise FileNotFoundError(f"{path} has no {CONFIG_NAME}: not a skllmselect model "
                                    "folder (expected model.safetensors and config.json).")
        return path
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(repo_id=str(model), revision=revision,
                                  allow_patterns=[CONFIG_NAME, "model.safetensors",
                                                  "README.md"]))


def load(model: str | Path = BUNDLED, revision: str | None = None):
    """Load ``(network, tokenizer)`` for inference, checked against the installed code.

    Parameters
    ----------
    model : str or path, default="bundled"
        ``"bundled"`` (the weights inside the package), a local folder, or a Hub repo id.
    revision : str, optional
        Git revision of a Hub repo (a commit hash pins it exactly).

    Returns
    -------
    network : SelectorTransformer
        In eval mode, on the CPU.
    tokenizer : MetaFeatureTokenizer
    """
    from skllmselect.model import SelectorTransformer
    from skllmselect.tokenizer import MetaFeatureTokenizer

    folder = resolve(model, revision)
    config = json.loads((folder / CONFIG_NAME).read_text())
    check_compatible(config, source=f"The model in {folder}")
    network = SelectorTransformer.from_pretrained(folder).eval()
    tokenizer = MetaFeatureTokenizer.from_dict(config["tokenizer"])
    return network, tokenizer
