"""Parallel training: 2 processes under torchrun (gloo, CPU) compute what one does."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pretrain import checkpoint, distributed, parallel_costs, pipeline, tensor_parallel
from pretrain.batches import BatchSampler, DataPosition
from pretrain.train import read_metrics, train
from skllmselect.model import ModelConfig, SelectorTransformer
from tests.helpers import losses, tiny, write_corpus

WORKER = Path(__file__).with_name("distributed_worker.py")
STEPS = 12


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"))


def config_for(corpus, out, *, batch_size, **changes):
    config = tiny(corpus, out, steps=STEPS, checkpoint_every=6, **changes)
    optim = dataclasses.replace(config.optim, batch_size=batch_size)
    return dataclasses.replace(config, optim=optim)


def torchrun(config, tmp_path) -> None:
    path = tmp_path / f"{config.distributed}.json"
    path.write_text(json.dumps(config.to_dict()))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(WORKER.parent.parent)}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
         "2", str(WORKER), str(path)],
        env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def single(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("single")
    config = config_for(corpus, out, batch_size=16)
    train(config, resume=False)
    return out


def test_ranks_together_see_the_single_process_batch():
    one = BatchSampler(40, seed=5)
    ranks = [BatchSampler(40, seed=5, rank=r, world_size=2) for r in range(2)]
    position, positions = DataPosition(), [DataPosition(), DataPosition()]
    for _ in range(7):  # crosses an epoch boundary
        indices, position = one.take(position, 8)
        parts = []
        for r, sampler in enumerate(ranks):
            part, positions[r] = sampler.take(positions[r], 4)
            parts.append(part)
        assert sorted(np.concatenate(parts)) == sorted(indices)


@pytest.mark.parametrize("strategy", ["ddp", "zero1", "fsdp"])
def test_two_processes_match_one(strategy, corpus, single, tmp_path):
    out = tmp_path / strategy
    torchrun(config_for(corpus, out, batch_size=8, distributed=strategy), tmp_path)
    expected, got = losses(single), losses(out)
    assert [s for s, _ in got] == [s for s, _ in expected] == list(range(1, STEPS + 1))
    # Not bit for bit: the masked-token mean is taken per rank (a few more masked tokens on
    # one rank weigh a little less), and gloo sums in another order. Measured: 2e-4 at most
    # (FSDP2 too, once its step-0 checkpoint stopped advancing Adam's step counter).
    np.testing.assert_allclose([v for _, v in got], [v for _, v in expected], rtol=1e-3)
    final = {name: read_metrics(run, "eval")[-1] for name, run in (("one", single),
                                                                   ("two", out))}
    for key in ("val_loss", "val_score", "val_mlm", "val_spearman"):
        assert final["two"][key] == pytest.approx(final["one"][key], rel=1e-3)
    # Parameters are not compared: Adam divides by sqrt(v), so the rows of rarely seen
    # tokens, whose gradients are near zero, amplify those 1e-4 differences to O(lr).
    # Only rank 0 wrote: one metrics file, one row per step.
    assert len([r for r in read_metrics(out, "train") if "loss" in r]) == STEPS
    assert (out / "model" / "model.safetensors").is_file()  # gathered and exported


@pytest.fixture(scope="module")
def single_two_layers(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("single_two_layers")
    train(config_for(corpus, out, batch_size=8, **TWO_LAYERS), resume=False)
    return out


#: Pipeline parallelism needs a block per stage; tiny() has one. With the value channel on,
#: the values must reach the first stage (PP) and the whole embedding on every rank (TP).
TWO_LAYERS = {"model": dataclasses.replace(tiny("", "").model, n_layers=2, value_channel=True)}


@pytest.mark.parametrize("strategy", ["tp", "pp"])
def test_model_parallel_two_processes_match_one(strategy, corpus, single_two_layers, tmp_path):
    """Both ranks read the one-process batch (8 datasets): TP splits every layer by heads,
    PP the two blocks into two stages and each batch into 4 micro-batches of 2."""
    out = tmp_path / strategy
    torchrun(config_for(corpus, out, batch_size=8, distributed=strategy, **TWO_LAYERS),
             tmp_path)
    expected, got = losses(single_two_layers), losses(out)
    assert [s for s, _ in got] == [s for s, _ in expected] == list(range(1, STEPS + 1))
    # The same sums in another order: TP adds the heads' partial outputs by all-reduce, PP
    # adds the micro-batches' shares of each masked mean. Measured: 5e-7 at most (float32
    # rounding of losses near 5); 1e-5 leaves room for another machine's summation order
    # and still fails on any real difference (a dropped micro-batch or head moves it 1e-2).
    np.testing.assert_allclose([v for _, v in got], [v for _, v in expected], rtol=1e-5)
    final = {name: read_metrics(run, "eval")[-1]
             for name, run in (("one", single_two_layers), ("two", out))}
    for key in ("val_loss", "val_score", "val_mlm", "val_spearman"):
        assert final["two"][key] == pytest.approx(final["one"][key], rel=1e-5)
    # The gathered checkpoint and export are one process's: plain tensors, full shapes,
    # loadable by the one-process model.
    state = checkpoint.load(checkpoint.latest(out), map_location="cpu")["model"]
    reference = checkpoint.load(checkpoint.latest(single_two_layers), map_location="cpu")
    assert {k: tuple(v.shape) for k, v in state.items()} == {
        k: tuple(v.shape) for k, v in reference["model"].items()}
    model = SelectorTransformer.from_pretrained(out / "model")
    model.load_state_dict(state)


def test_tensor_parallelism_refuses_heads_it_cannot_split():
    config = ModelConfig(vocab_size=64, sequence_length=9, n_pipelines=4, d_model=24,
                         n_heads=3)
    with pytest.raises(ValueError, match="n_heads=3 is not divisible by 2"):
        tensor_parallel.check_model(config, 2)
    with pytest.raises(ValueError, match="alibi"):
        tensor_parallel.check_model(dataclasses.replace(config, positions="alibi"), 3)


def test_a_pipeline_needs_a_block_per_stage():
    model = SelectorTransformer(ModelConfig(vocab_size=64, sequence_length=9, n_pipelines=4,
                                            d_model=16, n_heads=2, n_layers=2))
    with pytest.raises(ValueError, match="at least 3 blocks"):
        pipeline._Stage(model, 0, 3)


def test_micro_batches_cut_the_batch_into_equal_parts():
    assert [pipeline.microbatches_for(b, 4) for b in (8, 9, 7, 2, 12)] == [4, 3, 1, 2, 4]


def test_micro_batch_losses_sum_to_the_batch_loss(corpus):
    """What makes PP's loss one process's: each micro-batch's parts, scaled by its share of
    the batch's terms, add up to the batch's masked means, for every part."""
    from pretrain.batches import Collator, CorpusData
    from pretrain.config import ObjectiveConfig
    from pretrain.losses import compute_losses, term_counts
    from skllmselect.model import SelectorOutput

    data = CorpusData.load(corpus, n_bins=8)
    split = data.splits["train"]
    collator = Collator(data.tokenizer, architecture="encoder", mlm_probability=0.3)
    batch = collator(split, np.arange(9), seed=1)
    generator = torch.Generator().manual_seed(0)
    B, P, L = batch["scores"].shape[0], batch["scores"].shape[1], batch["input_ids"].shape[1]
    V = data.tokenizer.vocab_size
    output = SelectorOutput(*(torch.randn(*shape, generator=generator)
                              for shape in ((B, P), (B, P), (B, P), (B, L, V))))
    objective = ObjectiveConfig()
    whole = compute_losses(output, batch, objective)
    pieces = [compute_losses(SelectorOutput(*(t[rows] for t in (
        output.scores, output.score_log_var, output.log_fit_time, output.token_logits))),
        {k: v[rows] for k, v in batch.items()}, objective, batch_counts=term_counts(batch))
        for rows in torch.arange(B).tensor_split(3)]
    for name, value in whole.items():
        assert sum(p[name] for p in pieces) == pytest.approx(float(value), rel=1e-5), name
    # Not a sum that holds anyway: the plain mean of the pieces' means differs.
    plain = [compute_losses(SelectorOutput(*(t[rows] for t in (
        output.scores, output.score_log_var, output.log_fit_time, output.token_logits))),
        {k: v[rows] for k, v in batch.items()}, objective)["mlm"]
        for rows in torch.arange(B).tensor_split(3)]
    assert float(sum(plain)) / 3 != pytest.approx(float(whole["mlm"]), rel=1e-4)


def test_without_torchrun_a_strategy_warns_and_runs_one_process(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    with pytest.warns(UserWarning, match="not launched by torchrun"):
        parallel = distributed.setup("ddp", "cpu")
    assert parallel.world_size == 1 and parallel.is_main and parallel.strategy == "none"


def test_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="must be one of"):
        distributed.setup("zero3", "cpu")


def test_the_docs_scaling_table_is_the_computed_one():
    page = (WORKER.parent.parent / "docs" / "pretraining.md").read_text(encoding="utf-8")
    assert parallel_costs.markdown() in page, "run python -m pretrain.parallel_costs"
