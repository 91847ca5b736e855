"""Run by `torchrun` in tests/test_distributed.py: train the config in argv[1] (JSON)."""

import json
import sys

import torch

from pretrain.config import TrainConfig
from pretrain.train import train

if __name__ == "__main__":
    torch.set_num_threads(1)
    with open(sys.argv[1]) as handle:
        train(TrainConfig.from_dict(json.load(handle)), resume=False)
