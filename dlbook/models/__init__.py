"""Whole networks, in NumPy (``dlbook.nn``) and in torch side by side, with the same parameter
names so that a ``state_dict`` loads from one into the other. torch is imported only inside
the functions that build torch models.
"""
from dlbook.models.gpt import TinyGPT, tiny_gpt_torch

__all__ = ["TinyGPT", "tiny_gpt_torch"]
