"""Talking to the Hugging Face Hub: a revision resolved to a commit, sizes checked, files
downloaded into huggingface_hub's own cache.

:func:`skllmselect.loading.resolve` calls :func:`download` for a Hub repo id; everything
about what a model folder must hold, and the limits a user may change
(``loading.MAX_DOWNLOAD_MEGABYTES``), stays in :mod:`skllmselect.loading`, which passes them
in. huggingface_hub is imported at the first download, never before.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

# A full commit hash: a revision pinned exactly (no request needed when it is cached).
COMMIT_HASH = re.compile(r"^[0-9a-f]{40}$")


def download(repo_id: str, revision: str | None, token, *, files: tuple[str, ...],
             max_megabytes: float) -> Path:
    """The snapshot folder of a Hub model: its revision resolved to a commit and its files'
    sizes checked in one request, then ``snapshot_download`` of that commit; huggingface_hub's
    errors made plain. ``files``: the names to download (no other file of the repo);
    ``max_megabytes``: the largest file accepted (``loading.MAX_DOWNLOAD_MEGABYTES``)."""
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
    fetch = dict(repo_id=repo_id, allow_patterns=list(files), token=token,
                 library_name="skllmselect", library_version=__version__)
    try:
        if revision is not None and COMMIT_HASH.match(revision):
            try:  # a pinned commit already in the cache: no request at all
                return Path(snapshot_download(revision=revision, local_files_only=True,
                                              **fetch))
            except LocalEntryNotFoundError:
                pass
        commit = None
        if not constants.HF_HUB_OFFLINE:
            try:
                commit = _checked_commit(repo_id, revision, token, files, max_megabytes)
            except (HFValidationError, RevisionNotFoundError, GatedRepoError,
                    RepositoryNotFoundError, ValueError):
                raise
            except Exception:  # an unreachable Hub, whatever the HTTP library raises:
                commit = None  # snapshot_download falls back to the cache or says why not
        folder = Path(snapshot_download(revision=commit or revision, **fetch))
        if commit is not None and commit != revision:
            _remember_ref(folder, revision or "main", commit)
        return folder
    except HFValidationError as error:
        raise ValueError(f"{repo_id!r} is neither an existing folder nor a valid Hub repo id "
                         f"('namespace/name'): {one_line(error)}") from error
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
                         "and no valid token was given), and no local folder of that name in "
                         f"{os.getcwd()}: check the id, set HF_TOKEN for a private repo, or "
                         "use model='bundled' or a local folder (an absolute path or ./name)."
                         ) from error
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
        raise FileNotFoundError(f"The {where} lacks a file it lists ({one_line(error)}); "
                                "try another revision.") from error
    except HfHubHTTPError as error:
        raise OSError(f"Downloading the {where} failed: {one_line(error)}. Retry later, or "
                      "use model='bundled' or a local folder.") from error


def _remember_ref(snapshot: Path, revision: str, commit: str) -> None:
    """Record in the cache that ``revision`` is ``commit`` (``refs/<revision>``, as
    snapshot_download does for the branch it resolves), so that offline it loads again."""
    ref = snapshot.parent.parent / "refs" / revision
    try:
        ref.parent.mkdir(parents=True, exist_ok=True)
        if not ref.is_file() or ref.read_text() != commit:
            temporary = ref.with_name(f".{ref.name}.{os.getpid()}.tmp")
            temporary.write_text(commit)
            os.replace(temporary, ref)
    except OSError as error:  # a read-only cache still loads; only offline reuse is lost
        warnings.warn(f"Could not record {revision!r} = {commit} in the Hugging Face cache "
                      f"({error}); offline, this revision will not be found.", UserWarning,
                      stacklevel=3)


def _checked_commit(repo_id: str, revision: str | None, token, files: tuple[str, ...],
                    max_megabytes: float) -> str:
    """The commit ``revision`` of ``repo_id`` is now, after checking that none of the files
    that would be downloaded (``files``) is over ``max_megabytes`` (one request)."""
    from huggingface_hub import HfApi

    from skllmselect import __version__

    info = HfApi(library_name="skllmselect", library_version=__version__).model_info(
        repo_id, revision=revision, files_metadata=True, token=token)
    limit = max_megabytes * 2**20
    for sibling in info.siblings or []:
        if sibling.rfilename not in files:
            continue
        size = sibling.lfs.size if sibling.lfs is not None else sibling.size
        if size is None or size > limit:
            what = "does not say how large it is" if size is None else \
                f"is {size / 2**20:,.1f} MB"
            raise ValueError(
                f"The file {sibling.rfilename} of the Hub repo {repo_id!r} at commit "
                f"{info.sha} {what}, over the {max_megabytes} MB that skllmselect "
                "downloads (MAX_DOWNLOAD_MEGABYTES): if you trust it, download it yourself "
                f"(hf download {repo_id} --revision {info.sha} --local-dir DIR) and pass "
                "model=DIR.")
    return info.sha


def one_line(error: BaseException) -> str:
    """An error's message on one line (huggingface_hub's and safetensors' span several)."""
    return " ".join(str(error).split())


def commit_of(folder: Path) -> str | None:
    """The commit hash of a Hub snapshot folder (``.../snapshots/<commit>``), else None."""
    if folder.parent.name == "snapshots" and COMMIT_HASH.match(folder.name):
        return folder.name
    return None
