"""Exported weights: shipped, reloaded offline, and refused when they do not fit the code."""

import dataclasses
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from pretrain.export import export
from pretrain.train import train
from skllmselect import loading
from skllmselect.metafeatures import METAFEATURE_NAMES
from skllmselect.portfolio import PIPELINE_NAMES
from tests.test_train import tiny, write_corpus

torch.set_num_threads(1)


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
