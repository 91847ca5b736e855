"""Tests for skllmselect.numpy_network: the numpy forward pass inference runs equals torch's.

Every option combination of the network on tiny models, several seeds and inputs (with and
without masked missing tokens); the bundled model's rankings on real tables, against the
torch forward pass that inference ran before; and a fresh process that recommends without
importing torch.
"""

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer, load_iris, load_wine, make_classification

from skllmselect import loading
from skllmselect.describe import describe
from skllmselect.metafeatures import METAFEATURE_GROUP, METAFEATURE_NAMES
from skllmselect.model import ModelConfig, SelectorTransformer
from skllmselect.numpy_network import NumpyNetwork, as_numpy_network, parameter_shapes
from skllmselect.prediction import predict_and_rank
from skllmselect.ranking import complementary_order
from tests.helpers import save_tiny_model

HEADS = ("scores", "score_log_var", "log_fit_time")
OPTIONS = list(itertools.product(
    ("encoder", "decoder", "encoder-decoder"), ("learned", "rope", "alibi"),
    ("layernorm", "rmsnorm"), ("pre", "post"), ("gelu", "swiglu"), (True, False),
    (False, True)))
V, L, P = 41, 9, 5


def random_network(seed: int, architecture, positions, norm, norm_position, activation, tie,
                   value_channel=False):
    """A tiny torch network, its weights moved off the init so that every part matters."""
    config = ModelConfig(vocab_size=V, sequence_length=L, n_pipelines=P, d_model=24,
                         n_layers=2, n_heads=3 if positions != "rope" else 2,
                         n_decoder_layers=2, architecture=architecture, positions=positions,
                         norm=norm, norm_position=norm_position, activation=activation,
                         tie_embeddings=tie, value_channel=value_channel, dropout=0.1)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        network = SelectorTransformer(config).eval()
        with torch.no_grad():
            for parameter in network.parameters():
                parameter.add_(0.05 * torch.randn_like(parameter))
    return network


@pytest.mark.parametrize("options", OPTIONS, ids=["-".join(map(str, o)) for o in OPTIONS])
def test_forward_and_rank_equal_torchs_for_every_option(options):
    for seed in (0, 1):
        network = random_network(seed, *options)
        assert parameter_shapes(network.config) == {
            name: tuple(t.shape) for name, t in network.state_dict().items()}
        numpy_network = NumpyNetwork.from_torch(network)
        g = torch.Generator().manual_seed(10 + seed)
        ids = torch.randint(5 + P, V, (6, L), generator=g)
        ids[:, 0] = network.config.cls_id
        missing = torch.rand(6, L, generator=g) < 0.3  # tokens a mask_missing model skips
        missing[0] = True  # a row with every token masked reads [CLS] alone
        values = torch.rand(6, L, generator=g, dtype=torch.float64)  # as encode_values gives
        values[:, 0] = 0.0
        for mask in (None, ~missing):
            numpy_mask = None if mask is None else mask.numpy()
            with torch.no_grad():
                expected = network(ids, mask, values=values)
                expected_order = network.rank(ids, mask, values=values).numpy()
            got = numpy_network.forward(ids.numpy(), numpy_mask, values.numpy())
            for head in HEADS:
                np.testing.assert_allclose(getattr(got, head), getattr(expected, head).numpy(),
                                           rtol=0, atol=1e-6, err_msg=head)
            np.testing.assert_array_equal(
                numpy_network.rank(ids.numpy(), numpy_mask, values.numpy()), expected_order)
            # The values move the scores exactly when the network has a value channel.
            other = numpy_network.forward(ids.numpy(), numpy_mask, 1.0 - values.numpy())
            assert np.abs(other.scores - got.scores).max() > 1e-4 if options[-1] else (
                np.array_equal(other.scores, got.scores))


def torch_prediction(network, tokenizer, residuals, vector, k, forest):
    """What predict_and_rank computed when it ran the torch network (the previous code)."""
    ids = torch.as_tensor(tokenizer.encode(np.asarray(vector))[None, :], dtype=torch.long)
    values = torch.as_tensor(tokenizer.encode_values(np.asarray(vector))[None, :])
    mask = None
    if network.config.mask_missing:
        mask = torch.as_tensor(~tokenizer.is_missing(ids.numpy()))
    with torch.no_grad():
        out = network(ids, mask, values=values)
        decoded = (network.rank(ids, mask, values=values)[0].numpy()
                   if network.config.architecture == "encoder-decoder" else None)
    raw = out.scores[0].double().numpy()
    if forest is not None:
        raw = forest.blend(raw, np.asarray(vector, dtype=np.float64))[0]
    order = decoded if decoded is not None else complementary_order(raw, residuals, k)
    return raw, out, order


@pytest.fixture(scope="module")
def table_vectors():
    """Meta-feature vectors of real and synthetic tables; the last one's landmarking group
    missing (NaN), as a call whose time budget ran out gives it."""
    X, y = make_classification(300, 12, n_informative=5, n_classes=3, random_state=0)
    X[np.random.default_rng(0).random(X.shape) < 0.2] = np.nan
    tables = [load_iris(return_X_y=True), load_wine(return_X_y=True),
              load_breast_cancer(return_X_y=True), (X, y)]
    vectors = [describe(X, y).vector for X, y in tables]
    partial = vectors[-1].copy()
    partial[[i for i, name in enumerate(METAFEATURE_NAMES)
             if METAFEATURE_GROUP[name] == "landmarking"]] = np.nan
    return [*vectors, partial]


def test_bundled_model_ranks_every_table_as_the_torch_forward_pass(table_vectors):
    network, tokenizer, residuals, forest = loading.load_numpy(
        with_residuals=True, with_forest=True)
    torch_network = loading.load()[0]
    assert np.isnan(table_vectors[-1]).any()  # a vector with missing meta-features
    for vector in table_vectors:
        for forest_or_none in (forest, None):
            got = predict_and_rank(network, tokenizer, residuals, vector, 3,
                                   forest=forest_or_none)
            raw, out, order = torch_prediction(torch_network, tokenizer, residuals, vector, 3,
                                               forest_or_none)
            np.testing.assert_array_equal(got.order, order)
            np.testing.assert_allclose(got.scores, np.clip(raw, 0, 1), rtol=0, atol=1e-6)
            np.testing.assert_allclose(got.uncertainty,
                                       np.exp(0.5 * out.score_log_var[0].double().numpy()),
                                       rtol=1e-6)
            np.testing.assert_allclose(got.fit_time,
                                       np.exp(out.log_fit_time[0].double().numpy()), rtol=1e-6)
        # the network alone, by score: the same order as torch's
        np.testing.assert_array_equal(
            np.argsort(-network.forward(tokenizer.encode(vector)[None]).scores[0],
                       kind="stable"),
            torch_network.rank(torch.as_tensor(tokenizer.encode(vector)[None]))[0].numpy())


@pytest.mark.parametrize("architecture", ["encoder", "decoder", "encoder-decoder"])
def test_saved_models_with_masked_missing_values_predict_as_torch(tmp_path, table_vectors,
                                                                  architecture):
    # Through the files, as a user's model arrives: load_numpy against load (torch), with
    # mask_missing (the missing meta-features' tokens masked out) and without.
    for mask_missing in (True, False):
        folder = save_tiny_model(tmp_path / f"{mask_missing}", seed=3,
                                 architecture=architecture, mask_missing=mask_missing)
        network, tokenizer, _, _ = loading.load_numpy(folder, with_residuals=True,
                                                      with_forest=True)
        torch_network = loading.load(folder)[0]
        for vector in table_vectors:
            got = predict_and_rank(network, tokenizer, None, vector, 3)
            raw, _, order = torch_prediction(torch_network, tokenizer, None, vector, 3, None)
            np.testing.assert_array_equal(got.order, order)
            np.testing.assert_allclose(got.scores, np.clip(raw, 0, 1), rtol=0, atol=1e-6)


@pytest.mark.parametrize("architecture", ["encoder", "encoder-decoder"])
def test_saved_models_with_a_value_channel_predict_as_torch(tmp_path, table_vectors,
                                                            architecture):
    folder = save_tiny_model(tmp_path / "model", seed=4, architecture=architecture,
                             value_channel=True)
    network, tokenizer = loading.load_numpy(folder)
    torch_network = loading.load(folder)[0]
    assert network.config.value_channel and torch_network.config.value_channel
    assert "value_proj.weight" in network.weights
    for vector in table_vectors:
        got = predict_and_rank(network, tokenizer, None, vector, 3)
        raw, _, order = torch_prediction(torch_network, tokenizer, None, vector, 3, None)
        np.testing.assert_array_equal(got.order, order)
        np.testing.assert_allclose(got.scores, np.clip(raw, 0, 1), rtol=0, atol=1e-6)
    ids = tokenizer.encode(table_vectors[0])[None]
    for forward in (network.forward, lambda ids: torch_network(torch.as_tensor(ids))):
        with pytest.raises(ValueError, match="value channel.*pass values"):
            forward(ids)
    with pytest.raises(ValueError, match=r"values shape \(1, 3\) differs"):
        network.forward(ids, None, np.zeros((1, 3)))


def test_bfloat16_weights_which_numpy_cannot_read_are_read_with_torch(tmp_path):
    import safetensors.torch

    folder = save_tiny_model(tmp_path / "model", seed=2)
    path = str(folder / "model.safetensors")
    safetensors.torch.save_file({name: tensor.bfloat16() for name, tensor in
                                 safetensors.torch.load_file(path).items()}, path)
    network, tokenizer = loading.load_numpy(folder)
    torch_network = loading.load(folder)[0]
    ids = tokenizer.encode(np.zeros(tokenizer.n_features))[None]
    with torch.no_grad():
        expected = torch_network(torch.as_tensor(ids)).scores.numpy()
    np.testing.assert_allclose(network.forward(ids).scores, expected, rtol=0, atol=1e-6)


def test_a_torch_network_is_converted_from_its_current_weights(tiny_model):
    # pretrain's protocol passes the network it has just trained: its weights now count.
    network, tokenizer = loading.load(tiny_model)
    vector = np.zeros(tokenizer.n_features)
    before = predict_and_rank(network, tokenizer, None, vector, 3).scores
    with torch.no_grad():
        network.score_head.bias.add_(0.25)
    after = predict_and_rank(network, tokenizer, None, vector, 3).scores
    assert not np.allclose(before, after)
    np.testing.assert_allclose(as_numpy_network(network).weights["score_head.bias"],
                               network.score_head.bias.detach().numpy())
    with pytest.raises(TypeError, match="expected a NumpyNetwork"):
        as_numpy_network(object())


def test_weights_that_do_not_fit_the_config_are_named(tmp_path):
    network = random_network(0, "encoder", "learned", "layernorm", "pre", "gelu", True)
    weights = {n: t.numpy() for n, t in network.state_dict().items()}
    del weights["blocks.1.mlp.w2.weight"]
    weights["extra.weight"] = np.zeros(3)
    weights["score_head.bias"] = np.zeros(P + 1)
    with pytest.raises(ValueError, match=r"missing: blocks\.1\.mlp\.w2\.weight; unexpected: "
                                         r"extra\.weight; of another shape: score_head\.bias"):
        NumpyNetwork(network.config, weights)
    folder = save_tiny_model(tmp_path / "model")
    import safetensors.numpy

    tensors = safetensors.numpy.load_file(str(folder / "model.safetensors"))
    tensors.pop("score_head.bias")
    safetensors.numpy.save_file(tensors, str(folder / "model.safetensors"))
    with pytest.raises(ValueError, match=r"do not match the network its config\.json describes "
                                         r"\(missing: score_head\.bias\)"):
        loading.load_numpy(folder)


def test_recommend_in_a_fresh_process_imports_no_torch():
    code = (
        "import sys\n"
        "import skllmselect\n"
        "heavy = {'torch', 'sklearn', 'pandas', 'huggingface_hub', 'matplotlib', 'pymfe'}\n"
        "assert not heavy & set(sys.modules), heavy & set(sys.modules)\n"
        "from sklearn.datasets import load_iris\n"
        "X, y = load_iris(return_X_y=True)\n"
        "table = skllmselect.LLMAlgorithmSelector(random_state=0).recommend(X, y)\n"
        "assert len(table) == 20\n"
        "print(sorted({'torch', 'huggingface_hub'} & set(sys.modules)))\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
