"""pretrain.train and its parts (config, batches, losses, checkpoint) on a tiny random corpus."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from pretrain import checkpoint
from pretrain import train as train_module
from pretrain.batches import IGNORE_INDEX, BatchSampler, Collator, CorpusData, DataPosition
from pretrain.config import GuardConfig, ModelOptions, ObjectiveConfig, OptimConfig, TrainConfig
from pretrain.losses import listwise_ranking, score_nll
from pretrain.train import lr_at, param_groups, read_metrics, train
from skllmselect.metafeatures import METAFEATURE_NAMES
from skllmselect.model import ModelConfig, NetworkOptions, SelectorTransformer
from skllmselect.portfolio import PIPELINE_NAMES
from skllmselect.tokenizer import MetaFeatureTokenizer
from tests.helpers import losses, tiny, write_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"))


# ------------------------------------------------------------------------------ training


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    config = tiny(corpus, out, steps=80)
    return config, train(config)


def test_loss_decreases(trained):
    config, summary = trained
    values = [loss for _, loss in losses(config.out_dir)]
    assert len(values) == 80 and summary["steps"] == 80
    assert np.mean(values[-10:]) < np.mean(values[:10]) - 0.5
    assert summary["eval"]["val_regret"] >= 0 and summary["skips"] == 0


def test_exported_model_reloads_with_the_same_outputs(trained, corpus):
    config, summary = trained
    model = SelectorTransformer.from_pretrained(summary["model_dir"]).eval()
    state = checkpoint.load(checkpoint.latest(config.out_dir))
    assert state["step"] == 80
    reference = SelectorTransformer(model.config).eval()
    reference.load_state_dict(state["model"])
    data = CorpusData.load(corpus, n_bins=8)
    ids = torch.as_tensor(data.splits["validation"].input_ids)
    torch.testing.assert_close(model(ids).scores, reference(ids).scores, rtol=0, atol=0)
    meta = model.config
    assert meta.metafeature_names == list(METAFEATURE_NAMES)
    assert meta.pipeline_names == list(PIPELINE_NAMES)
    assert MetaFeatureTokenizer.from_dict(meta.tokenizer).to_dict() == data.tokenizer.to_dict()
    assert meta.versions["corpus_ground_truth"] == "g0" and "torch" in meta.versions
    saved = json.loads((config.out_path / "summary.json").read_text())
    assert saved["steps"] == 80 and saved["eval"]["step"] == 80


def test_killed_and_resumed_run_reproduces_the_losses(corpus, tmp_path):
    changes = dict(model=ModelOptions(d_model=16, n_layers=1, n_heads=2, n_bins=8,
                                      dropout=0.1),  # the RNG state must come back too
                   checkpoint_every=7)
    whole = tiny(corpus, tmp_path / "whole", **changes)
    whole = dataclasses.replace(whole, optim=dataclasses.replace(
        whole.optim, grad_accum_steps=2, batch_size_schedule=(4, 10)))
    train(whole)
    parted = dataclasses.replace(whole, out_dir=str(tmp_path / "parted"))
    first = train(parted, stop_after=17)
    assert first["stopped_early"] and first["steps"] == 17
    assert not (tmp_path / "parted" / "model").exists()
    train(parted)  # resumes from step 17
    assert losses(parted.out_dir) == losses(whole.out_dir)
    assert len(losses(whole.out_dir)) == 40


def test_resume_after_a_kill_mid_write(corpus, tmp_path, caplog):
    """A kill while appending a metrics row or saving a checkpoint leaves a torn last line
    and a temporary checkpoint file: the resumed run drops the one and deletes the other."""
    config = tiny(corpus, tmp_path, steps=14)
    train(config, stop_after=12)  # checkpoint at step 10, metrics rows to step 12
    metrics = tmp_path / "metrics.jsonl"
    with open(metrics, "a") as handle:
        handle.write('{"kind": "train", "step": 13, "lo')
    folder = checkpoint.directory(tmp_path)
    stray = folder / ".step_000020.pt.4242.tmp"
    stray.write_bytes(b"\0" * 1000)
    kept = [folder / "notes.tmp", folder / "step_000020.pt.tmp", tmp_path / ".step_1.pt.1.tmp"]
    for path in kept:
        path.write_text("not a checkpoint's temporary file")
    with caplog.at_level("WARNING"):
        summary = train(config)
    assert summary["steps"] == 14
    assert [step for step, _ in losses(tmp_path)] == list(range(1, 15))
    assert not stray.exists() and all(path.exists() for path in kept)
    assert "torn last line" in caplog.text
    assert "removed 1 temporary checkpoint files" in caplog.text


def test_metrics_log_survives_a_torn_last_line_but_not_corruption(tmp_path):
    from pretrain.jsonl import append_jsonl, read_jsonl

    log = tmp_path / "log.jsonl"
    log.write_text('{"a": 1}\n{"a": 2}\n{"a": 3')
    assert read_jsonl(log) == [{"a": 1}, {"a": 2}]
    append_jsonl(log, {"a": 4})  # the torn line is cut, not glued to the new row
    assert log.read_text() == '{"a": 1}\n{"a": 2}\n{"a": 4}\n'
    log.write_text('{"a": 1}\n{"a": 2}')  # whole but for its newline: kept
    append_jsonl(log, {"a": 3})
    assert read_jsonl(log) == [{"a": 1}, {"a": 2}, {"a": 3}]
    log.write_text('{"a": 1}\n{"a": \n{"a": 3}\n')
    with pytest.raises(ValueError, match="log.jsonl line 2 is not JSON"):
        read_jsonl(log)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_runs(corpus, tmp_path, precision):
    config = tiny(corpus, tmp_path, steps=15)
    config = dataclasses.replace(config, precision=dataclasses.replace(
        config.precision, precision=precision, device="cpu"))
    summary = train(config)
    assert summary["steps"] == 15
    assert all(math.isfinite(loss) for _, loss in losses(tmp_path))
    assert math.isfinite(summary["eval"]["val_loss"])


@pytest.mark.parametrize("architecture", ["encoder", "decoder", "encoder-decoder"])
def test_each_architecture_trains(corpus, tmp_path, architecture):
    summary = train(tiny(corpus, tmp_path, steps=6, architecture=architecture))
    rows = read_metrics(tmp_path, "train")
    assert summary["steps"] == 6 and all(math.isfinite(r["loss"]) for r in rows)
    assert ("decoder_ranking" in rows[-1]) == (architecture == "encoder-decoder")
    assert math.isfinite(summary["eval"]["val_perplexity"])


@pytest.mark.parametrize("architecture", ["encoder", "encoder-decoder"])
def test_a_value_channel_model_trains_and_predicts_as_numpy(corpus, tmp_path, architecture):
    from skllmselect.numpy_network import NumpyNetwork
    from skllmselect.prediction import predict_and_rank

    config = tiny(corpus, tmp_path, steps=6, architecture=architecture)
    config = dataclasses.replace(config, model=dataclasses.replace(config.model,
                                                                   value_channel=True))
    summary = train(config)
    assert summary["steps"] == 6 and math.isfinite(summary["eval"]["val_loss"])
    model = SelectorTransformer.from_pretrained(summary["model_dir"]).eval()
    assert model.config.value_channel
    assert model.value_proj.weight.abs().sum() > 0  # trained, saved and loaded
    data = CorpusData.load(corpus, n_bins=8)
    split = data.splits["validation"]
    with torch.no_grad():
        expected = model(torch.as_tensor(split.input_ids),
                         values=torch.as_tensor(split.values)).scores.numpy()
    got = NumpyNetwork.from_torch(model).forward(split.input_ids, None, split.values).scores
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    prediction = predict_and_rank(model, data.tokenizer, None, split.metafeatures[0], 3)
    np.testing.assert_allclose(prediction.scores, np.clip(expected[0], 0, 1), atol=1e-6)


def test_mask_missing_hides_missing_tokens(corpus, tmp_path):
    data = CorpusData.load(corpus, n_bins=8)
    batch = Collator(data.tokenizer, architecture="encoder", mlm_probability=0.5,
                     mask_missing=True)(data.splits["train"], np.arange(16), seed=0)
    missing = torch.as_tensor(data.tokenizer.is_missing(batch["input_ids"].numpy()))
    assert missing.any() and (batch["attention_mask"] == ~missing).all()
    assert not (batch["token_labels"][missing] != IGNORE_INDEX).any()
    config = tiny(corpus, tmp_path, steps=6)
    config = dataclasses.replace(config, model=dataclasses.replace(
        config.model, mask_missing=True, positions="rope"))
    assert train(config)["steps"] == 6


class Spike:
    """Multiplies the loss of the given steps by 1000, until the first rollback."""

    def __init__(self, steps):
        self.steps, self.rolled_back = set(steps), False

    def on_loss(self, step, loss):
        return loss * 1000 if step in self.steps and not self.rolled_back else loss

    def on_step(self, row):
        self.rolled_back |= row["event"] == "rollback"


def test_guard_skips_a_spike(corpus, tmp_path):
    config = tiny(corpus, tmp_path, steps=30)
    summary = train(config, hooks=Spike([20]))
    rows = {r["step"]: r for r in read_metrics(tmp_path, "train")}
    assert rows[20]["event"] == "skip" and rows[20]["loss"] > 100
    assert summary["skips"] == 1 and summary["rollbacks"] == 0 and summary["steps"] == 30
    assert rows[21]["lr"] == pytest.approx(lr_at(20, config.optim))


def test_guard_rolls_back_and_lowers_the_lr(corpus, tmp_path):
    config = tiny(corpus, tmp_path, steps=30)
    config = dataclasses.replace(config, guard=dataclasses.replace(
        config.guard, max_consecutive_skips=3, lr_backoff=0.5))
    summary = train(config, hooks=Spike(range(22, 30)))
    events = [(r["step"], r["event"]) for r in read_metrics(tmp_path, "train") if r["event"]]
    assert events == [(22, "skip"), (23, "skip"), (24, "skip"), (20, "rollback")]
    assert summary["rollbacks"] == 1 and summary["skips"] == 3 and summary["steps"] == 30
    after = [r for r in read_metrics(tmp_path, "train") if r["event"] == ""]
    step21 = [r for r in after if r["step"] == 21]
    assert step21[0]["lr"] == pytest.approx(lr_at(20, config.optim))  # before the rollback
    assert step21[-1]["lr"] == pytest.approx(0.5 * lr_at(20, config.optim))  # after it


class EverySpike(Spike):
    """Spikes every step from ``start`` on, rollbacks or not: a run that cannot recover."""

    def __init__(self, start):
        super().__init__(range(start, 10**6))

    def on_step(self, row):
        pass


def test_guard_stops_a_run_that_keeps_spiking(corpus, tmp_path):
    config = tiny(corpus, tmp_path, steps=40)
    config = dataclasses.replace(config, guard=dataclasses.replace(
        config.guard, max_consecutive_skips=2, max_rollbacks=2))
    with pytest.raises(RuntimeError, match="Training diverged: 2 skipped steps in a row"):
        train(config, hooks=EverySpike(22))
    events = [r["event"] for r in read_metrics(tmp_path, "train") if r["event"]]
    # Two rollbacks to the step-20 checkpoint, each after two skips, then the stop.
    assert events == ["skip", "skip", "rollback"] * 2 + ["skip", "skip"]


def _global_grad_norm(model) -> float:
    grads = [p.grad.detach().flatten() for p in model.parameters() if p.grad is not None]
    return float(torch.linalg.vector_norm(torch.cat(grads)))


def test_clipping_scales_the_global_norm_down_to_the_limit():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Linear(8, 3))
    for p in model.parameters():
        p.grad = 10 * torch.randn_like(p)
    directions = [p.grad.clone() for p in model.parameters()]
    before = _global_grad_norm(model)
    assert train_module._clip_grad_norm(model, 1.0) == pytest.approx(before)  # reports before
    assert _global_grad_norm(model) == pytest.approx(1.0, rel=1e-5)
    for grad, original in zip((p.grad for p in model.parameters()), directions, strict=True):
        torch.testing.assert_close(grad, original / before)  # one factor for all: direction kept
    assert train_module._clip_grad_norm(model, 5.0) == pytest.approx(1.0)  # under: untouched
    assert _global_grad_norm(model) == pytest.approx(1.0, rel=1e-5)


def test_training_clips_every_step_at_the_configured_norm(corpus, tmp_path, monkeypatch):
    seen = []
    clip = train_module._clip_grad_norm

    def spy(model, max_norm):
        before = clip(model, max_norm)
        seen.append((max_norm, before, _global_grad_norm(model)))
        return before

    monkeypatch.setattr(train_module, "_clip_grad_norm", spy)
    config = tiny(corpus, tmp_path, steps=6)
    config = dataclasses.replace(config, optim=dataclasses.replace(config.optim,
                                                                   clip_grad_norm=1e-3))
    train(config)
    assert len(seen) == 6 and all(limit == 1e-3 for limit, _, _ in seen)
    assert all(after <= 1e-3 * (1 + 1e-4) for _, _, after in seen)
    assert all(before > 1e-3 for _, before, _ in seen)  # so every step was clipped
    logged = [r["grad_norm"] for r in read_metrics(tmp_path, "train") if "loss" in r]
    assert logged == pytest.approx([before for _, before, _ in seen])


# ------------------------------------------------------------------ optimizer and schedule


def test_param_groups_decay_matmul_weights_only():
    model = SelectorTransformer(ModelConfig(vocab_size=40, sequence_length=5, n_pipelines=3,
                                            d_model=16, n_layers=1, n_heads=2))
    decay, no_decay = param_groups(model, 0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert "tok_emb.weight" in no_decay["names"] and "pos_emb.weight" in no_decay["names"]
    assert all(n.endswith("weight") and "norm" not in n and "emb" not in n
               for n in decay["names"])
    assert any(n.endswith("bias") for n in no_decay["names"])
    assert any("norm" in n for n in no_decay["names"])
    assert "blocks.0.attn.q_proj.weight" in decay["names"]
    total = sum(p.numel() for g in (decay, no_decay) for p in g["params"])
    assert total == model.num_parameters()


def test_lr_schedule_shape():
    optim = OptimConfig(lr=1.0, min_lr=0.1, warmup_steps=10, max_steps=110)
    warmup = [lr_at(s, optim) for s in range(10)]
    assert warmup == pytest.approx([(s + 1) / 10 for s in range(10)])
    assert lr_at(10, optim) == pytest.approx(1.0)
    assert lr_at(60, optim) == pytest.approx(0.55)  # half way down the cosine
    assert lr_at(110, optim) == pytest.approx(0.1) and lr_at(500, optim) == pytest.approx(0.1)
    decay = [lr_at(s, optim) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(decay, decay[1:], strict=False))


# ----------------------------------------------------------------------------------- data


def test_tokenizer_is_fitted_on_the_training_split_only(corpus):
    data = CorpusData.load(corpus, n_bins=8)
    assert {n: len(s) for n, s in data.splits.items()} == {"train": 40, "validation": 12,
                                                           "test": 8}
    train_values = data.splits["train"].metafeatures
    expected = MetaFeatureTokenizer(list(METAFEATURE_NAMES), list(PIPELINE_NAMES), 8)
    assert data.tokenizer.to_dict() == expected.fit(train_values).to_dict()
    assert data.tokenizer.train_max_[0] == np.nanmax(train_values[:, 0])
    assert np.nanmax(data.splits["validation"].metafeatures[:, 0]) > 5
    names = [set(s.datasets) for s in data.splits.values()]
    assert not (names[0] & names[1] or names[0] & names[2] or names[1] & names[2])
    # A failed pipeline keeps the protocol's score (chance level in a real corpus) as a
    # target; only its fit time is unobserved.
    table = pd.read_parquet(corpus / "corpus.parquet")
    train_rows = table[table["split"] == "train"]
    failed = train_rows[[f"status.{p}" for p in PIPELINE_NAMES]].to_numpy() != "ok"
    stored = train_rows[[f"score.{p}" for p in PIPELINE_NAMES]].to_numpy()
    assert failed.any() and data.splits["train"].score_mask.all()
    np.testing.assert_array_equal(data.splits["train"].scores[failed], stored[failed])
    assert not data.splits["train"].fit_time_mask[failed].any()


def test_manifest_must_match_the_code(corpus, tmp_path):
    import shutil

    shutil.copytree(corpus, tmp_path / "c")
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    manifest["pipelines"] = manifest["pipelines"][:-1] + ["xgboost"]
    (tmp_path / "c" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="pipelines differ from.*xgboost"):
        CorpusData.load(tmp_path / "c")


def test_sampler_is_deterministic_and_sharded():
    shards = [BatchSampler(10, seed=3, rank=r, world_size=2) for r in range(2)]
    a, b = shards[0].order(4), shards[1].order(4)
    assert not set(a) & set(b) and len(a) == len(b) == 5
    assert (shards[0].order(4) == a).all() and not (shards[0].order(5) == a).all()
    position, seen = DataPosition(), []
    for _ in range(3):
        indices, position = shards[0].take(position, 2)
        seen.append(indices)
    assert position == DataPosition(epoch=1, cursor=2)  # the 5th of each epoch is dropped
    assert (np.concatenate(seen[:2]) == shards[0].order(0)[:4]).all()
    assert (seen[2] == shards[0].order(1)[:2]).all()


def test_collator_builds_targets(corpus):
    data = CorpusData.load(corpus, n_bins=8)
    split, tok = data.splits["train"], data.tokenizer
    batch = Collator(tok, architecture="encoder-decoder", mlm_probability=0.3)(
        split, np.arange(8), seed=1)
    masked = batch["token_labels"] != IGNORE_INDEX
    assert masked.any() and not masked[:, 0].any()
    assert (batch["masked_input_ids"][masked] == tok.mask_id).all()
    assert (batch["token_labels"][masked] == batch["input_ids"][masked]).all()
    order = batch["decoder_input_ids"][:, 1:] - tok.pipeline_token_offset
    true = torch.gather(torch.as_tensor(np.nan_to_num(split.scores[:8], nan=-1.0)), 1, order)
    assert (true[:, :-1] >= true[:, 1:]).all()  # best first, failed last
    assert (batch["decoder_input_ids"][:, 0] == tok.bos_id).all()
    assert (batch["decoder_labels"][:, -1] == tok.eos_id).all()
    decoder = Collator(tok, architecture="decoder", mlm_probability=0.3)(
        split, np.arange(8), seed=1)
    assert (decoder["token_labels"][:, :-1] == decoder["input_ids"][:, 1:]).all()
    assert (decoder["masked_input_ids"] == decoder["input_ids"]).all()
    # The values' positions in their bins come from the same vectors as the ids; a masked
    # token's value is 0, as a missing one's, so the value channel does not reveal it.
    expected = torch.as_tensor(tok.encode_values(split.metafeatures[:8]), dtype=torch.float32)
    assert batch["values"].dtype == torch.float32
    assert torch.equal(batch["values"], expected) and torch.equal(decoder["values"], expected)
    assert (batch["masked_values"][masked] == 0).all() and (batch["values"][masked] > 0).any()
    assert torch.equal(batch["masked_values"][~masked], batch["values"][~masked])
    assert torch.equal(decoder["masked_values"], decoder["values"])


# --------------------------------------------------------------------------------- losses


def test_losses_ignore_unobserved_scores():
    target = torch.tensor([[0.9, 0.5, 0.7]])
    mask = torch.tensor([[True, False, True]])
    mean = torch.tensor([[0.9, 123.0, 0.7]])
    assert float(score_nll(mean, torch.zeros(1, 3), target, mask)) == 0.0
    assert float(listwise_ranking(mean, target, mask, 0.05)) == pytest.approx(0.0, abs=1e-6)
    swapped = torch.tensor([[0.7, 0.0, 0.9]])
    assert float(listwise_ranking(swapped, target, mask, 0.05)) > 1.0


# --------------------------------------------------------------------------------- config


@pytest.mark.parametrize("make, match", [
    (lambda: OptimConfig(warmup_steps=10, max_steps=5), "warmup_steps"),
    (lambda: OptimConfig(batch_size=8, batch_size_schedule=(16, 10)), "ramp only grows"),
    (lambda: ModelOptions(d_model=30, n_heads=4), "must be divisible by n_heads"),
    (lambda: ModelOptions(n_bins=1), "n_bins must be an int >= 2"),
    (lambda: TrainConfig(distributed="mpi"), "distributed must be one of"),
    (lambda: GuardConfig(lr_backoff=0.0), "lr_backoff"),
])
def test_config_rejects_bad_values(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_model_options_are_the_network_options_plus_the_bins():
    """pretrain's model options are skllmselect's NetworkOptions (fields and checks) plus
    n_bins, and the evaluate CLI takes exactly those keys."""
    from pretrain.__main__ import main

    network = [f.name for f in dataclasses.fields(NetworkOptions)]
    assert [f.name for f in dataclasses.fields(ModelOptions)] == [*network, "n_bins"]
    with pytest.raises(ValueError, match="needs an even head dimension"):
        ModelOptions(d_model=12, n_heads=4, positions="rope")  # a check written only there
    options = ModelOptions(d_model=16, n_heads=2, activation="swiglu", n_bins=8)
    config = ModelConfig(vocab_size=40, sequence_length=5, n_pipelines=3,
                         **options.network_options())
    assert config.network_options() == options.network_options()
    assert main(["evaluate", "--out", "unused", "--model-option", "colour=red"]) == 2
    assert main(["train", "--out", "unused", "--model-option", "colour=red"]) == 2
    assert main(["evaluate", "--out", "unused", "--objective-option", "d_model=64"]) == 2
    assert main(["train", "--out", "unused", "--objective-option", "ranking_weight"]) == 2


def test_train_command_takes_model_options(corpus, tmp_path):
    from pretrain.__main__ import main

    assert main(["train", "--preset", "debug", "--corpus", str(corpus), "--out", str(tmp_path),
                 "--max-steps", "3", "--no-progress", "--model-option", "value_channel=true",
                 "--model-option", "d_model=16"]) == 0
    saved = json.loads((tmp_path / "model" / "config.json").read_text())
    assert saved["value_channel"] is True and saved["d_model"] == 16


def test_train_command_takes_objective_options(corpus, tmp_path):
    from pretrain.__main__ import main

    assert main(["train", "--preset", "debug", "--corpus", str(corpus), "--out", str(tmp_path),
                 "--max-steps", "2", "--no-progress", "--objective-option",
                 "ranking_temperature=0.01", "--objective-option", "mlm_weight=0"]) == 0
    objective = json.loads((tmp_path / "summary.json").read_text())["config"]["objective"]
    assert objective["ranking_temperature"] == 0.01 and objective["mlm_weight"] == 0
    assert objective["score_weight"] == ObjectiveConfig().score_weight  # the rest kept


def test_config_round_trips_through_a_dict():
    from pretrain import presets

    for preset in presets.PRESETS.values():
        config = preset(out_dir="x")
        assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
        assert config.out_dir == "x"


def test_the_best_validation_model_is_kept(trained):
    config, summary = trained
    evals = [r for r in read_metrics(config.out_dir, "eval") if r.get("n_datasets")]
    best = min(evals, key=lambda r: (r["val_regret"], r["val_loss"]))
    assert len(evals) >= 2 and summary["best_step"] == best["step"]
    model = SelectorTransformer.from_pretrained(Path(config.out_dir) / "best_model")
    assert model.config.pipeline_names == list(PIPELINE_NAMES)
