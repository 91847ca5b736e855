"""Where a model comes from: the bundled weights, a local folder, or a Hub repository.

The only module that talks to ``huggingface_hub`` for files (the network class itself uses
its ``PyTorchModelHubMixin`` for the safetensors format). A model is a folder with
``model.safetensors`` and ``config.json`` (and, optionally, a ``README.md`` model card); the
config names the meta-features, the bins and the portfolio the model was trained on, so a
model made for another version of this library is refused before any weight is read, with a
message that says what differs.

A Hub model is downloaded by ``huggingface_hub.snapshot_download`` into the library's own
cache, so ``HF_HOME``/``HF_HUB_CACHE``, ``HF_HUB_OFFLINE``, ``HF_ENDPOINT`` and ``HF_TOKEN``
work as everywhere else; pass a commit hash as ``revision`` to pin exactly what is loaded
(a branch or tag is followed with a warning). The revision is resolved to a commit once, with
the files' sizes, and a file over :data:`MAX_DOWNLOAD_MEGABYTES` is refused before it is
downloaded. Weights are only ever read from safetensors: a pickled ``pytorch_model.bin`` is
refused, never unpickled.

A model folder is checked before anything is allocated: the weights' safetensors header
against the file's size, ``config.json`` (bounded in size and nesting) against that header and
against :data:`MAX_SIZES`, and the tokenizer against the config. Only then is the network
built, so a hostile or damaged folder costs no more memory than its weights file holds, and
every malformed file is a ``ValueError`` that names the file, the field and the fix.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from pathlib import Path

from skllmselect.hub import COMMIT_HASH, commit_of, download, one_line
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

#: The largest file downloaded from a Hub repo, per file (the bundled weights are about
#: 1 MB, ``pretrain export`` refuses more than 20 MB). A bigger model can still be used:
#: download it yourself (``hf download REPO --local-dir DIR``) and pass the folder.
MAX_DOWNLOAD_MEGABYTES = 1024
#: The largest config.json read (the bundled one is about 70 kB, mostly the tokenizer's bins).
MAX_CONFIG_BYTES = 16 * 2**20
#: Upper bounds on a config's sizes, checked before the network is built; each size must
#: also match the weights file (vocab_size the embedding's rows, n_layers its blocks, ...).
MAX_SIZES = {"vocab_size": 2**22, "sequence_length": 2**16, "n_pipelines": 2**16,
             "d_model": 2**14, "n_heads": 2**10, "d_ff": 2**17, "n_layers": 256,
             "n_decoder_layers": 256}

# Bytes per element of each safetensors dtype (parameter counts and header checks).
_DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2,
                "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
_FLOAT_DTYPES = ("F16", "BF16", "F32", "F64")
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
    # than the Hub's "namespace/name"; and what is meant as one: "runs/model" where the
    # folder "runs" exists here (never silently replaced by someone's Hub repo "runs/model").
    if (os.path.isabs(model) or model.startswith((".", "~")) or "\\" in model
            or model.count("/") > 1 or model.endswith("/")
            or ("/" in model and os.path.isdir(model.split("/")[0]))):
        return "local"
    return "hub"


def _looks_like_repo_id(model: str) -> bool:
    """"namespace/name" in the Hub's characters (what :func:`_kind` may read as a path)."""
    return re.fullmatch(r"[\w-][\w.-]*/[\w.-]+", model) is not None


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
        (``"namespace/name"``). A string is a folder when it exists, looks like a path
        (absolute, ``./``, ``~``, several ``/``) or starts with an existing folder
        (``runs/model`` when ``runs`` exists); otherwise it is a Hub repo id.
    revision : str, optional
        Branch, tag or commit hash of a Hub repo; a commit hash pins it exactly (and a cached
        pinned model loads with no request at all). A branch or tag (``None`` means
        ``"main"``) is resolved to its current commit once per call, with a warning that
        names the commit to pin. Ignored, with a warning, for the bundled model and local
        folders.
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
        An unknown Hub repo or revision, a Hub file over :data:`MAX_DOWNLOAD_MEGABYTES`, or a
        folder with only pickled weights.
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
            here = "" if path.is_absolute() else f" (relative to {os.getcwd()})"
            hub_too = ""
            if isinstance(model, str) and _looks_like_repo_id(model):
                hub_too = (f" (read as a path because the folder {model.split('/')[0]!r} "
                           "exists here; to load the Hub repo of that name, run from another "
                           "folder)")
            raise FileNotFoundError(
                f"No model folder at {str(model)!r}{here}. Pass 'bundled', an existing folder "
                f"with {CONFIG_NAME} and {WEIGHTS_NAME}, or a Hub repo id such as "
                f"'namespace/name'{hub_too}.")
        if not path.is_dir():
            raise FileNotFoundError(f"{str(path)!r} is a file; pass the folder that holds "
                                    f"{CONFIG_NAME} and {WEIGHTS_NAME}.")
        return _check_folder(path, f"The folder {str(path)!r}",
                             "Save a model there with SelectorTransformer.save_pretrained.")
    folder = download(str(model), revision, token, files=HUB_FILES,
                      max_megabytes=MAX_DOWNLOAD_MEGABYTES)
    commit = commit_of(folder)
    if revision is None or not COMMIT_HASH.match(revision):
        warnings.warn(f"The Hub model {str(model)!r} follows revision {revision or 'main'!r}, "
                      f"which can change between runs (now commit {commit}): pass "
                      f"revision={commit!r} to load exactly this model every time.",
                      UserWarning, stacklevel=2)
    where = f"The Hub repo {str(model)!r} at revision {revision or 'main'!r}"
    return _check_folder(folder, where, f"skllmselect reads only {WEIGHTS_NAME} and never "
                         "unpickles a pytorch_model.bin: upload the model with "
                         "SelectorTransformer.push_to_hub, or pass another revision.")


def pinned_revision(model, folder, revision: str | None = None) -> str | None:
    """The revision that finds ``folder`` (what :func:`resolve` returned for ``model`` and
    ``revision``) again without a request: a Hub model's commit, None for a folder or the
    bundled model. Pass it on so that every later load in the same call reads the same files
    and resolves nothing again."""
    if _kind(model) != "hub":
        return None
    return commit_of(Path(folder)) or revision


# ---------------------------------------------------------------------------------------------
# checking the files, before anything is built


def _fix(path: Path, damaged: bool) -> str:
    """How to replace a bad file, by where it comes from."""
    where = Path(path)
    if commit_of(where.parent) is not None:  # a Hub snapshot: the file links to a cache blob
        if damaged:
            return (f"delete the cached download {where.resolve()} (and its link {where}), "
                    "then load again to download it afresh")
        return ("this revision of the Hub model is not usable: pass another revision, or ask "
                "its author to save it again with SelectorTransformer.push_to_hub")
    if where.parent == WEIGHTS_DIR:
        return "reinstall skllmselect (pip install --force-reinstall skllmselect)"
    return ("save or copy the model again (SelectorTransformer.save_pretrained or "
            "`python -m pretrain export`)")


def _corrupt(path: Path, reason: str) -> ValueError:
    return ValueError(f"The weights file {path} is damaged or not a safetensors file "
                      f"({reason}): {_fix(path, damaged=True)}.")


def _malformed(path: Path, field: str, problem: str) -> ValueError:
    """A file that reads but holds what no model saved: name the file, the field, the fix."""
    return ValueError(f"{path}: {field} {problem}; {_fix(path, damaged=False)}.")


def _parse_json(text: str | bytes):
    """json.loads, with deep nesting (RecursionError) reported as the ValueError it is."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def read_safetensors_header(path) -> dict:
    """The JSON header of a safetensors file, checked against the file's size.

    Reads only the header (no tensor data, no torch), so it is cheap enough to describe a
    model and catches a truncated or overwritten file before any tensor is read: every entry
    has a known dtype, a shape of non-negative integers and data offsets that tile the file's
    data bytes exactly.

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
            header = _parse_json(f.read(n))
        except ValueError as error:  # also UnicodeDecodeError and json.JSONDecodeError
            raise _corrupt(path, f"unreadable header: {error}") from error
    if not isinstance(header, dict):
        raise _corrupt(path, "the header is not a JSON object")
    metadata = header.get("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _corrupt(path, "__metadata__ is not a map of strings")
    data_bytes = size - 8 - n
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not (isinstance(info, dict) and info.get("dtype") in _DTYPE_BYTES
                and isinstance(info.get("shape"), list)
                and all(_is_count(d) for d in info["shape"])
                and isinstance(info.get("data_offsets"), list) and len(info["data_offsets"]) == 2
                and all(_is_count(x) for x in info["data_offsets"])):
            raise _corrupt(path, f"malformed entry for tensor {name!r}: a tensor needs a known "
                           "dtype, a shape of non-negative integers and two data offsets")
        begin, stop = info["data_offsets"]
        expected = math.prod(info["shape"]) * _DTYPE_BYTES[info["dtype"]]
        if not begin <= stop <= data_bytes or stop - begin != expected:
            raise _corrupt(path, f"tensor {name!r} lies outside the file's {data_bytes} data "
                           "bytes (truncated?)")
        spans.append((begin, stop))
    end = 0
    for begin, stop in sorted(spans):
        if begin != end:
            raise _corrupt(path, f"the tensors' data overlap or leave a gap at byte {end}")
        end = stop
    if end != data_bytes:
        raise _corrupt(path, f"{data_bytes} data bytes but the tensors span {end}")
    return header


def _tensor(header: dict, path: Path, name: str, ndim: int) -> dict:
    """The header entry of tensor ``name``, which must exist with ``ndim`` dimensions."""
    info = header.get(name)
    if name == "__metadata__" or info is None or len(info["shape"]) != ndim:
        found = "is missing" if info is None else f"has shape {info['shape']}"
        raise _malformed(path, f"tensor {name!r}", f"{found}, expected {ndim} dimensions")
    return info


def _read_config(folder: Path) -> dict:
    """``config.json`` as a dict, read within :data:`MAX_CONFIG_BYTES`, its metadata fields
    (names, tokenizer, versions) of the types every saved model has."""
    path = folder / CONFIG_NAME
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise _malformed(path, "the file", f"is {size:,} bytes, over the {MAX_CONFIG_BYTES:,} "
                         "a model config needs (MAX_CONFIG_BYTES)")
    try:
        config = _parse_json(path.read_bytes())
    except ValueError as error:
        raise ValueError(f"{path} is not valid JSON ({one_line(error)[:200]}): "
                         f"{_fix(path, damaged=True)}.") from error
    if not isinstance(config, dict):
        raise _malformed(path, "the file", f"must hold a JSON object, got "
                         f"{type(config).__name__}")
    for key in ("metafeature_names", "pipeline_names"):
        names = config.get(key, [])
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise _malformed(path, f"field {key!r}", f"must be a list of names, got "
                             f"{_short(names)}")
    for key in ("tokenizer", "versions"):
        if not isinstance(config.get(key, {}), dict):
            raise _malformed(path, f"field {key!r}", f"must be a JSON object, got "
                             f"{_short(config[key])}")
    return config


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _network_config(config: dict, path: Path, header: dict, weights: Path):
    """The :class:`ModelConfig` of ``config``, its sizes within :data:`MAX_SIZES` and equal to
    the tensors in the weights' ``header``, checked without building anything: the network
    built from it then holds no more than the weights file (the strict load that follows
    checks every other tensor)."""
    from skllmselect.model_config import ModelConfig

    try:
        network_config = ModelConfig.from_dict(config)
    except (ValueError, TypeError) as error:
        raise _malformed(path, "the network's fields", f"are invalid ({one_line(error)})") \
            from error
    for key, limit in MAX_SIZES.items():
        value = network_config.ff_dim if key == "d_ff" else getattr(network_config, key)
        if value > limit:
            raise _malformed(path, f"field {key!r}", f"is {value:,}, over the {limit:,} "
                             "skllmselect accepts (MAX_SIZES)")
    c = network_config
    # Each size that scales a parameter, against the tensor it shapes. A tied embedding is
    # saved once, under the first of its names in alphabetical order.
    embedding = (("ranking_head.weight", "tok_emb.weight", "token_head.weight")
                 if c.tie_embeddings else ("tok_emb.weight",))
    sizes = [(embedding, [c.vocab_size, c.d_model], "vocab_size and d_model"),
             (("score_head.weight",), [c.n_pipelines, c.d_model], "n_pipelines"),
             (("blocks.0.mlp.w1.weight",), [c.ff_dim, c.d_model], "d_ff")]
    if c.positions == "learned":
        sizes.append((("pos_emb.weight",), [c.sequence_length, c.d_model], "sequence_length"))
    for names, expected, keys in sizes:
        name = next((n for n in names if n in header and n != "__metadata__"), names[-1])
        found = header[name]["shape"] if name in header else "missing"
        if found != expected:
            raise _mismatch(weights, f"{name} has shape {found}, but the config's {keys} "
                            f"make it {expected}")
    stacks = [("blocks", "n_layers")]
    if c.architecture == "encoder-decoder":
        stacks.append(("dec_blocks", "n_decoder_layers"))
    for prefix, key in stacks:
        found = {int(m[1]) for name in header
                 if (m := re.match(rf"{prefix}\.(\d{{1,6}})\.", name))}
        if found != set(range(getattr(c, key))):
            raise _mismatch(weights, f"its {prefix} are numbered {_short(sorted(found))} where "
                            f"{key}={getattr(c, key)}")
    not_float = sorted(name for name, info in header.items()
                       if name != "__metadata__" and info["dtype"] not in _FLOAT_DTYPES)
    if not_float:
        raise _mismatch(weights, f"{_short(not_float)} hold {header[not_float[0]]['dtype']}, "
                        "not floats")
    return network_config


def _mismatch(weights: Path, detail: str) -> ValueError:
    return ValueError(f"The weights in {weights} do not match the network its {CONFIG_NAME} "
                      f"describes ({detail}): the two files come from different models; save "
                      "them together again.")


def _tokenizer(config: dict, path: Path, network_config):
    """The config's fitted tokenizer, which must produce exactly the ids the network reads."""
    from skllmselect.tokenizer import MetaFeatureTokenizer

    if not config.get("tokenizer"):
        raise _malformed(path, "field 'tokenizer'", "is missing (the meta-feature bins the "
                         "network reads)")
    try:
        tokenizer = MetaFeatureTokenizer.from_dict(config["tokenizer"])
        sizes = (tokenizer.vocab_size, tokenizer.sequence_length, tokenizer.cls_id,
                 tokenizer.pipeline_token_offset)
    except (ValueError, TypeError) as error:
        raise _malformed(path, "field 'tokenizer'", f"is invalid ({one_line(error)[:300]})") \
            from error
    expected = (network_config.vocab_size, network_config.sequence_length,
                network_config.cls_id, network_config.pipeline_token_offset)
    if sizes != expected:
        raise _malformed(path, "field 'tokenizer'", "gives vocab_size, sequence_length, "
                         f"cls_id, pipeline_token_offset = {sizes}, but the network's fields "
                         f"say {expected}")
    return tokenizer


def _load_weights(network, path: Path) -> None:
    import safetensors.torch
    from safetensors import SafetensorError

    try:
        safetensors.torch.load_model(network, str(path), strict=True, device="cpu")
    except SafetensorError as error:
        raise _corrupt(path, one_line(error)) from error
    except RuntimeError as error:  # strict: missing, unexpected or misshapen tensors
        raise _mismatch(path, one_line(error)[:300]) from error


def load(model: str | os.PathLike = BUNDLED, revision: str | None = None, *,
         token: str | bool | None = None, with_residuals: bool = False,
         with_forest: bool = False):
    """Load ``(network, tokenizer)`` for inference, checked against the installed code.

    Every file is checked before the network is built (see the module's notes), so a
    damaged or hostile folder fails fast with a ``ValueError`` and never costs more memory
    than its weights file holds.

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
        meta-features or another portfolio, and ``ValueError`` naming the file and the field
        for a damaged or malformed file.
    """
    from skllmselect.model import SelectorTransformer

    folder = resolve(model, revision, token=token)
    network_config, tokenizer = _checked(folder)
    network = SelectorTransformer(network_config)
    _load_weights(network, folder / WEIGHTS_NAME)
    return (network.eval(), tokenizer, *_extras(folder, network_config, with_residuals,
                                                with_forest))


def load_numpy(model: str | os.PathLike = BUNDLED, revision: str | None = None, *,
               token: str | bool | None = None, with_residuals: bool = False,
               with_forest: bool = False):
    """As :func:`load`, with the network as a :class:`~skllmselect.numpy_network.NumpyNetwork`.

    What the estimator runs: the same checks, the same weights, and no torch (whose import
    alone takes about 2 s), so a first ``recommend`` in a fresh process stays fast. The
    network computes the torch network's inference outputs (see
    :mod:`skllmselect.numpy_network`); a weights file in bfloat16, which numpy cannot read,
    is read with torch and converted.

    Returns
    -------
    network : NumpyNetwork
    tokenizer, residuals, forest
        As :func:`load`.
    """
    from skllmselect.numpy_network import NumpyNetwork, unpack_saved, weight_problems

    folder = resolve(model, revision, token=token)
    network_config, tokenizer = _checked(folder)
    path = folder / WEIGHTS_NAME
    weights = unpack_saved(_read_arrays(path), network_config)
    problems = weight_problems(network_config, weights)  # as torch's strict load checks
    if problems:
        raise _mismatch(path, problems[:300])
    network = NumpyNetwork(network_config, weights)
    return (network, tokenizer, *_extras(folder, network_config, with_residuals, with_forest))


def _read_arrays(path: Path) -> dict:
    """A safetensors file's tensors as numpy arrays (bfloat16 ones read with torch)."""
    import safetensors.numpy
    from safetensors import SafetensorError

    try:
        try:
            return safetensors.numpy.load_file(str(path))
        except TypeError:  # "data type 'bfloat16' not understood": numpy has no bfloat16
            import safetensors.torch

            return {name: tensor.float().numpy()
                    for name, tensor in safetensors.torch.load_file(str(path)).items()}
    except SafetensorError as error:
        raise _corrupt(path, one_line(error)) from error


def _extras(folder: Path, network_config, with_residuals: bool, with_forest: bool) -> tuple:
    """The residuals and the forest that :func:`load` and :func:`load_numpy` add on request."""
    out = ()
    if with_residuals:
        out += (read_residuals(folder, network_config.n_pipelines),)
    if with_forest:
        from skllmselect.forest import read_forest

        out += (read_forest(folder, len(network_config.metafeature_names),
                            network_config.n_pipelines),)
    return out




def _checked(folder: Path, compatible: bool = True):
    """``(ModelConfig, tokenizer)`` of a model folder after every check, in order: the
    weights' header against the file size, the config against the installed code (when
    ``compatible``), the config's sizes against the header, the tokenizer against the
    config. Nothing of the network's size is allocated."""
    weights = folder / WEIGHTS_NAME
    header = read_safetensors_header(weights)
    config = _read_config(folder)
    if compatible:
        check_compatible(config, source=f"The model in {folder}")
    network_config = _network_config(config, folder / CONFIG_NAME, header, weights)
    return network_config, _tokenizer(config, folder / CONFIG_NAME, network_config)


def _residuals_shape(path: Path, n_pipelines: int) -> list:
    """The (n_datasets, n_pipelines) shape of a residuals file, from its header."""
    info = _tensor(read_safetensors_header(path), path, "residuals", ndim=2)
    if info["shape"][1] != n_pipelines or info["dtype"] not in _FLOAT_DTYPES:
        raise _malformed(path, "tensor 'residuals'", f"is {info['dtype']} of shape "
                         f"{info['shape']}, expected floats of shape (m, {n_pipelines})")
    return info["shape"]


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
    _residuals_shape(path, n_pipelines)
    try:
        residuals = safetensors.numpy.load_file(str(path))["residuals"].astype(np.float64)
    except SafetensorError as error:
        raise _corrupt(path, f"{type(error).__name__}: {error}") from error
    if not np.isfinite(residuals).all():
        raise _malformed(path, "tensor 'residuals'", "holds values that are not finite")
    return residuals


# ---------------------------------------------------------------------------------------------
# description


# Over 80 lines for its docstring (every key it returns); the body builds one flat dict.
def model_info(model: str | os.PathLike = BUNDLED, revision: str | None = None, *,
               token: str | bool | None = None) -> dict:
    """Describe a model without building it: where it is, what it is, how it was trained.

    Reads ``config.json``, the safetensors header (parameter count without loading a weight)
    and the model card, if any. A model made for another installation is described too, with
    ``compatible`` set to False and the reason in ``problems``; a compatible one is checked
    as :func:`load` checks it, so ``info`` fails on what ``load`` would refuse.

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

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`load` (except :class:`IncompatibleModelError`: that is described).

    Examples
    --------
    >>> info = model_info()  # doctest: +SKIP
    >>> info["n_pipelines"], info["source"]  # doctest: +SKIP
    (20, 'bundled')
    """
    kind = _kind(model)
    folder = resolve(model, revision, token=token)
    header = read_safetensors_header(folder / WEIGHTS_NAME)
    config = _read_config(folder)
    tensors = {k: v for k, v in header.items() if k != "__metadata__"}
    try:
        check_compatible(config, source=f"The model in {folder}")
        problems = None
    except IncompatibleModelError as error:
        problems = str(error)
    n_pipelines = config.get("n_pipelines")
    if problems is None:  # what load would refuse, info refuses too
        n_pipelines = _checked(folder)[0].n_pipelines
    elif not _is_count(n_pipelines):
        n_pipelines = len(config.get("pipeline_names", []))
    tokenizer = config.get("tokenizer", {})
    architecture = {key: config.get(key) for key in (
        "architecture", "d_model", "n_layers", "n_heads", "n_decoder_layers", "norm",
        "norm_position", "activation", "positions", "vocab_size", "sequence_length")}
    if config.get("architecture") != "encoder-decoder":
        architecture.pop("n_decoder_layers")
    residuals = folder / RESIDUALS_NAME
    return {
        "source": kind,
        "model": BUNDLED if kind == "bundled" else str(model),
        "folder": str(folder),
        "revision": revision if kind == "hub" else None,
        "commit": commit_of(folder) if kind == "hub" else None,
        "architecture": architecture,
        "n_parameters": sum(math.prod(t["shape"]) for t in tensors.values()),
        "weights_megabytes": round((folder / WEIGHTS_NAME).stat().st_size / 2**20, 3),
        "dtypes": sorted({t["dtype"] for t in tensors.values()}),
        "n_metafeatures": len(config.get("metafeature_names", [])),
        "n_pipelines": n_pipelines,
        "pipelines": list(config.get("pipeline_names", [])),
        "tokenizer": {"n_bins": tokenizer.get("n_bins"), "version": tokenizer.get("version"),
                      "vocab_size": config.get("vocab_size")},
        "versions": dict(config.get("versions", {})),
        "compatible": problems is None,
        "problems": problems,
        "residual_datasets": (_residuals_shape(residuals, n_pipelines)[0]
                              if residuals.is_file() else None),
        "forest": _forest_summary(folder / FOREST_NAME),
        "training": _card(folder / CARD_NAME),
    }


def _forest_summary(path: Path) -> dict | None:
    """Trees, nodes and blend weight of a model's forest (header only), or None."""
    if not path.is_file():
        return None
    header = read_safetensors_header(path)
    weight = header.get("__metadata__", {}).get("weight", "nan")
    try:
        weight = float(weight)
    except ValueError:
        raise _malformed(path, "metadata 'weight'", f"is {_short(weight)}, not a number") \
            from None
    return {"trees": _tensor(header, path, "roots", ndim=1)["shape"][0],
            "nodes": _tensor(header, path, "left", ndim=1)["shape"][0], "weight": weight}


def _card(path: Path, max_bytes: int = 2**20) -> dict:
    """:func:`card_summary` of a model card (its first MiB, which holds every fact a card
    written by ``pretrain export`` has), or {} without one."""
    if not path.is_file():
        return {}
    with open(path, "rb") as f:
        return card_summary(f.read(max_bytes).decode("utf-8", errors="replace"))


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
