"""Where a model comes from: the bundled weights, a local folder, or a Hub repository.

The only module that talks to ``huggingface_hub`` for files (the network class itself uses
its ``PyTorchModelHubMixin`` for the safetensors format). A model is a folder with
``model.safetensors`` and ``config.json`` (and, optionally, a ``README.md`` model card); the
config names the meta-features, the bins and the portfolio the model was trained on, so a
model made for another version of this library is refused before any weight is read, with a
message that says what differs.

A Hub model is downloaded by ``huggingface_hub.snapshot_download`` into the library's own
cache, so ``HF_HOME``/``HF_HUB_CACHE``, ``HF_HUB_OFFLINE``, ``HF_ENDPOINT`` and ``HF_TOKEN``
work as everywhere else; pass a commit hash as ``revision`` to pin exactly what is loaded.
Weights are only ever read from safetensors: a pickled ``pytorch_model.bin`` is refused,
never unpickled.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from pathlib import Path

from skllmselect.metafeatures import METAFEATURE_NAMES, METAFEATURES_VERSION
from skllmselect.portfolio import PIPELINE_NAMES, PORTFOLIO_VERSION

BUNDLED = "bundled"
#: The model that ships inside the package (works offline).
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
#: Optional: the model's errors on its training datasets (measured minus predicted score, one
#: row per dataset), which :mod:`skllmselect.ranking` uses to choose the top k as a set.
RESIDUALS_NAME = "residuals.safetensors"
#: Optional: the forest meta-learner blended with the network (:mod:`skllmselect.forest`).
FOREST_NAME = "forest.safetensors"
#: What is downloaded from a Hub repo; nothing else in it is ever fetched.
HUB_FILES = (CONFIG_NAME, WEIGHTS_NAME, CARD_NAME, RESIDUALS_NAME, FOREST_NAME)
#: Pickled weight files: recognised only to refuse them with a clear message.
PICKLE_NAMES = ("pytorch_model.bin", "model.bin", "model.pt", "model.pth", "model.ckpt")

_COMMIT_HASH = re.compile(r"^[0-9a-f]{40}$")
# Bytes per element of each safetensors dtype (parameter counts and header checks).
_DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2,
                "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
_MAX_HEADER_BYTES = 100 * 2**20  # safetensors' own limit


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


# ---------------------------------------------------------------------------------------------
# where the folder is


def _kind(model) -> str:
    """``"bundled"``, ``"local"`` or ``"hub"``: how ``model`` is to be found."""
    if isinstance(model, str) and model == BUNDLED:
        return "bundled"
    if isinstance(model, os.PathLike):
        return "local"
    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"model must be 'bundled', a folder or a Hub repo id such as "
                         f"'user/name', got {model!r}.")
    if os.path.exists(os.path.expanduser(model)):
        return "local"
    # What can only be a path: absolute, relative to . or ~, Windows separators, or deeper
    # than the Hub's "namespace/name".
    if (os.path.isabs(model) or model.startswith((".", "~")) or "\\" in model
            or model.count("/") > 1):
        return "local"
    return "hub"


def _check_folder(folder: Path, where: str, fix: str) -> Path:
    """``folder`` holds a config and safetensors weights, or a clear error says what not."""
    if not (folder / CONFIG_NAME).is_file():
        raise FileNotFoundError(f"{where} has no {CONFIG_NAME}: not a skllmselect model "
                                f"(expected {WEIGHTS_NAME} and {CONFIG_NAME}). {fix}")
    if not (folder / WEIGHTS_NAME).is_file():
        pickled = [name for name in PICKLE_NAMES if (folder / name).exists()]
        if pickled:
            raise ValueError(f"{where} has only pickled weights ({', '.join(pickled)}) and no "
                             f"{WEIGHTS_NAME}. skllmselect never unpickles weights (unpickling "
                             "can run arbitrary code): save the model with "
                             f"SelectorTransformer.save_pretrained, which writes {WEIGHTS_NAME}.")
        raise FileNotFoundError(f"{where} has no {WEIGHTS_NAME}. {fix}")
    return folder


def resolve(model: str | os.PathLike = BUNDLED, revision: str | None = None, *,
            token: str | bool | None = None) -> Path:
    """The local folder holding ``model``: bundled, a folder, or a Hub repo (downloaded).

    Parameters
    ----------
    model : str or path, default="bundled"
        ``"bundled"`` (the weights inside the package), a local folder, or a Hub repo id
        (``"namespace/name"``).
    revision : str, optional
        Branch, tag or commit hash of a Hub repo; a commit hash pins it exactly (and a cached
        pinned model loads with no request at all). Ignored, with a warning, for the bundled
        model and local folders.
    token : str or bool, optional
        Hub token for a private repo; by default huggingface_hub's own (``HF_TOKEN`` or the
        saved login).

    Returns
    -------
    pathlib.Path
        A folder with ``config.json`` and ``model.safetensors`` (and maybe ``README.md``);
        for a Hub repo, the snapshot folder in the Hugging Face cache, named by its commit.

    Raises
    ------
    FileNotFoundError
        No such folder, no bundled weights, or a Hub model that is neither reachable nor cached.
    ValueError
        An unknown Hub repo or revision, or a folder with only pickled weights.
    """
    kind = _kind(model)
    if kind != "hub" and revision is not None:
        what = "the bundled model" if kind == "bundled" else "a local folder"
        warnings.warn(f"revision={revision!r} is ignored: it only applies to Hub repos, and "
                      f"model={str(model)!r} is {what}.", UserWarning, stacklevel=2)
    if kind == "bundled":
        if not WEIGHTS_DIR.is_dir():
            raise FileNotFoundError(
                f"No bundled model in {WEIGHTS_DIR}: this installation was built without "
                "weights. Reinstall skllmselect, or train and export one with "
                "`python -m pretrain train` then `python -m pretrain export`.")
        return _check_folder(WEIGHTS_DIR, f"The bundled model folder {WEIGHTS_DIR}",
                             "Reinstall skllmselect, or export a model with "
                             "`python -m pretrain export`.")
    if kind == "local":
        path = Path(model).expanduser()
        if not path.exists():
            raise FileNotFoundError(
                f"No model folder at {str(model)!r}. Pass 'bundled', an existing folder with "
                f"{CONFIG_NAME} and {WEIGHTS_NAME}, or a Hub repo id such as 'namespace/name'.")
        if not path.is_dir():
            raise FileNotFoundError(f"{str(path)!r} is a file; pass the folder that holds "
                                    f"{CONFIG_NAME} and {WEIGHTS_NAME}.")
        return _check_folder(path, f"The folder {str(path)!r}",
                             "Save a model there with SelectorTransformer.save_pretrained.")
    folder = _download(str(model), revision, token)
    where = f"The Hub repo {str(model)!r} at revision {revision or 'main'!r}"
    return _check_folder(folder, where, f"skllmselect reads only {WEIGHTS_NAME} and never "
                         "unpickles a pytorch_model.bin: upload the model with "
                         "SelectorTransformer.push_to_hub, or pass another revision.")


def _download(repo_id: str, revision: str | None, token) -> Path:
    """snapshot_download of the model files, with huggingface_hub's errors made plain."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    from skllmselect import __version__

    where = f"Hub repo {repo_id!r} at revision {revision or 'main'!r}"
    try:
        return Path(snapshot_download(
            repo_id=repo_id, revision=revision, allow_patterns=list(HUB_FILES), token=token,
            library_name="skllmselect", library_version=__version__))
    except HFValidationError as error:
        raise ValueError(f"{repo_id!r} is neither an existing folder nor a valid Hub repo id "
                         f"('namespace/name'): {_one_line(error)}") from error
    except RevisionNotFoundError as error:
        raise ValueError(f"The Hub repo {repo_id!r} has no revision {revision!r}: pass one of "
                         "its branches, tags or commit hashes (its 'Files and versions' page "
                         "lists them), or leave revision unset for 'main'.") from error
    except GatedRepoError as error:
        raise ValueError(f"The Hub repo {repo_id!r} is gated: accept its terms on the Hub, "
                         "then set HF_TOKEN (or pass token=) to a token of that account.") \
            from error
    except RepositoryNotFoundError as error:
        raise ValueError(f"No Hub repo {repo_id!r} at {constants.ENDPOINT} (or it is private "
                         "and no valid token was given), and no local folder of that name: "
                         "check the id, set HF_TOKEN for a private repo, or use "
                         "model='bundled' or a local folder.") from error
    except LocalEntryNotFoundError as error:
        if constants.HF_HUB_OFFLINE:
            reason, fix = "HF_HUB_OFFLINE is set", "unset HF_HUB_OFFLINE to download it"
        else:
            reason = f"{constants.ENDPOINT} could not be reached"
            fix = "check the connection (and HF_ENDPOINT) and retry"
        raise FileNotFoundError(
            f"The {where} is not (completely) in the Hugging Face cache "
            f"{constants.HF_HUB_CACHE} and {reason}: {fix}, or use model='bundled' or a "
            "local folder.") from error
    except EntryNotFoundError as error:
        raise FileNotFoundError(f"The {where} lacks a file it lists ({_one_line(error)}); "
                                "try another revision.") from error
    except HfHubHTTPError as error:
        raise OSError(f"Downloading the {where} failed: {_one_line(error)}. Retry later, or "
                      "use model='bundled' or a local folder.") from error


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def _commit_of(folder: Path) -> str | None:
    """The commit hash of a Hub snapshot folder (``.../snapshots/<commit>``), else None."""
    if folder.parent.name == "snapshots" and _COMMIT_HASH.match(folder.name):
        return folder.name
    return None


# ---------------------------------------------------------------------------------------------
# weights


def _corrupt(path: Path, reason: str) -> ValueError:
    where = Path(path)
    real = where.resolve()
    if _commit_of(where.parent) is not None:  # a Hub snapshot: the file links to a cache blob
        fix = (f"delete the cached download {real} (and its link {where}), then load again "
               "to download it afresh")
    elif where.parent == WEIGHTS_DIR:
        fix = "reinstall skllmselect (pip install --force-reinstall skllmselect)"
    else:
        fix = ("save or copy the model again (SelectorTransformer.save_pretrained or "
               "`python -m pretrain export`)")
    return ValueError(f"The weights file {where} is damaged or not a safetensors file "
                      f"({reason}): {fix}.")


def read_safetensors_header(path) -> dict:
    """The JSON header of a safetensors file, checked against the file's size.

    Reads only the header (no tensor data, no torch), so it is cheap enough to describe a
    model and catches a truncated or overwritten file before any tensor is read.

    Raises
    ------
    ValueError
        Naming the file and how to replace it, if it is not a complete safetensors file.
    """
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        prefix = f.read(8)
        if len(prefix) < 8:
            raise _corrupt(path, f"{size} bytes, shorter than the 8-byte header length")
        n = int.from_bytes(prefix, "little")
        if n > min(size - 8, _MAX_HEADER_BYTES):
            raise _corrupt(path, f"header length {n} does not fit in a {size}-byte file")
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise _corrupt(path, f"unreadable header: {error}") from error
    if not isinstance(header, dict):
        raise _corrupt(path, "the header is not a JSON object")
    data_bytes = size - 8 - n
    end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            begin, stop = (int(x) for x in info["data_offsets"])
            expected = math.prod(int(d) for d in info["shape"]) * _DTYPE_BYTES[info["dtype"]]
        except (KeyError, TypeError, ValueError) as error:
            raise _corrupt(path, f"malformed entry for tensor {name!r}") from error
        if not 0 <= begin <= stop <= data_bytes or stop - begin != expected:
            raise _corrupt(path, f"tensor {name!r} lies outside the file's {data_bytes} data "
                           "bytes (truncated?)")
        end = max(end, stop)
    if end != data_bytes:
        raise _corrupt(path, f"{data_bytes} data bytes but the tensors span {end}")
    return header


def _load_weights(network, path: Path) -> None:
    import safetensors.torch
    from safetensors import SafetensorError

    read_safetensors_header(path)  # a clear message for a truncated file, before torch reads it
    try:
        safetensors.torch.load_model(network, str(path), strict=True, device="cpu")
    except SafetensorError as error:
        raise _corrupt(path, _one_line(error)) from error
    except RuntimeError as error:  # strict: missing, unexpected or misshapen tensors
        raise ValueError(f"The weights in {path} do not match the network its "
                         f"{CONFIG_NAME} describes ({_one_line(error)[:300]}): the two files "
                         "come from different models; save them together again.") from error


def load(model: str | os.PathLike = BUNDLED, revision: str | None = None, *,
         token: str | bool | None = None, with_residuals: bool = False,
         with_forest: bool = False):
    """Load ``(network, tokenizer)`` for inference, checked against the installed code.

    Parameters
    ----------
    model : str or path, default="bundled"
        ``"bundled"`` (the weights inside the package, no network), a local folder, or a Hub
        repo id (downloaded into the Hugging Face cache, see :func:`resolve`).
    revision : str, optional
        Git revision of a Hub repo (a commit hash pins it exactly).
    token : str or bool, optional
        Hub token for a private repo (default: ``HF_TOKEN`` or the saved login).
    with_residuals : bool, default=False
        Also return the model's residuals (see :func:`read_residuals`).
    with_forest : bool, default=False
        Also return the forest blended with the network
        (:func:`skllmselect.forest.read_forest`; None when the model has none).

    Returns
    -------
    network : SelectorTransformer
        In eval mode, on the CPU.
    tokenizer : MetaFeatureTokenizer
    residuals : numpy.ndarray of shape (n_datasets, n_pipelines) or None
        Only with ``with_residuals=True``; None when the model has no residuals file.
    forest : skllmselect.forest.Forest or None
        Only with ``with_forest=True`` (after the residuals when both are asked for).

    Raises
    ------
    FileNotFoundError, ValueError
        See :func:`resolve`; also :class:`IncompatibleModelError` for a model made for other
        meta-features or another portfolio, and ``ValueError`` for a damaged weights file.
    """
    from skllmselect.model import SelectorTransformer
    from skllmselect.tokenizer import MetaFeatureTokenizer

    folder = resolve(model, revision, token=token)
    config = _read_config(folder)
    check_compatible(config, source=f"The model in {folder}")
    # The mixin's from_pretrained does the same (config -> network -> safetensors.load_model),
    # but prints to stdout and would look for a pickle on the Hub when safetensors is missing.
    network = SelectorTransformer(config)
    _load_weights(network, folder / WEIGHTS_NAME)
    tokenizer = MetaFeatureTokenizer.from_dict(config["tokenizer"])
    out = (network.eval(), tokenizer)
    if with_residuals:
        out += (read_residuals(folder, len(config["pipeline_names"])),)
    if with_forest:
        from skllmselect.forest import read_forest

        out += (read_forest(folder, len(config["metafeature_names"]),
                            len(config["pipeline_names"])),)
    return out


def read_residuals(folder, n_pipelines: int):
    """The ``residuals.safetensors`` of a model folder as float64, or None if it has none.

    Raises
    ------
    ValueError
        If the file is damaged, or its matrix is not (n_datasets, n_pipelines) of finite values.
    """
    import numpy as np
    import safetensors.numpy
    from safetensors import SafetensorError

    path = Path(folder) / RESIDUALS_NAME
    if not path.is_file():
        return None
    read_safetensors_header(path)
    try:
        residuals = safetensors.numpy.load_file(str(path))["residuals"].astype(np.float64)
    except (SafetensorError, KeyError) as error:
        raise _corrupt(path, f"{type(error).__name__}: {error}") from error
    if residuals.ndim != 2 or residuals.shape[1] != n_pipelines \
            or not np.isfinite(residuals).all():
        raise _corrupt(path, f"its residuals have shape {residuals.shape} (expected (m, "
                       f"{n_pipelines}) of finite values)")
    return residuals


def _read_config(folder: Path) -> dict:
    path = folder / CONFIG_NAME
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON ({error}): save the model again.") from error
    if not isinstance(config, dict):
        raise ValueError(f"{path} must hold a JSON object, got {type(config).__name__}.")
    return config


# ---------------------------------------------------------------------------------------------
# description


def model_info(model: str | os.PathLike = BUNDLED, revision: str | None = None, *,
               token: str | bool | None = None) -> dict:
    """Describe a model without building it: where it is, what it is, how it was trained.

    Reads ``config.json``, the safetensors header (parameter count without loading a weight)
    and the model card, if any. A model made for another installation is described too, with
    ``compatible`` set to False and the reason in ``problems``.

    Parameters
    ----------
    model, revision, token
        As in :func:`load`.

    Returns
    -------
    dict
        ``source`` ("bundled", "local" or "hub"), ``model``, ``folder``, ``revision`` (as
        asked), ``commit`` (the Hub commit loaded, else None), ``architecture`` (a dict),
        ``n_parameters``, ``weights_megabytes``, ``dtypes``, ``n_metafeatures``,
        ``n_pipelines``, ``pipelines``, ``tokenizer`` (bins and vocabulary size),
        ``versions``, ``compatible``, ``problems``, ``residual_datasets`` (rows of
        ``residuals.safetensors``, None without it) and ``training`` (from the model card:
        its bullet points and validation metrics; empty without a card).

    Examples
    --------
    >>> info = model_info()  # doctest: +SKIP
    >>> info["n_pipelines"], info["source"]  # doctest: +SKIP
    (20, 'bundled')
    """
    kind = _kind(model)
    folder = resolve(model, revision, token=token)
    config = _read_config(folder)
    header = read_safetensors_header(folder / WEIGHTS_NAME)
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    try:
        check_compatible(config, source=f"The model in {folder}")
        problems = None
    except IncompatibleModelError as error:
        problems = str(error)
    tokenizer = config.get("tokenizer") or {}
    architecture = {key: config.get(key) for key in (
        "architecture", "d_model", "n_layers", "n_heads", "n_decoder_layers", "norm",
        "norm_position", "activation", "positions", "vocab_size", "sequence_length")}
    if config.get("architecture") != "encoder-decoder":
        architecture.pop("n_decoder_layers")
    card = folder / CARD_NAME
    residuals = folder / RESIDUALS_NAME
    residual_rows = (read_safetensors_header(residuals)["residuals"]["shape"][0]
                     if residuals.is_file() else None)
    return {
        "source": kind,
        "model": BUNDLED if kind == "bundled" else str(model),
        "folder": str(folder),
        "revision": revision if kind == "hub" else None,
        "commit": _commit_of(folder) if kind == "hub" else None,
        "architecture": architecture,
        "n_parameters": sum(math.prod(t["shape"]) for t in tensors.values()),
        "weights_megabytes": round((folder / WEIGHTS_NAME).stat().st_size / 2**20, 3),
        "dtypes": sorted({t["dtype"] for t in tensors.values()}),
        "n_metafeatures": len(config.get("metafeature_names", [])),
        "n_pipelines": config.get("n_pipelines", len(config.get("pipeline_names", []))),
        "pipelines": list(config.get("pipeline_names", [])),
        "tokenizer": {"n_bins": tokenizer.get("n_bins"), "version": tokenizer.get("version"),
                      "vocab_size": config.get("vocab_size")},
        "versions": dict(config.get("versions", {})),
        "compatible": problems is None,
        "problems": problems,
        "residual_datasets": residual_rows,
        "forest": _forest_summary(folder / FOREST_NAME),
        "training": card_summary(card.read_text(encoding="utf-8")) if card.is_file() else {},
    }


def _forest_summary(path: Path) -> dict | None:
    """Trees, nodes and blend weight of a model's forest (header only), or None."""
    if not path.is_file():
        return None
    header = read_safetensors_header(path)
    metadata = header.get("__metadata__", {})
    return {"trees": header["roots"]["shape"][0], "nodes": header["left"]["shape"][0],
            "weight": float(metadata.get("weight", "nan"))}


def card_summary(text: str) -> dict:
    """The facts of a model card: its ``- Key: value`` bullets and its metrics table.

    Returns ``{"title": ..., "<key>": "<value>", ..., "metrics": {name: {column: value}}}``
    (lower-case keys; bullets that wrap onto indented lines are joined).
    """
    lines = text.splitlines()
    if lines and lines[0].strip() == "---":  # YAML front matter
        close = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), 0)
        lines = lines[close + 1:]
    summary: dict = {}
    key = None
    header = None
    metrics: dict = {}
    for line in lines:
        if line.startswith("# ") and "title" not in summary:
            summary["title"] = line[2:].strip()
        bullet = re.match(r"^- ([A-Za-z][\w ]{0,40}):\s+(.*)$", line)
        if bullet:
            key = bullet.group(1).strip().lower()
            summary[key] = bullet.group(2).strip()
            if "More Information Needed" in summary[key]:  # the mixin's placeholder card
                del summary[key]
                key = None
            continue
        if key is not None and line.startswith("  ") and line.strip():
            summary[key] += " " + line.strip()
            continue
        key = None
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if header is None:
                header = cells
            elif not all(set(c) <= set("-: ") for c in cells):
                metrics[cells[0]] = {h: c for h, c in zip(header[1:], cells[1:], strict=False)
                                     if c}
        else:
            header = None
    if metrics:
        summary["metrics"] = metrics
    return summary
