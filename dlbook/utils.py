"""Notebook helpers: one ``seed_everything``, the device to use and a line saying so, Colab
detection, parameter counts.

torch is optional: it is imported inside the functions that use it, and only if installed.
"""
from __future__ import annotations

import os
import random
import sys
from typing import Any

import numpy as np

from dlbook import random as dlrandom

# cuBLAS needs this workspace setting for deterministic matmuls (CUDA >= 10.2).
CUBLAS_WORKSPACE_CONFIG = ":4096:8"


def seed_everything(seed: int) -> None:
    """Seed every random source a notebook uses, and ask torch for deterministic algorithms.

    Seeds Python's ``random``, NumPy's legacy global generator (``np.random.seed``) and
    dlbook's default generator (``dlbook.random.manual_seed``); if torch is installed, also
    ``torch.manual_seed`` (CPU and every GPU), turns on
    ``torch.use_deterministic_algorithms(True, warn_only=True)`` and cuDNN's deterministic
    mode, and sets ``CUBLAS_WORKSPACE_CONFIG`` (read when CUDA starts, so call this early).
    Code that takes an explicit ``np.random.Generator`` is unaffected: seed that yourself.
    """
    random.seed(seed)
    np.random.seed(seed)
    dlrandom.manual_seed(seed)
    try:
        import torch
    except ImportError:
        return
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE_CONFIG)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def get_device() -> str:
    """``"cuda"`` when torch is installed and sees a GPU, else ``"cpu"``."""
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def device_report() -> str:
    """One line for a chapter's first output: which device torch sees and what runs on it.

    ``dlbook.parity.compare`` runs the torch side on the GPU when torch sees one, so the
    parity checks prove equality there too; torch *training* in the chapters stays on the
    CPU, where seeded runs give the numbers the book prints and the bands its ``record``
    calls assert. (The nbval sanitize file masks this line, so the notebooks validate on
    either kind of machine.)
    """
    if get_device() == "cpu":
        return "torch sees no GPU: parity checks and torch training run on the CPU"
    import torch

    name = torch.cuda.get_device_name(0)
    return (f"torch sees a GPU ({name}): parity checks also run on it; torch training stays "
            "on the CPU so the numbers match the book")


def in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def num_params(module: Any, trainable_only: bool = False) -> int:
    """The number of scalar parameters of a dlbook or a torch module.

    With ``trainable_only``, parameters with ``requires_grad=False`` are not counted.
    """
    return sum(int(p.numel()) for p in module.parameters()
               if p.requires_grad or not trainable_only)
