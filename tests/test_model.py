"""Tests for skllmselect.model: shapes, masks, every option learns, ranking, save/load."""

import json
import math

import pytest
import torch
import torch.nn.functional as F

from skllmselect.model import (
    LOG_VAR_MAX,
    LOG_VAR_MIN,
    ModelConfig,
    SelectorOutput,
    SelectorTransformer,
)

ARCHITECTURES = ["encoder", "decoder", "encoder-decoder"]
POSITIONS = ["learned", "rope", "alibi"]
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

# A tiny token layout like the tokenizer's: 5 specials, P pipeline tokens, then N_FEATURES
# blocks of N_VALUES value tokens each; the last value of a block stands for "missing".
P, N_FEATURES, N_VALUES = 4, 8, 3
L = 1 + N_FEATURES
FEATURE_OFFSET = 5 + P
VOCAB = FEATURE_OFFSET + N_FEATURES * N_VALUES


def tiny_config(**overrides) -> ModelConfig:
    kwargs = dict(vocab_size=VOCAB, sequence_length=L, n_pipelines=P, d_model=32, n_layers=2,
                  n_heads=4, n_decoder_layers=2)
    return ModelConfig(**{**kwargs, **overrides})


def make_batch(batch_size: int, seed: int = 0):
    """Random meta-feature tokens and targets that are a deterministic function of them."""
    g = torch.Generator().manual_seed(seed)
    values = torch.randint(0, N_VALUES, (batch_size, N_FEATURES), generator=g)
    ids = FEATURE_OFFSET + N_VALUES * torch.arange(N_FEATURES) + values  # (B, N_FEATURES)
    ids = torch.cat((torch.full((batch_size, 1), 2), ids), dim=1)  # [CLS] first, (B, L)
    # Pipeline p's score depends on the values of features p and p + P.
    scores = (values[:, :P] == 0).float() * 0.6 + (values[:, P:2 * P] == 1).float() * 0.3
    scores = scores + 0.01 * torch.arange(P)  # no ties, so the ranking is well defined
    return ids, values, scores


@pytest.fixture
def batch():
    return make_batch(6)


def test_output_shapes(batch):
    ids, _, _ = batch
    for arch in ARCHITECTURES:
        model = SelectorTransformer(tiny_config(architecture=arch))
        out = model(ids)
        assert isinstance(out, SelectorOutput)
        for head in (out.scores, out.score_log_var, out.log_fit_time):
            assert head.shape == (6, P) and head.dtype == torch.float32
        assert out.token_logits.shape == (6, L, VOCAB)
        assert out.ranking_logits is None
        assert ((out.score_log_var >= LOG_VAR_MIN) & (out.score_log_var <= LOG_VAR_MAX)).all()


def test_ranking_logits_shape_and_decoder_inputs_rejected_elsewhere(batch):
    ids, _, _ = batch
    decoder_ids = torch.cat((torch.full((6, 1), 3), 5 + torch.randperm(P)[None, :3].repeat(6, 1)),
                            dim=1)  # (B, 4): [BOS] + 3 pipeline tokens
    out = SelectorTransformer(tiny_config(architecture="encoder-decoder"))(ids, None, decoder_ids)
    assert out.ranking_logits.shape == (6, 4, VOCAB)
    for arch in ("encoder", "decoder"):
        model = SelectorTransformer(tiny_config(architecture=arch))
        with pytest.raises(ValueError, match="only accepted by the 'encoder-decoder'"):
            model(ids, decoder_input_ids=decoder_ids)


def test_bad_inputs_raise(batch):
    ids, _, _ = batch
    model = SelectorTransformer(tiny_config())
    with pytest.raises(ValueError, match="attention_mask shape"):
        model(ids, torch.ones(6, L - 1, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"input_ids must be \(batch, length\)"):
        model(ids[0])
    with pytest.raises(ValueError, match="longer than the 9 learned positions"):
        model(torch.cat((ids, ids[:, 1:2]), dim=1))


TRAIN_CASES = (
    [dict(architecture=a, positions=p) for a in ARCHITECTURES for p in POSITIONS]
    + [dict(architecture=a, **option) for option in (
        dict(norm="rmsnorm"), dict(norm_position="post"), dict(activation="swiglu"),
        dict(mask_missing=True), dict(value_channel=True)) for a in ARCHITECTURES]
)


@pytest.mark.parametrize("options", TRAIN_CASES,
                         ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_every_option_learns(options):
    """30 Adam steps on a learnable task: score regression + token prediction (+ ranking)."""
    torch.manual_seed(0)
    config = tiny_config(**options)
    model = SelectorTransformer(config)
    ids, values, target = make_batch(32, seed=1)
    # mask_missing: the caller leaves the "missing" value tokens out of attention.
    attention_mask = (torch.cat((torch.zeros(32, 1, dtype=torch.long), values), dim=1)
                      != N_VALUES - 1) if config.mask_missing else None
    masked = torch.rand(ids.shape, generator=torch.Generator().manual_seed(2)) < 0.25
    masked[:, 0] = False
    # Positions inside the bins (value_channel reads them, other models ignore them).
    within = torch.rand(ids.shape, generator=torch.Generator().manual_seed(3))
    ranking = target.argsort(dim=1, descending=True) + config.pipeline_token_offset  # (B, P)
    decoder_ids = torch.cat((torch.full((32, 1), config.bos_id), ranking[:, :-1]), dim=1)
    arch = config.architecture

    def loss_fn():
        if arch == "decoder":  # next-token prediction on the clean sequence
            out = model(ids, attention_mask, values=within)
            token_loss = F.cross_entropy(out.token_logits[:, :-1].reshape(-1, VOCAB),
                                         ids[:, 1:].reshape(-1))
        else:  # masked-token prediction
            inputs = ids.masked_fill(masked, config.mask_id)
            out = model(inputs, attention_mask,
                        decoder_ids if arch == "encoder-decoder" else None,
                        values=within.masked_fill(masked, 0.0))
            token_loss = F.cross_entropy(out.token_logits[masked], ids[masked])
        loss = token_loss + 10 * F.mse_loss(out.scores, target)
        loss = loss + F.gaussian_nll_loss(out.scores.detach(), target, out.score_log_var.exp())
        loss = loss + F.mse_loss(out.log_fit_time, target)
        if arch == "encoder-decoder":
            loss = loss + F.cross_entropy(out.ranking_logits.reshape(-1, VOCAB),
                                          ranking.reshape(-1))
        return loss

    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = loss_fn()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(math.isfinite(x) for x in losses)
    assert losses[-1] < 0.5 * losses[0], losses


@pytest.mark.parametrize("positions", POSITIONS)
def test_decoder_is_causal(positions, batch):
    ids, _, _ = batch
    model = SelectorTransformer(tiny_config(architecture="decoder", positions=positions)).eval()
    j = 5
    changed = ids.clone()
    changed[:, j] = FEATURE_OFFSET + N_VALUES * (j - 1) + (ids[:, j] - FEATURE_OFFSET + 1) % 3
    before, after = model(ids).token_logits, model(changed).token_logits
    torch.testing.assert_close(after[:, :j], before[:, :j], rtol=0, atol=1e-6)
    assert (after[:, j:] - before[:, j:]).abs().amax(dim=-1).min() > 1e-6  # the rest does change


@pytest.mark.parametrize("positions", POSITIONS)
def test_ranking_decoder_is_causal(positions, batch):
    ids, _, _ = batch
    model = SelectorTransformer(tiny_config(architecture="encoder-decoder",
                                            positions=positions)).eval()
    decoder_ids = torch.tensor([[3, 5, 6, 7, 8]]).repeat(6, 1)
    changed = decoder_ids.clone()
    changed[:, 3] = 5
    before = model(ids, None, decoder_ids).ranking_logits
    after = model(ids, None, changed).ranking_logits
    torch.testing.assert_close(after[:, :3], before[:, :3], rtol=0, atol=1e-6)
    assert (after[:, 3:] - before[:, 3:]).abs().amax() > 1e-6


@pytest.mark.parametrize("positions", POSITIONS)
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_masked_tokens_are_ignored(architecture, positions, batch):
    ids, _, _ = batch
    model = SelectorTransformer(tiny_config(architecture=architecture, positions=positions))
    model.eval()
    mask = torch.ones_like(ids, dtype=torch.bool)
    mask[:, 6:] = False  # trailing padding: the decoder pools the last True position
    changed = ids.clone()
    changed[:, 7] = FEATURE_OFFSET  # a different token
    decoder_ids = (torch.tensor([[3, 6, 5]]).repeat(6, 1)
                   if architecture == "encoder-decoder" else None)
    before = model(ids, mask, decoder_ids)
    after = model(changed, mask, decoder_ids)
    torch.testing.assert_close(after.scores, before.scores, rtol=0, atol=1e-6)
    if decoder_ids is not None:
        torch.testing.assert_close(after.ranking_logits, before.ranking_logits, rtol=0, atol=1e-6)
    # The same change at an attended position does move the scores.
    mask[:, 7] = True
    assert (model(changed, mask).scores - model(ids, mask).scores).abs().max() > 1e-6


@pytest.mark.parametrize("positions", POSITIONS)
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_fully_masked_row_is_finite(architecture, positions, batch):
    ids, _, _ = batch
    model = SelectorTransformer(tiny_config(architecture=architecture, positions=positions))
    mask = torch.ones_like(ids, dtype=torch.bool)
    mask[0] = False
    decoder_ids = torch.tensor([[3, 5]]).repeat(6, 1) if architecture == "encoder-decoder" else None
    out = model(ids, mask, decoder_ids)
    for t in (out.scores, out.score_log_var, out.log_fit_time, out.token_logits):
        assert torch.isfinite(t).all()
    if decoder_ids is not None:
        assert torch.isfinite(out.ranking_logits).all()
    assert model.rank(ids, mask).shape == (6, P)


def test_fully_masked_row_reads_only_cls(batch):
    """The documented guard: [CLS] stays attendable, so "nothing" means "only [CLS]"."""
    ids, _, _ = batch
    model = SelectorTransformer(tiny_config(positions="alibi")).eval()
    nothing = torch.zeros_like(ids, dtype=torch.bool)
    only_cls = nothing.clone()
    only_cls[:, 0] = True
    torch.testing.assert_close(model(ids, nothing).scores, model(ids, only_cls).scores)


def test_rope_attention_depends_only_on_relative_positions():
    torch.manual_seed(0)
    model = SelectorTransformer(tiny_config(positions="rope"))
    attn, T, shift = model.blocks[0].attn, 5, 3
    with torch.no_grad():  # sharp attention, so that positions matter
        for p in attn.parameters():
            p.normal_(0, 0.5)
    x = torch.randn(2, T, 32)
    cos, sin = model._rope(T + shift, x.device)
    at_zero = attn(x, rope=(cos[:T], sin[:T]))
    shifted = attn(x, rope=(cos[shift:], sin[shift:]))
    torch.testing.assert_close(shifted, at_zero, rtol=1e-4, atol=1e-5)
    assert (attn(x) - at_zero).abs().max() > 0.1  # the rotation does change attention


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_rank_returns_permutations(architecture, batch):
    ids, _, _ = batch
    model = SelectorTransformer(tiny_config(architecture=architecture)).eval()
    order = model.rank(ids)
    assert order.shape == (6, P) and order.dtype == torch.long
    assert (order.sort(dim=1).values == torch.arange(P)).all()
    if architecture != "encoder-decoder":
        expected = model(ids).scores.argsort(dim=1, descending=True)
        assert torch.equal(order, expected)


def test_rank_follows_the_ranking_head(batch):
    """Greedy decoding picks the highest-logit pipeline token not used yet."""
    ids, _, _ = batch
    model = SelectorTransformer(tiny_config(architecture="encoder-decoder")).eval()
    order = model.rank(ids)
    decoder_ids = torch.cat((torch.full((6, 1), 3), order[:, :-1] + 5), dim=1)
    logits = model(ids, None, decoder_ids).ranking_logits[:, :, 5:5 + P]  # (B, P, P)
    for step in range(P):
        allowed = logits[:, step].clone()
        for earlier in range(step):
            allowed[torch.arange(6), order[:, earlier]] = float("-inf")
        assert torch.equal(allowed.argmax(dim=1), order[:, step])


@pytest.mark.parametrize("architecture", ["encoder", "encoder-decoder"])
@pytest.mark.parametrize("tie", [True, False])
def test_save_and_load_round_trip(tmp_path, architecture, tie, batch):
    ids, _, _ = batch
    config = tiny_config(
        architecture=architecture, tie_embeddings=tie, positions="rope",
        metafeature_names=[f"mf{i}" for i in range(N_FEATURES)],
        pipeline_names=["lr", "svm", "knn", "rf"],
        tokenizer={"bins": [[0.0, 1.0]] * N_FEATURES}, versions={"torch": torch.__version__})
    model = SelectorTransformer(config).eval()
    model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved == config.to_dict()
    assert saved["pipeline_names"] == ["lr", "svm", "knn", "rf"]
    assert saved["metafeature_names"][0] == "mf0" and "torch" in saved["versions"]
    loaded = SelectorTransformer.from_pretrained(tmp_path)
    assert loaded.config == config and not loaded.training
    assert (loaded.token_head.weight is loaded.tok_emb.weight) == tie
    decoder_ids = torch.tensor([[3, 7]]).repeat(6, 1) if architecture != "encoder" else None
    before, after = model(ids, None, decoder_ids), loaded(ids, None, decoder_ids)
    for name in ("scores", "score_log_var", "log_fit_time", "token_logits", "ranking_logits"):
        if getattr(before, name) is not None:
            assert torch.equal(getattr(after, name), getattr(before, name)), name
    assert torch.equal(loaded.rank(ids), model.rank(ids))


def test_value_channel_tells_values_of_one_bin_apart():
    """Scores that depend only on where values lie inside their bins (every row the same
    tokens): learnable with the value channel, not without it (the loss stays at the
    targets' variance, about 1/12)."""
    ids = make_batch(1, seed=4)[0].repeat(64, 1)
    within = torch.rand(ids.shape, generator=torch.Generator().manual_seed(5))
    within[:, 0] = 0.0
    target = within[:, 1:P + 1]  # pipeline p's score: feature p's position in its bin
    final = {}
    for value_channel in (False, True):
        torch.manual_seed(0)
        model = SelectorTransformer(tiny_config(value_channel=value_channel, n_layers=1))
        optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
        for _ in range(150):
            loss = F.mse_loss(model(ids, values=within).scores, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        final[value_channel] = loss.item()
    assert final[False] > 0.07 and final[True] < 0.01, final


def test_value_channel_needs_values_of_the_ids_shape(batch):
    ids, _, _ = batch
    model = SelectorTransformer(tiny_config(value_channel=True))
    for call in (lambda: model(ids), lambda: model.rank(ids)):
        with pytest.raises(ValueError, match=r"value channel \(value_channel=True\): pass values"):
            call()
    with pytest.raises(ValueError, match=r"values shape \(6, 8\) differs from input_ids"):
        model(ids, values=torch.zeros(6, L - 1))
    # Without the channel, values are ignored: the same outputs as none.
    plain = SelectorTransformer(tiny_config()).eval()
    assert torch.equal(plain(ids, values=torch.rand(6, L)).scores, plain(ids).scores)
    assert not hasattr(plain, "value_proj") or plain.value_proj is None


@pytest.mark.parametrize("architecture", ["encoder", "encoder-decoder"])
def test_value_channel_saves_and_loads(tmp_path, architecture, batch):
    ids, _, _ = batch
    within = torch.rand(ids.shape, generator=torch.Generator().manual_seed(6))
    model = SelectorTransformer(tiny_config(architecture=architecture,
                                            value_channel=True)).eval()
    model.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["value_channel"] is True
    loaded = SelectorTransformer.from_pretrained(tmp_path)
    assert loaded.config.value_channel and loaded.value_proj.weight.shape == (32, 1)
    assert torch.equal(loaded(ids, values=within).scores, model(ids, values=within).scores)
    assert torch.equal(loaded.rank(ids, values=within), model.rank(ids, values=within))


def test_a_config_saved_before_the_value_channel_loads_with_it_off(tmp_path):
    SelectorTransformer(tiny_config()).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    del config["value_channel"]  # as every config.json written before the option
    (tmp_path / "config.json").write_text(json.dumps(config))
    loaded = SelectorTransformer.from_pretrained(tmp_path)
    assert loaded.config.value_channel is False and loaded.value_proj is None
    assert loaded(make_batch(2)[0]).scores.shape == (2, P)


def test_load_refuses_weights_that_do_not_match(tmp_path):
    SelectorTransformer(tiny_config()).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["n_layers"] = 3
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(RuntimeError, match="Missing key"):
        SelectorTransformer.from_pretrained(tmp_path)


def test_config_dict_round_trip_and_unknown_keys():
    config = tiny_config(pipeline_names=list("abcd"), versions={"skllmselect": "0.1"})
    assert ModelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert SelectorTransformer(config.to_dict()).config == config
    with pytest.raises(ValueError, match=r"unknown ModelConfig keys \['colour'\]"):
        ModelConfig.from_dict({**config.to_dict(), "colour": "blue"})
    d = config.to_dict()
    del d["vocab_size"]
    with pytest.raises(ValueError, match=r"needs the keys \['vocab_size'\]"):
        ModelConfig.from_dict(d)


@pytest.mark.parametrize("overrides, message", [
    (dict(architecture="gpt"), r"architecture must be one of .*'encoder'.*got 'gpt'"),
    (dict(norm="batchnorm"), "norm must be one of"),
    (dict(norm_position="middle"), "norm_position must be one of"),
    (dict(activation="relu"), "activation must be one of"),
    (dict(positions="sinusoidal"), "positions must be one of"),
    (dict(d_model=30), r"d_model \(30\) must be divisible by n_heads \(4\)"),
    (dict(d_model=12, positions="rope"), "needs an even head dimension.*= 3"),
    (dict(n_layers=0), "n_layers must be an integer >= 1, got 0"),
    (dict(dropout=1.0), r"dropout must be a number in \[0, 1\)"),
    (dict(vocab_size=8), "vocab_size must be at least 9"),
    (dict(bos_id=2), "special token ids must be distinct"),
    (dict(eos_id=6), "eos_id=6 must be below vocab_size .* outside the pipeline tokens"),
    (dict(metafeature_names=["a"]), "metafeature_names has 1 names"),
    (dict(pipeline_names=["a"]), "pipeline_names has 1 names, but n_pipelines is 4"),
    (dict(mask_missing="yes"), "mask_missing must be True or False"),
])
def test_config_validation(overrides, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(**overrides)


def test_d_ff_defaults():
    assert tiny_config().ff_dim == 128
    assert tiny_config(activation="swiglu").ff_dim == 88  # 8/3 * 32 = 85.3 -> 88
    assert ModelConfig(vocab_size=10, sequence_length=3, n_pipelines=2,
                       activation="swiglu").ff_dim == 344  # 8/3 * 128 = 341.3
    assert tiny_config(d_ff=50).ff_dim == 50
    model = SelectorTransformer(tiny_config(activation="swiglu"))
    assert model.blocks[0].mlp.w3.weight.shape == (88, 32)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_bf16_autocast_matches_fp32(architecture, device, batch):
    ids, _, _ = batch
    torch.manual_seed(0)
    model = SelectorTransformer(tiny_config(architecture=architecture, positions="alibi"))
    with torch.no_grad():  # larger weights than the init, so that outputs are not all ~0
        for p in model.parameters():
            if p.ndim == 2:
                p.normal_(0, 0.2)
    model = model.to(device).eval()
    ids = ids.to(device)
    mask = torch.ones_like(ids, dtype=torch.bool)
    mask[:, -2:] = False
    decoder_ids = (torch.tensor([[3, 6, 5]], device=device).repeat(6, 1)
                   if architecture == "encoder-decoder" else None)
    reference = model(ids, mask, decoder_ids)
    with torch.autocast(device, dtype=torch.bfloat16):
        out = model(ids, mask, decoder_ids)
    assert out.token_logits.dtype == torch.bfloat16 and out.scores.dtype == torch.float32
    for name in ("scores", "log_fit_time", "token_logits", "ranking_logits"):
        a, b = getattr(out, name), getattr(reference, name)
        if b is None:
            continue
        assert torch.isfinite(a).all()
        scale = b.abs().max().item()
        assert scale > 0.1, name  # the comparison means something
        torch.testing.assert_close(a.float(), b, rtol=0, atol=0.05 * scale, msg=name)
    assert model.rank(ids, mask).shape == (6, P)


def test_num_parameters():
    config = tiny_config()
    model = SelectorTransformer(config)
    unique = {id(p): p.numel() for p in model.parameters()}
    assert model.num_parameters() == sum(unique.values())
    embeddings = VOCAB * 32 + L * 32
    assert model.num_parameters(exclude_embeddings=True) == model.num_parameters() - embeddings
    untied = SelectorTransformer(tiny_config(tie_embeddings=False))
    assert untied.num_parameters() == model.num_parameters() + VOCAB * 32
    # One block: 4 C^2 attention + 2 * 4 C^2 MLP + 2 layernorms of 2 C.
    block = 4 * 32 * 32 + 8 * 32 * 32 + 4 * 32
    heads = 3 * (32 * P + P)
    assert model.num_parameters() == embeddings + 2 * block + 2 * 32 + heads


def test_init_is_nanogpt_style():
    config = ModelConfig(vocab_size=2000, sequence_length=74, n_pipelines=20, n_layers=8)
    model = SelectorTransformer(config)
    assert model.tok_emb.weight.std().item() == pytest.approx(0.02, rel=0.05)
    w2 = torch.cat([b.mlp.w2.weight.flatten() for b in model.blocks])
    assert w2.std().item() == pytest.approx(0.02 / math.sqrt(16), rel=0.05)
    assert (model.score_head.bias == 0).all()
