"""Exported weights: shipped, reloaded offline, and refused when they do not fit the code."""

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from pretrain.export import export
from pretrain.train import train
from skllmselect import loading
from skllmselect.metafeatures import METAFEATURE_NAMES
from skllmselect.portfolio import PIPELINE_NAMES
from tests.helpers import save_tiny_model, tiny, write_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def run(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    train(tiny(corpus, out, steps=20, eval_every=10))
    return out


@pytest.fixture(scope="module")
def shipped(run, corpus, tmp_path_factory):
    weights = tmp_path_factory.mktemp("weights")
    log = tmp_path_factory.mktemp("log")
    result = export(run, weights, log, corpus=corpus)
    return weights, log, result


def test_export_writes_weights_card_log_and_plot(shipped):
    weights, log, result = shipped
    assert sorted(p.name for p in weights.iterdir()) == ["README.md", "config.json",
                                                         "model.safetensors",
                                                         "residuals.safetensors"]
    card = (weights / "README.md").read_text()
    assert "top-1 regret" in card and "single best pipeline" in card
    assert {"metrics.jsonl", "summary.json", "training.png"} <= {p.name for p in log.iterdir()}
    assert result["source"].endswith("best_model")


def test_shipped_model_reloads_with_the_same_outputs(run, shipped):
    from skllmselect.model import SelectorTransformer

    network, tokenizer = loading.load(shipped[0])
    original = SelectorTransformer.from_pretrained(run / "best_model").eval()
    ids = torch.randint(0, tokenizer.vocab_size, (4, tokenizer.sequence_length))
    ids[:, 0] = tokenizer.cls_id
    with torch.no_grad():
        assert torch.equal(network(ids).scores, original(ids).scores)
    assert tokenizer.n_features == len(METAFEATURE_NAMES)


@pytest.mark.parametrize("field, change, match", [
    ("pipeline_names", lambda names: names[:-1] + ["xgboost"], "portfolio differs.*xgboost"),
    ("metafeature_names", lambda names: names[::-1], "meta-features differ.*position 0"),
])
def test_loading_refuses_a_model_made_for_other_code(shipped, tmp_path, field, change, match):
    folder = tmp_path / "other"
    shutil.copytree(shipped[0], folder)
    config = json.loads((folder / "config.json").read_text())
    config[field] = change(config[field])
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(loading.IncompatibleModelError, match=match):
        loading.load(folder)


def test_loading_refuses_another_portfolio_version(shipped, tmp_path):
    folder = tmp_path / "v2"
    shutil.copytree(shipped[0], folder)
    config = json.loads((folder / "config.json").read_text())
    config["versions"]["portfolio"] = "2"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(loading.IncompatibleModelError, match="portfolio version 2"):
        loading.load(folder)


def test_export_refuses_weights_over_the_size_limit(run, tmp_path):
    with pytest.raises(ValueError, match="over the 0.0001 MB limit"):
        export(run, tmp_path / "w", tmp_path / "log", max_megabytes=0.0001)


def test_a_folder_without_config_is_not_a_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="no config.json"):
        loading.load(tmp_path)


def test_bundled_weights_load_offline():
    """The weights inside the package load with the network switched off."""
    assert (loading.WEIGHTS_DIR / "model.safetensors").is_file()
    code = ("from skllmselect import loading; net, tok = loading.load(); "
            "print(net.config.n_pipelines, tok.n_features)")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == [str(len(PIPELINE_NAMES)), str(len(METAFEATURE_NAMES))]


def test_bundled_config_matches_the_installed_code():
    config = json.loads((loading.WEIGHTS_DIR / "config.json").read_text())
    loading.check_compatible(config)  # raises if the shipped model is stale
    assert dataclasses.is_dataclass(loading.load()[0].config)


def test_export_writes_the_models_residuals_on_the_train_split(shipped, corpus):
    import numpy as np
    import pandas as pd

    from pretrain.evaluate import ModelScorer, selection_table

    weights, _, result = shipped
    network, tokenizer, residuals = loading.load(weights, with_residuals=True)
    table = selection_table(pd.read_parquet(corpus / "corpus.parquet"))
    train_rows = table.subset(table.groups["split"].to_numpy() == "train")
    predicted = ModelScorer(network, tokenizer).fit().predict_scores(train_rows.metafeatures)
    assert residuals.shape == (len(train_rows), len(PIPELINE_NAMES))
    assert result["residuals"]["n_datasets"] == len(train_rows)
    np.testing.assert_allclose(residuals, train_rows.scores - predicted, atol=1e-6)


def test_export_ships_the_forest_the_selector_blends(run, corpus, tmp_path):
    import numpy as np

    weights = tmp_path / "w"
    result = export(run, weights, tmp_path / "log", corpus=corpus, forest_weight=0.5)
    assert (weights / loading.FOREST_NAME).is_file() and result["forest"]["weight"] == 0.5
    assert "forest.safetensors" in (weights / "README.md").read_text()
    network, tokenizer, forest = loading.load(weights, with_forest=True)
    assert forest is not None and forest.weight == 0.5
    assert loading.model_info(weights)["forest"]["trees"] == 50
    # Exporting again without a forest removes the stale one.
    export(run, weights, tmp_path / "log", corpus=corpus)
    assert not (weights / loading.FOREST_NAME).exists()
    assert loading.load(weights, with_forest=True)[2] is None
    assert np.isfinite(forest.predict(np.zeros(tokenizer.n_features))).all()


# ---------------------------------------------------------------------------------------------
# a malformed or hostile folder is refused before anything of its size is built


@pytest.fixture
def network_builds(monkeypatch):
    """The network constructions during a test, as (vocab_size, n_layers) pairs."""
    from skllmselect import model

    builds = []

    class Spy(model.SelectorTransformer):
        def __init__(self, config):
            builds.append(config)
            super().__init__(config)

    monkeypatch.setattr(model, "SelectorTransformer", Spy)
    return builds


def bundled_copy(tmp_path, edit=None, files=("config.json", "model.safetensors")):
    """A copy of the bundled model folder, its config changed by ``edit`` (which changes the
    dict in place, or returns the file's new text)."""
    folder = tmp_path / "model"
    folder.mkdir()
    for name in files:
        shutil.copy(loading.WEIGHTS_DIR / name, folder / name)
    if edit is not None:
        config = json.loads((folder / "config.json").read_text())
        text = edit(config)
        (folder / "config.json").write_text(text if isinstance(text, str) else json.dumps(config))
    return folder


def test_the_bundled_model_passes_every_check_and_loads_as_saved():
    from skllmselect.model import SelectorTransformer

    network, tokenizer = loading.load()
    saved = SelectorTransformer.from_pretrained(loading.WEIGHTS_DIR)
    for (name, a), (_, b) in zip(network.state_dict().items(), saved.state_dict().items(),
                                 strict=True):
        assert torch.equal(a, b), name
    assert tokenizer.vocab_size == network.config.vocab_size


@pytest.mark.parametrize("key, value, match", [
    # The sizes the issue measured: 4.3 GB and 36 s, 30.7 GB, and over a minute before.
    ("vocab_size", 4_000_000, r"tok_emb.weight has shape \[2434, 64\], but the config's "
                              r"vocab_size and d_model make it \[4000000, 64\]"),
    ("vocab_size", 60_000_000, "field 'vocab_size' is 60,000,000, over the 4,194,304"),
    ("n_layers", 200_000, "field 'n_layers' is 200,000, over the 256"),
    ("n_layers", 3, r"its blocks are numbered \[0, 1\] where n_layers=3"),
    ("d_ff", 60_000, r"blocks.0.mlp.w1.weight has shape \[256, 64\], but the config's d_ff"),
    ("n_pipelines", 21, "n_pipelines"),  # the config's own names disagree first
    ("d_model", "64", "d_model must be an integer"),
])
def test_config_sizes_are_checked_against_the_weights_before_building(
        tmp_path, network_builds, key, value, match):
    folder = bundled_copy(tmp_path, lambda config: config.update({key: value}))
    with pytest.raises(ValueError, match=match) as raised:
        loading.load(folder)
    assert str(folder) in str(raised.value)
    assert network_builds == []
    with pytest.raises(ValueError, match=match):  # info checks what load checks
        loading.model_info(folder)


def test_deeply_nested_config_is_a_value_error_naming_the_file(tmp_path):
    folder = bundled_copy(tmp_path, lambda config: "[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match=f"{re.escape(str(folder / 'config.json'))} is not "
                                         r"valid JSON \(nested too deeply\)"):
        loading.load(folder)


def test_oversized_config_is_refused_unread(tmp_path, monkeypatch):
    folder = bundled_copy(tmp_path)
    monkeypatch.setattr(loading, "MAX_CONFIG_BYTES", 1000)
    with pytest.raises(ValueError, match=r"config.json: the file is 68,\d{3} bytes, over the "
                                         "1,000"):
        loading.load(folder)


def rewrite_header(weights, change):
    """Rewrite the JSON header of a safetensors file through ``change(header) -> bytes``."""
    data = weights.read_bytes()
    n = int.from_bytes(data[:8], "little")
    text = change(json.loads(data[8:8 + n]))
    weights.write_bytes(len(text).to_bytes(8, "little") + text + data[8 + n:])


@pytest.mark.parametrize("change, reason", [
    (lambda h: json.dumps({**h, "tok_emb.weight": {**h["tok_emb.weight"], "shape": [1e999]}})
     .encode(), "malformed entry for tensor 'tok_emb.weight'"),
    (lambda h: b"[" * 50_000 + b"]" * 50_000, "unreadable header: nested too deeply"),
    (lambda h: json.dumps({**h, "tok_emb.weight": {**h["tok_emb.weight"], "shape": [2434.0, 64]}})
     .encode(), "malformed entry for tensor 'tok_emb.weight'"),
    (lambda h: json.dumps({**h, "__metadata__": {"a": 1}}).encode(),
     "__metadata__ is not a map of strings"),
])
def test_a_malformed_weights_header_is_a_value_error_naming_the_file(tmp_path, change, reason):
    folder = bundled_copy(tmp_path)
    rewrite_header(folder / "model.safetensors", change)
    with pytest.raises(ValueError, match=f"The weights file {re.escape(str(folder))}/model"
                                         rf".safetensors is damaged .*{re.escape(reason)}"):
        loading.load(folder)


def test_weights_that_are_not_floats_are_refused(tmp_path):
    folder = bundled_copy(tmp_path)
    rewrite_header(folder / "model.safetensors", lambda h: json.dumps(
        {**h, "norm_f.bias": {**h["norm_f.bias"], "dtype": "I32"}}).encode())
    with pytest.raises(ValueError, match=r"\['norm_f.bias'\] hold I32, not floats"):
        loading.load(folder)


@pytest.mark.parametrize("edit, match", [
    (lambda config: config.pop("tokenizer"), "field 'tokenizer' is missing"),
    # More bins than the network has embeddings for: its ids would run past the vocabulary.
    (lambda config: config["tokenizer"].update(n_bins=40),
     r"field 'tokenizer' gives vocab_size, .* = \(3018, 74, 2, 5\), but the network's fields "
     r"say \(2434, 74, 2, 5\)"),
    (lambda config: config["tokenizer"].update(bin_edges=7), "field 'tokenizer' is invalid"),
    (lambda config: config.update(tokenizer=[1]), "field 'tokenizer' must be a JSON object"),
    (lambda config: config.update(pipeline_names=5), "field 'pipeline_names' must be a list"),
    (lambda config: config.update(versions="1"), "field 'versions' must be a JSON object"),
])
def test_a_malformed_tokenizer_or_metadata_field_is_named(tmp_path, network_builds, edit, match):
    folder = bundled_copy(tmp_path, edit)
    with pytest.raises(ValueError, match=f"{re.escape(str(folder / 'config.json'))}: {match}"):
        loading.load(folder)
    assert network_builds == []


def test_residuals_without_their_tensor_are_named_by_info_and_load(tmp_path):
    import safetensors.numpy

    folder = bundled_copy(tmp_path)
    residuals = folder / loading.RESIDUALS_NAME
    safetensors.numpy.save_file({"other": np.zeros((3, 20), np.float32)}, str(residuals))
    match = f"{re.escape(str(residuals))}: tensor 'residuals' is missing"
    with pytest.raises(ValueError, match=match):
        loading.model_info(folder)
    with pytest.raises(ValueError, match=match):
        loading.load(folder, with_residuals=True)
    safetensors.numpy.save_file({"residuals": np.zeros((3, 7), np.float32)}, str(residuals))
    with pytest.raises(ValueError, match=r"expected floats of shape \(m, 20\)"):
        loading.model_info(folder)


def test_a_forest_without_its_trees_is_named_by_info(tmp_path):
    import safetensors.numpy

    folder = bundled_copy(tmp_path)
    forest = folder / loading.FOREST_NAME
    safetensors.numpy.save_file({"left": np.zeros(3, np.int32)}, str(forest),
                                metadata={"weight": "0.5"})
    with pytest.raises(ValueError, match=f"{re.escape(str(forest))}: tensor 'roots' is missing"):
        loading.model_info(folder)


@pytest.mark.parametrize("architecture", ["encoder", "decoder", "encoder-decoder"])
@pytest.mark.parametrize("tie_embeddings", [True, False])
@pytest.mark.parametrize("positions", ["learned", "rope"])
def test_every_architecture_passes_the_checks(tmp_path, architecture, tie_embeddings,
                                               positions):
    """The checks refuse nothing save_pretrained writes (a tied embedding is saved under
    whichever of its names sorts first)."""

    folder = save_tiny_model(tmp_path / "m", architecture=architecture,
                             tie_embeddings=tie_embeddings, positions=positions)
    network, _ = loading.load(folder)
    assert network.config.architecture == architecture


def test_a_relative_path_whose_folder_exists_is_not_taken_for_a_hub_repo(tmp_path, monkeypatch):
    (tmp_path / "runs").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=re.escape(
            f"No model folder at 'runs/model' (relative to {tmp_path})")):
        loading.resolve("runs/model")
    with pytest.raises(FileNotFoundError, match="read as a path because the folder 'runs' "
                                                "exists here"):
        loading.resolve("runs/model")
    with pytest.raises(FileNotFoundError, match="No model folder at 'other/'"):
        loading.resolve("other/")  # a trailing slash: a folder, not a repo id
    assert loading._kind("other/model") == "hub"  # no folder "other" here: a Hub repo id


@pytest.mark.parametrize("edit", [
    lambda config: "[" * 100_000 + "]" * 100_000,
    lambda config: config.pop("tokenizer"),
    lambda config: config.update(vocab_size=4_000_000),
])
def test_cli_reports_a_malformed_model_in_one_line_with_exit_2(tmp_path, capsys, edit):
    from skllmselect.cli import main

    folder = bundled_copy(tmp_path, edit)
    assert main(["info", "--model", str(folder)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("skllmselect: error: "), lines
    assert str(folder) in lines[0]
