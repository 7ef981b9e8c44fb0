"""dlbook.utils: seeding, device, Colab detection, parameter counts."""
from __future__ import annotations

import os
import random

import numpy as np
import torch

import dlbook.nn as nn
import dlbook.random
from dlbook.utils import device_report, get_device, in_colab, num_params, seed_everything


def draws() -> dict[str, object]:
    return {"python": [random.random() for _ in range(3)],
            "numpy": np.random.rand(3).tolist(),
            "dlbook": dlbook.random.default_generator().standard_normal(3).tolist(),
            "dlbook_init": nn.Linear(3, 2).weight.data.tolist(),
            "torch": torch.randn(3).tolist()}


def test_seeding_twice_gives_identical_draws(monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)  # restored afterwards
    seed_everything(123)
    first = draws()
    seed_everything(123)
    assert draws() == first
    seed_everything(124)
    other = draws()
    assert all(other[k] != first[k] for k in first)


def test_seed_everything_asks_torch_for_determinism(monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    seed_everything(0)  # conftest restores torch's flags after this test
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.is_deterministic_algorithms_warn_only_enabled()
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"


def test_get_device_follows_torch():
    assert get_device() == ("cuda" if torch.cuda.is_available() else "cpu")


def test_device_report_names_the_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device_report() == "torch sees no GPU: parity checks and torch training run on the CPU"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: "NVIDIA H100")
    report = device_report()
    assert report.startswith("torch sees a GPU (NVIDIA H100): parity checks also run on it")


def test_device_report_is_masked_for_nbval():
    import re
    from pathlib import Path

    cfg = (Path(__file__).resolve().parents[1] / "nbval_sanitize.cfg").read_text().splitlines()
    pairs = [(a[len("regex: "):], b[len("replace: "):])
             for a, b in zip(cfg, cfg[1:], strict=False)
             if a.startswith("regex: ") and b.startswith("replace: ")]
    lines = ["torch sees no GPU: parity checks and torch training run on the CPU",
             "torch sees a GPU (NVIDIA H100): parity checks also run on it; torch training "
             "stays on the CPU so the numbers match the book"]
    masked = set()
    for line in lines:
        for regex, replace in pairs:
            line = re.sub(regex, replace, line)
        masked.add(line)
    assert masked == {"DEVICE-REPORT"}


def test_in_colab(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    assert in_colab() is False
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20250101")
    assert in_colab() is True


def test_num_params_for_dlbook_and_torch():
    ours = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10, bias=False))
    theirs = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(),
                                 torch.nn.Linear(32, 10, bias=False))
    expected = 64 * 32 + 32 + 32 * 10
    assert num_params(ours) == num_params(theirs) == expected
    ours[0].bias.requires_grad = False
    theirs[0].bias.requires_grad_(False)
    assert num_params(ours, trainable_only=True) == expected - 32
    assert num_params(theirs, trainable_only=True) == expected - 32
