"""Models from the Hub (through huggingface_hub's own client and cache) and from local folders.

A small Hub runs on 127.0.0.1 in a thread: it speaks the part of the Hub's HTTP protocol that
``snapshot_download`` uses, for one repository with several commits. The real client talks to
it from a subprocess, because huggingface_hub reads ``HF_ENDPOINT``, ``HF_HOME`` and
``HF_HUB_OFFLINE`` once, at import.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
import safetensors.numpy
import torch

from skllmselect import loading
from skllmselect.metafeatures import METAFEATURE_NAMES, METAFEATURES_VERSION
from skllmselect.model import SelectorTransformer
from skllmselect.portfolio import PIPELINE_NAMES, PORTFOLIO_VERSION
from tests.helpers import save_tiny_model

REPO = "skllm/tiny-selector"
COMMIT_A = "a" * 8 + "1111111111111111111111111111111a"
COMMIT_B = "b" * 8 + "2222222222222222222222222222222b"
COMMIT_PICKLE = "c" * 8 + "3333333333333333333333333333333c"
TOKEN = "hf_fake_token_for_the_local_hub"


def probe_scores(network, tokenizer) -> list:
    """The network's scores on four fixed token sequences (the same in every process)."""
    import torch

    length = tokenizer.sequence_length
    ids = (torch.arange(4 * length).reshape(4, length) * 7919) % tokenizer.vocab_size
    ids[:, 0] = tokenizer.cls_id
    with torch.no_grad():
        return network(ids).scores.tolist()


# ---------------------------------------------------------------------------------------------
# the local Hub

_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")
_API_REVISION = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/revision/(?P<rev>[^/]+)$")
_API_TREE = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/tree/(?P<rev>[^/]+)(?P<sub>/.*)?$")
_API_MODEL = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)$")


class LocalHub:
    """A Hub on 127.0.0.1 serving ``repos`` = {repo_id: {"refs": {branch: commit},
    "commits": {commit: folder}}}, and recording every request it gets."""

    def __init__(self, repos: dict):
        self.repos = repos
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Authorization)
        self.unhandled: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self.server.shutdown()
            self.server.server_close()
            self._thread.join()

    def downloads(self, commit: str, filename: str) -> int:
        """How many times the file's bytes were sent (GET of its resolve URL)."""
        return sum(1 for method, path, _ in self.requests if method == "GET"
                   and (m := _RESOLVE.match(path)) and m["file"] == filename
                   and self._commit(m["repo"], unquote(m["rev"])) == commit)

    def routes(self) -> Counter:
        """Requests per (method, route pattern), e.g. ("HEAD", "/{repo}/resolve/{rev}/{file}")."""
        def pattern(path):
            for regex, name in ((_RESOLVE, "/{repo}/resolve/{revision}/{file}"),
                                (_API_REVISION, "/api/models/{repo}/revision/{revision}"),
                                (_API_TREE, "/api/models/{repo}/tree/{revision}"),
                                (_API_MODEL, "/api/models/{repo}")):
                if regex.match(path):
                    return name
            return path
        return Counter((method, pattern(path)) for method, path, _ in self.requests)

    def _commit(self, repo: str, rev: str) -> str | None:
        spec = self.repos.get(repo)
        if spec is None:
            return None
        return spec["refs"].get(rev, rev if rev in spec["commits"] else None)

    @staticmethod
    def _files(folder: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir()) if p.is_file()}

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_HEAD(self):
                self._route(head=True)

            def do_GET(self):
                self._route(head=False)

            # -- responses ------------------------------------------------------------------

            def _send(self, status, body: bytes, headers: dict, head: bool):
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _json(self, data, head):
                self._send(200, json.dumps(data).encode(),
                           {"Content-Type": "application/json"}, head)

            def _error(self, code: str | None, message: str, head: bool, commit=None):
                headers = {"Content-Type": "application/json", "X-Error-Message": message}
                if code:
                    headers["X-Error-Code"] = code
                if commit:
                    headers["X-Repo-Commit"] = commit
                self._send(404, json.dumps({"error": message}).encode(), headers, head)

            # -- routes ---------------------------------------------------------------------

            def _route(self, head: bool):
                path = urlsplit(self.path).path
                with hub._lock:
                    hub.requests.append((self.command, path,
                                         self.headers.get("Authorization")))
                for regex, serve in ((_RESOLVE, self._resolve), (_API_REVISION, self._info),
                                     (_API_TREE, self._tree), (_API_MODEL, self._info)):
                    m = regex.match(path)
                    if m:
                        groups = m.groupdict()
                        repo, rev = groups["repo"], unquote(groups.get("rev") or "main")
                        if repo not in hub.repos:
                            return self._error("RepoNotFound", "Repository not found", head)
                        commit = hub._commit(repo, rev)
                        if commit is None:
                            return self._error("RevisionNotFound",
                                               f"Invalid rev id: {rev}", head)
                        return serve(repo, commit, groups, head)
                with hub._lock:
                    hub.unhandled.append((self.command, self.path))
                self._error(None, "Sorry, we can't find the page you are looking for.", head)

            def _resolve(self, repo, commit, groups, head):
                files = hub._files(hub.repos[repo]["commits"][commit])
                name = unquote(groups["file"])
                if name not in files:
                    return self._error("EntryNotFound", f"{name} does not exist on {commit}",
                                       head, commit=commit)
                data = files[name]
                self._send(200, data, {
                    "Content-Type": "application/octet-stream",
                    "X-Repo-Commit": commit,
                    "ETag": f'"{hashlib.sha256(data).hexdigest()}"',
                    "Accept-Ranges": "bytes",
                }, head)

            def _tree(self, repo, commit, groups, head):
                if (groups.get("sub") or "/").strip("/"):
                    return self._json([], head)  # the repos here have no folders
                entries = []
                for name, data in hub._files(hub.repos[repo]["commits"][commit]).items():
                    entry = {"type": "file", "path": name, "size": len(data),
                             "oid": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()}
                    if name.endswith((".safetensors", ".bin")):  # stored with git-lfs
                        entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(),
                                        "size": len(data), "pointerSize": 134}
                    entries.append(entry)
                self._json(entries, head)

            def _info(self, repo, commit, groups, head):
                files = hub._files(hub.repos[repo]["commits"][commit])
                siblings = [{"rfilename": name} for name in files]
                if "blobs=true" in urlsplit(self.path).query.lower():  # files_metadata=True
                    for sibling in siblings:
                        data = files[sibling["rfilename"]]
                        sibling["size"] = len(data)
                        if sibling["rfilename"].endswith((".safetensors", ".bin")):
                            sibling["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(),
                                              "size": len(data), "pointerSize": 134}
                self._json({"id": repo, "modelId": repo, "sha": commit, "private": False,
                            "library_name": "skllmselect", "tags": ["skllmselect"],
                            "siblings": siblings}, head)

        return Handler


@pytest.fixture(scope="module")
def commits(tmp_path_factory):
    """Three commits of one repo: model A, model B (main), and config + pickled weights."""
    root = tmp_path_factory.mktemp("repo")
    a = save_tiny_model(root / "a", seed=0)
    b = save_tiny_model(root / "b", seed=1)
    # B also ships the model's residuals (what export writes); A, an older model, does not.
    safetensors.numpy.save_file({"residuals": np.zeros((5, len(PIPELINE_NAMES)), np.float32)},
                                str(b / loading.RESIDUALS_NAME))
    pickled = root / "pickled"
    pickled.mkdir()
    shutil.copy(a / "config.json", pickled / "config.json")
    torch.save(SelectorTransformer.from_pretrained(a).state_dict(),
               pickled / "pytorch_model.bin")
    return {COMMIT_A: a, COMMIT_B: b, COMMIT_PICKLE: pickled}


@pytest.fixture
def hub(commits):
    server = LocalHub({REPO: {"refs": {"main": COMMIT_B}, "commits": commits}})
    yield server
    server.stop()


DRIVER = textwrap.dedent(inspect.getsource(probe_scores)) + textwrap.dedent('''
    import json, sys, warnings
    from skllmselect import loading

    for op in json.loads(sys.argv[1]):
        loading.MAX_DOWNLOAD_MEGABYTES = op.get("max_download_megabytes",
                                                loading.MAX_DOWNLOAD_MEGABYTES)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                network, tokenizer, residuals = loading.load(op["model"], op.get("revision"),
                                                             with_residuals=True)
                info = loading.model_info(op["model"], op.get("revision"))
                out = {"ok": True, "scores": probe_scores(network, tokenizer),
                       "commit": info["commit"], "folder": info["folder"],
                       "residual_rows": None if residuals is None else len(residuals)}
            except Exception as error:
                out = {"ok": False, "type": type(error).__name__, "message": str(error),
                       "value_error": isinstance(error, ValueError),
                       "file_not_found": isinstance(error, FileNotFoundError)}
        out["warnings"] = [str(w.message) for w in caught]
        print("RESULT " + json.dumps(out), flush=True)
''')


def hub_env(endpoint: str, hf_home: Path, offline: bool = False) -> dict:
    """The environment of a process whose huggingface_hub talks to ``endpoint`` only."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HF_", "HUGGINGFACE_")) and k != "TRANSFORMERS_OFFLINE"}
    env.update(HF_ENDPOINT=endpoint, HF_HOME=str(hf_home), HF_TOKEN=TOKEN,
               HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1",
               OMP_NUM_THREADS="1")
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    return env


def client(endpoint: str, hf_home: Path, *ops: tuple, offline: bool = False) -> list[dict]:
    """Run ``loading.load`` + ``model_info`` for each (model, revision[, options]) in a fresh
    process whose huggingface_hub talks to ``endpoint`` and caches under ``hf_home``."""
    ops_json = json.dumps([{"model": op[0], "revision": op[1], **(op[2] if op[2:] else {})}
                           for op in ops])
    result = subprocess.run([sys.executable, "-c", DRIVER, ops_json],
                            env=hub_env(endpoint, hf_home, offline), capture_output=True,
                            text=True, timeout=300, cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line[7:]) for line in result.stdout.splitlines()
            if line.startswith("RESULT ")]


def local_scores(folder) -> list:
    return probe_scores(*loading.load(folder))


# ---------------------------------------------------------------------------------------------
# the Hub


@pytest.mark.slow
def test_pinned_revision_downloads_once_then_loads_from_the_cache_even_offline(
        hub, commits, tmp_path):
    hf_home = tmp_path / "hf"
    (first,) = client(hub.endpoint, hf_home, (REPO, COMMIT_A))
    assert first["ok"], first
    assert first["scores"] == local_scores(commits[COMMIT_A])
    assert first["commit"] == COMMIT_A
    assert Path(first["folder"]).is_relative_to(hf_home / "hub")  # the library's own cache
    assert hub.downloads(COMMIT_A, "model.safetensors") == 1
    assert hub.unhandled == []
    assert {auth for _, _, auth in hub.requests} == {f"Bearer {TOKEN}"}  # HF_TOKEN is used

    n_requests = len(hub.requests)
    (second,) = client(hub.endpoint, hf_home, (REPO, COMMIT_A))
    assert second == first
    # A pinned commit that is cached loads without a single request.
    assert len(hub.requests) == n_requests
    assert hub.downloads(COMMIT_A, "model.safetensors") == 1

    hub.stop()
    offline, not_cached = client(hub.endpoint, hf_home, (REPO, COMMIT_A), (REPO, COMMIT_B),
                                 offline=True)
    assert offline == first
    assert not not_cached["ok"] and not_cached["file_not_found"]
    assert "HF_HUB_OFFLINE is set" in not_cached["message"]
    assert f"{REPO!r} at revision {COMMIT_B!r}" in not_cached["message"]


def test_other_revision_gives_the_other_model_and_main_is_resolved(hub, commits, tmp_path):
    hf_home = tmp_path / "hf"
    b, main, a = client(hub.endpoint, hf_home, (REPO, COMMIT_B), (REPO, None), (REPO, COMMIT_A))
    assert b["ok"] and main["ok"] and a["ok"]
    assert b["scores"] == local_scores(commits[COMMIT_B])
    assert a["scores"] == local_scores(commits[COMMIT_A]) != b["scores"]
    assert main["commit"] == COMMIT_B and main["scores"] == b["scores"]
    assert hub.downloads(COMMIT_B, "model.safetensors") == 1  # main -> B: already cached
    assert hub.downloads(COMMIT_A, "model.safetensors") == 1
    # Residuals come with the model that has them, and their absence is no error.
    assert b["residual_rows"] == main["residual_rows"] == 5 and a["residual_rows"] is None
    assert hub.downloads(COMMIT_B, loading.RESIDUALS_NAME) == 1
    assert (hf_home / "hub" / "models--skllm--tiny-selector" / "refs" / "main").read_text() \
        == COMMIT_B
    routes = hub.routes()
    print("routes called by huggingface_hub:", dict(routes))
    # One request resolves the revision and lists the files' sizes: for a commit, only until
    # it is cached; for "main", in each call (load, then model_info).
    assert routes[("GET", "/api/models/{repo}/revision/{revision}")] == 2  # B, A
    assert routes[("GET", "/api/models/{repo}")] == 2  # main
    assert routes[("GET", "/api/models/{repo}/tree/{revision}")] == 2  # once per commit
    assert routes[("HEAD", "/{repo}/resolve/{revision}/{file}")] >= 6
    assert hub.unhandled == []
    # Following a branch says so, with the commit to pin; a commit hash is silent.
    assert main["warnings"] and all(
        f"follows revision 'main', which can change between runs (now commit {COMMIT_B}): "
        f"pass revision={COMMIT_B!r}" in w for w in main["warnings"])
    assert a["warnings"] == b["warnings"] == []


def test_a_hub_file_over_the_size_cap_is_refused_before_it_is_downloaded(hub, tmp_path):
    size = (hub.repos[REPO]["commits"][COMMIT_B] / "model.safetensors").stat().st_size
    (over,) = client(hub.endpoint, tmp_path / "hf",
                     (REPO, None, {"max_download_megabytes": size / 2**20 / 2}))
    assert not over["ok"] and over["value_error"]
    assert over["message"].startswith(
        f"The file model.safetensors of the Hub repo {REPO!r} at commit {COMMIT_B} is "
        f"{size / 2**20:,.1f} MB, over the")
    assert f"hf download {REPO} --revision {COMMIT_B} --local-dir DIR" in over["message"]
    assert hub.downloads(COMMIT_B, "model.safetensors") == 0
    assert not (tmp_path / "hf" / "hub" / "models--skllm--tiny-selector" / "snapshots").exists()


def test_recommend_resolves_a_hub_model_once(hub, tmp_path):
    data = tmp_path / "data.csv"
    rng = np.random.default_rng(0)
    rows = ["a,b,y"] + [f"{x:.3f},{z:.3f},{int(x > 0)}" for x, z in rng.normal(size=(60, 2))]
    data.write_text("\n".join(rows) + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "skllmselect.cli", "recommend", str(data), "--target", "y",
         "--model", REPO, "--json"], env=hub_env(hub.endpoint, tmp_path / "hf"),
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["model"]["revision"] is None and report["model"]["commit"] == COMMIT_B
    # One request resolves "main" (and lists the sizes); load and report reuse that commit.
    routes = hub.routes()
    assert routes[("GET", "/api/models/{repo}")] \
        + routes[("GET", "/api/models/{repo}/revision/{revision}")] == 1
    assert hub.downloads(COMMIT_B, "model.safetensors") == 1
    assert result.stderr.splitlines() == [
        f"skllmselect: warning: The Hub model {REPO!r} follows revision 'main', which can "
        f"change between runs (now commit {COMMIT_B}): pass revision={COMMIT_B!r} to load "
        "exactly this model every time."]


def test_unknown_repo_or_revision_is_a_clear_error(hub, tmp_path):
    no_repo, no_commit, no_branch = client(
        hub.endpoint, tmp_path / "hf", ("skllm/no-such-model", None), (REPO, "f" * 40),
        (REPO, "v9"))
    assert not no_repo["ok"] and no_repo["value_error"]
    assert no_repo["message"].startswith("No Hub repo 'skllm/no-such-model' at "
                                         f"{hub.endpoint}")
    assert "HF_TOKEN" in no_repo["message"]
    assert f"no local folder of that name in {Path(__file__).resolve().parents[1]}" \
        in no_repo["message"]
    for result, revision in ((no_commit, "f" * 40), (no_branch, "v9")):
        assert not result["ok"] and result["value_error"], result
        assert result["message"].startswith(
            f"The Hub repo {REPO!r} has no revision {revision!r}: pass one of its branches")
    assert all("\n" not in r["message"] for r in (no_repo, no_commit, no_branch))


def test_a_revision_with_only_pickled_weights_is_refused_without_downloading_them(
        hub, tmp_path):
    (result,) = client(hub.endpoint, tmp_path / "hf", (REPO, COMMIT_PICKLE))
    assert not result["ok"] and result["file_not_found"]
    assert "has no model.safetensors" in result["message"]
    assert "never unpickles" in result["message"]
    assert hub.downloads(COMMIT_PICKLE, "pytorch_model.bin") == 0


@pytest.mark.slow
def test_a_corrupted_cached_download_names_the_file_and_the_fix(hub, tmp_path):
    hf_home = tmp_path / "hf"
    (ok,) = client(hub.endpoint, hf_home, (REPO, COMMIT_A))
    blob = (Path(ok["folder"]) / "model.safetensors").resolve()
    blob.write_bytes(blob.read_bytes()[:1000])  # a truncated download
    (broken,) = client(hub.endpoint, hf_home, (REPO, COMMIT_A))
    assert not broken["ok"] and broken["value_error"]
    assert broken["message"].startswith(
        f"The weights file {Path(ok['folder']) / 'model.safetensors'} is damaged")
    assert f"delete the cached download {blob}" in broken["message"]


# ---------------------------------------------------------------------------------------------
# local folders (no server, no subprocess)


def test_local_folder_loads_and_describes_itself(commits):
    folder = commits[COMMIT_A]
    network, tokenizer = loading.load(folder)
    original = SelectorTransformer.from_pretrained(folder).eval()
    assert probe_scores(network, tokenizer) == probe_scores(original, tokenizer)
    info = loading.model_info(folder)
    assert info["source"] == "local" and info["commit"] is None
    assert info["n_parameters"] == original.num_parameters()
    assert info["n_pipelines"] == len(PIPELINE_NAMES) == len(info["pipelines"])
    assert info["n_metafeatures"] == len(METAFEATURE_NAMES)
    assert info["compatible"] and info["architecture"]["d_model"] == 16
    assert info["versions"] == {"metafeatures": METAFEATURES_VERSION,
                                "portfolio": PORTFOLIO_VERSION}
    assert info["training"] == {}  # the mixin's placeholder card says nothing


def test_revision_of_a_local_folder_is_ignored_with_a_warning(commits):
    with pytest.warns(UserWarning, match="revision='v1' is ignored"):
        loading.resolve(commits[COMMIT_A], revision="v1")


def test_a_folder_with_only_pickled_weights_is_refused(commits):
    with pytest.raises(ValueError, match=r"only pickled weights \(pytorch_model.bin\).*"
                                         "never unpickles"):
        loading.load(commits[COMMIT_PICKLE])


@pytest.mark.parametrize("damage, reason", [
    (lambda data: data[:-100], "data bytes but the tensors span|outside"),
    (lambda data: b"\xff" * 8 + data[8:], "header length"),
    (lambda data: data[:8] + b"#" + data[9:], "unreadable header"),
    (lambda data: b"", "shorter than the 8-byte header length"),
])
def test_a_damaged_weights_file_is_a_clear_error(commits, tmp_path, damage, reason):
    folder = tmp_path / "model"
    shutil.copytree(commits[COMMIT_A], folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(damage(weights.read_bytes()))
    with pytest.raises(ValueError, match=f"The weights file {re.escape(str(weights))} is "
                                         f"damaged or not a safetensors file .*({reason})"):
        loading.load(folder)
    with pytest.raises(ValueError, match="save or copy the model again"):
        loading.model_info(folder)


def test_weights_of_another_model_are_refused(commits, tmp_path):
    folder = tmp_path / "mixed"
    shutil.copytree(commits[COMMIT_A], folder)
    config = json.loads((folder / "config.json").read_text())
    config["d_model"] = 32
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="do not match the network its config.json describes"):
        loading.load(folder)


@pytest.mark.parametrize("model, error, match", [
    ("./no/such/folder", FileNotFoundError, "No model folder at './no/such/folder'"),
    ("not a valid/repo id!", ValueError, "neither an existing folder nor a valid Hub repo id"),
])
def test_bad_model_arguments(model, error, match):
    with pytest.raises(error, match=re.escape(match)):
        loading.resolve(model)


def test_model_card_summary_reads_what_export_writes():
    from pretrain.export import model_card

    summary = {"n_parameters": 123456, "n_parameters_non_embedding": 100000, "best_step": 40,
               "steps": 50, "tokens": 9000, "device": "cpu", "precision": "fp32",
               "elapsed_s": 12.0, "skips": 0, "rollbacks": 0,
               "n_datasets": {"train": 80, "val": 10, "test": 10},
               "best_eval": {"val_regret": 0.0123, "baseline_regret": 0.05}}
    config = {"architecture": "encoder", "d_model": 64, "n_layers": 2, "n_heads": 4,
              "norm": "layernorm", "norm_position": "pre", "activation": "gelu",
              "positions": "learned", "metafeature_names": list(METAFEATURE_NAMES),
              "pipeline_names": list(PIPELINE_NAMES),
              "versions": {"metafeatures": "1", "portfolio": "1", "corpus_runs": "abc"}}
    card = loading.card_summary(model_card(summary, config, "best_model", 0.5))
    assert card["title"] == "skllmselect bundled model"
    assert card["network"].startswith("encoder, d_model 64") and "123,456 parameters" in \
        card["network"]
    assert card["training"].startswith("50 steps, 9,000 tokens")
    assert "80 train" in card["corpus"] and "runs abc" in card["corpus"]
    assert card["metrics"]["top-1 regret (balanced accuracy)"] == {
        "model": "0.0123", "single best pipeline on train": "0.0500"}
