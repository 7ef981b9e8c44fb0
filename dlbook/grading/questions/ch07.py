"""Chapter 7 exercises: the backward pass of a residual block, the parameters of a
depthwise-separable convolution, and the receptive field of a stack of convolutions.

Every reference here is independent of solutions/ch07_modern_cnn.ipynb and of ``dlbook``:
torch autograd for the residual block, torch's own layers counted for the parameters, and
for the receptive field the input gradient of one output of a torch convolution stack with
all-ones weights (the first and last input positions that output depends on).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.grading.questions.catalogue import catalogue as _catalogue
from dlbook.grading.registry import Case, Question, register, split_suites

# -- the catalogue of common mistakes (issue 19) ------------------------------------------------
# The requirement recomputes the answer with one named mistake (a mutant) and, when the
# student's outputs equal a mutant's and not the right answer, names the mistake.
# tests/grading/test_catalogue_ch07_ch11.py plants each one.

RES_SHORTCUT_UNMASKED = ("the shortcut's gradient skips the outer ReLU: both paths start from "
                         "g_z = grad_out * (z > 0), z = x + relu(x W1^T) W2^T, so "
                         "grad_x = g_z + (the branch's gradient), not grad_out + ...")
RES_NO_SHORTCUT = ("grad_x has only the branch's gradient: the identity path adds g_z "
                   "(= grad_out * (z > 0)) to grad_x")
RES_INNER_UNMASKED = ("the branch's inner ReLU is not in the gradient: multiply g_z W2 by "
                      "(x W1^T > 0) before it reaches W1 and x")
RES_OUTER_UNMASKED = ("the outer ReLU is not in the gradient: y = relu(z), so every path starts "
                      "from grad_out * (z > 0)")

# -- ch07.residual_backward ---------------------------------------------------------------------


def _residual_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    rng = np.random.default_rng(71) if rng is None else rng
    shapes = {"public": [(4, 3, 5), (1, 2, 2), (6, 5, 3)], "hidden": [(3, 7, 4), (2, 1, 6)]}
    cases = []
    for n, d, h in shapes[suite]:
        dtype = np.float32 if (n, d, h) == (6, 5, 3) else np.float64
        cases.append(Case({"x": rng.normal(size=(n, d)).astype(dtype),
                           "W1": rng.normal(size=(h, d)).astype(dtype),
                           "W2": rng.normal(size=(d, h)).astype(dtype),
                           "grad_out": rng.normal(size=(n, d)).astype(dtype)}))
    return cases


def _residual_reference(x: np.ndarray, W1: np.ndarray, W2: np.ndarray,
                        grad_out: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    xt, w1, w2 = (torch.tensor(a, requires_grad=True) for a in (x, W1, W2))
    y = torch.relu(xt + torch.relu(xt @ w1.T) @ w2.T)
    y.backward(torch.tensor(grad_out))
    return {"grad_x": xt.grad.numpy(), "grad_W1": w1.grad.numpy(), "grad_W2": w2.grad.numpy()}


def _residual_grads(x, W1, W2, grad_out, outer=True, inner=True, shortcut="masked"
                    ) -> dict[str, Any]:
    a = x @ W1.T
    h = np.maximum(a, 0)
    g_z = grad_out * (x + h @ W2.T > 0) if outer else grad_out
    g_a = (g_z @ W2) * (a > 0) if inner else g_z @ W2
    identity = {"masked": g_z, "unmasked": grad_out, "none": 0}[shortcut]
    return {"grad_x": identity + g_a @ W1, "grad_W1": g_a.T @ x, "grad_W2": g_z.T @ h}


def _only(names: tuple[str, ...], **changes: Any) -> Any:
    """A mutant with ``changes`` that reports only the outputs ``names`` it changes."""
    return lambda **a: {k: v for k, v in _residual_grads(**a, **changes).items() if k in names}


_residual_catalogue = _catalogue(lambda **a: _residual_grads(**a), [
    (RES_SHORTCUT_UNMASKED, _only(("grad_x",), shortcut="unmasked")),
    (RES_NO_SHORTCUT, _only(("grad_x",), shortcut="none")),
    (RES_INNER_UNMASKED, _only(("grad_x", "grad_W1"), inner=False)),
    (RES_OUTER_UNMASKED, _only(("grad_x", "grad_W1", "grad_W2"), outer=False)),
])

register(Question(
    id="ch07.residual_backward",
    points=4,
    description="Gradients of y = relu(x + relu(x W1^T) W2^T), a residual block of two layers.",
    signature="residual_backward(x, W1, W2, grad_out) -> (grad_x, grad_W1, grad_W2)",
    outputs=("grad_x", "grad_W1", "grad_W2"),
    **split_suites(_residual_cases),
    reference=_residual_reference,
    requirements=(_residual_catalogue,),
    needs=("torch",),
))

# -- ch07.separable_params ----------------------------------------------------------------------


def _separable_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    triples = {"public": [(32, 64, 3), (1, 1, 1), (16, 8, 5)]}
    if suite == "hidden":
        triples["hidden"] = [(int(a), int(b), int(k)) for a, b, k in zip(
            rng.integers(1, 129, size=2), rng.integers(1, 129, size=2),
            rng.choice([1, 3, 5, 7], size=2), strict=True)]
    return [Case({"c_in": c_in, "c_out": c_out, "k": k}) for c_in, c_out, k in triples[suite]]


def _separable_reference(c_in: int, c_out: int, k: int) -> dict[str, np.ndarray]:
    import torch

    layers = torch.nn.Sequential(torch.nn.Conv2d(c_in, c_in, k, groups=c_in, bias=False),
                                 torch.nn.Conv2d(c_in, c_out, 1, bias=False))
    return {"count": np.int64(sum(p.numel() for p in layers.parameters()))}


register(Question(
    id="ch07.separable_params",
    points=2,
    description="Weights of a depthwise k x k then pointwise 1 x 1 convolution (no biases).",
    signature="separable_params(c_in, c_out, k) -> count",
    outputs=("count",),
    **split_suites(_separable_cases),
    reference=_separable_reference,
    needs=("torch",),
))

# -- ch07.receptive_field -----------------------------------------------------------------------


def _field_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    stacks = {"public": [([3, 3], [1, 1]), ([7, 3, 3], [2, 1, 1]), ([3, 3, 3], [2, 2, 2])]}
    if suite == "hidden":
        depths = rng.integers(1, 6, size=2)
        stacks["hidden"] = [([int(k) for k in rng.choice([1, 3, 5, 7, 11], size=d)],
                             [int(s) for s in rng.integers(1, 4, size=d)]) for d in depths]
    return [Case({"kernels": list(k), "strides": list(s)}) for k, s in stacks[suite]]


def _field_reference(kernels: list[int], strides: list[int]) -> dict[str, np.ndarray]:
    import torch

    size = 1
    for k, s in zip(reversed(kernels), reversed(strides), strict=True):
        size = (size - 1) * s + k  # only to make the input long enough; not the answer
    x = torch.zeros(1, 1, 4 * size + 8, requires_grad=True)
    h = x
    for k, s in zip(kernels, strides, strict=True):
        conv = torch.nn.Conv1d(1, 1, k, stride=s, bias=False)
        torch.nn.init.ones_(conv.weight)
        h = conv(h)
    h[0, 0, h.shape[-1] // 2].backward()
    seen = np.flatnonzero(x.grad[0, 0].numpy())
    return {"r": np.int64(seen[-1] - seen[0] + 1)}


register(Question(
    id="ch07.receptive_field",
    points=3,
    description="The span of input positions one output of a stack of 1-D convolutions sees.",
    signature="receptive_field(kernels, strides) -> r",
    outputs=("r",),
    **split_suites(_field_cases),
    reference=_field_reference,
    needs=("torch",),
))
