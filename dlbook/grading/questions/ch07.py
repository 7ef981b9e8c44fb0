"""Chapter 7 exercises: the backward pass of a residual block, the cost of MobileNetV2's
inverted-residual block (a block the chapter does not build), and the receptive field of a
stack of convolutions.

Every reference here is independent of solutions/ch07_modern_cnn.ipynb and of ``dlbook``:
torch autograd for the residual block; for the inverted residual, torch's layers counted,
the multiply-adds read off each convolution's output by a forward hook and the shortcut
from whether the output has the input's shape; for the receptive field the input gradient
of one output of a torch convolution stack with all-ones weights (the first and last input
positions that output depends on).
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

# -- ch07.inverted_residual_cost ----------------------------------------------------------------
# MobileNetV2's inverted-residual block, as torchvision builds it (Sandler et al. 2018): with
# hidden = t * c_in, [1x1 conv c_in -> hidden, BN, ReLU6] (left out when t = 1), 3x3
# depthwise conv (stride s, padding 1, groups = hidden), BN, ReLU6, 1x1 conv hidden -> c_out,
# BN (linear); convolutions without bias; an identity shortcut only where stride 1 and
# c_in == c_out. The chapter counts only the depthwise-separable unit (7.4).

IR_EXPAND_AT_T1 = ("with t = 1 the block has no expansion layer (hidden = c_in, nothing to "
                   "expand): count the depthwise and the projection only")
IR_DEPTHWISE_FULL = ("the depthwise 3x3 convolution is counted as a full one: with "
                     "groups = hidden each of its hidden filters sees one channel, "
                     "9 weights each, not 9 * hidden")
IR_NO_BATCHNORM = ("the BatchNorm layers are missing from params: each of them has a weight "
                   "and a bias per channel (2 * channels), after every convolution")
IR_STRIDE_IGNORED = ("macs treat every layer at the input's h x w: the depthwise convolution "
                     "has stride s, so it and the projection produce ceil(h/s) x ceil(w/s) "
                     "positions")
IR_STRIDE_EARLY = ("macs run the expansion at the output's size: the 1x1 expansion comes "
                   "before the strided depthwise convolution, so it sees all h x w positions")
IR_SHORTCUT_CHANNELS = ("the shortcut needs equal shapes: stride 1 *and* c_in == c_out "
                        "(x + F(x) cannot add maps with different channels)")
IR_SHORTCUT_STRIDE = ("the shortcut needs equal shapes: stride 1 *and* c_in == c_out (a "
                      "stride-2 block halves the map, so x and F(x) differ in size)")
IR_HIDDEN_FROM_OUT = ("the expansion multiplies the block's *input* channels: hidden = t * "
                      "c_in, not t * c_out")


def _ir_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    if suite == "public":  # every rule is exercised: t = 1, stride 2 with odd sizes, shortcuts
        rows = [(24, 24, 6, 1, 14, 14), (16, 24, 6, 2, 7, 9), (32, 32, 1, 1, 5, 5),
                (8, 16, 4, 1, 6, 4), (12, 12, 3, 2, 5, 8)]
    else:
        assert rng is not None
        c_in, c_out = (int(v) for v in rng.integers(1, 97, size=2))
        c_same = int(rng.integers(1, 97))
        t_draw = [int(v) for v in rng.choice([2, 3, 4, 6], size=2)]
        h, w = (int(v) for v in rng.integers(1, 31, size=2))
        rows = [(c_in, c_out, t_draw[0], int(rng.integers(1, 3)), h, w),
                (c_same, c_same, t_draw[1], 1, w, h),                    # a shortcut
                (c_out, c_in, 1, 2, int(rng.integers(1, 31)), int(rng.integers(1, 31)))]
    return [Case(dict(zip(("c_in", "c_out", "t", "stride", "h", "w"), row, strict=True)))
            for row in rows]


def _ir_reference(c_in: int, c_out: int, t: int, stride: int, h: int, w: int
                  ) -> dict[str, Any]:
    """torch's layers counted, multiply-adds read off each convolution's output by a hook."""
    import torch

    hidden = c_in * t
    layers: list[torch.nn.Module] = []
    if t != 1:
        layers += [torch.nn.Conv2d(c_in, hidden, 1, bias=False), torch.nn.BatchNorm2d(hidden),
                   torch.nn.ReLU6()]
    layers += [torch.nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
               torch.nn.BatchNorm2d(hidden), torch.nn.ReLU6(),
               torch.nn.Conv2d(hidden, c_out, 1, bias=False), torch.nn.BatchNorm2d(c_out)]
    block = torch.nn.Sequential(*layers)
    macs = []

    def hook(conv: torch.nn.Conv2d, _: Any, out: torch.Tensor) -> None:
        per_output = conv.weight[0].numel()  # (c_in / groups) * k * k products per output
        macs.append(out[0].numel() * per_output)

    for layer in block:
        if isinstance(layer, torch.nn.Conv2d):
            layer.register_forward_hook(hook)
    x = torch.zeros(1, c_in, h, w)
    with torch.no_grad():
        y = block(x)
    return {"params": np.int64(sum(p.numel() for p in block.parameters())),
            "macs": np.int64(sum(macs)), "shortcut": bool(y.shape == x.shape)}


def _ir_costs(c_in, c_out, t, stride, h, w, expand_at_t1=False, depthwise_full=False,
              batchnorm=True, stride_at="depthwise", shortcut="shapes", hidden_from="in"
              ) -> dict[str, Any]:
    hidden = (c_in if hidden_from == "in" else c_out) * t
    h_out, w_out = -(-h // stride), -(-w // stride)
    expand = t != 1 or expand_at_t1
    depthwise = 9 * hidden * (hidden if depthwise_full else 1)
    weights = (c_in * hidden if expand else 0) + depthwise + hidden * c_out
    norms = 2 * ((hidden if expand else 0) + hidden + c_out) if batchnorm else 0
    at_in, at_out = h * w, h_out * w_out
    if stride_at == "nowhere":
        at_out = at_in
    elif stride_at == "first":
        at_in = at_out
    macs = (at_in * c_in * hidden if expand else 0) + at_out * (depthwise + hidden * c_out)
    rule = {"shapes": stride == 1 and c_in == c_out, "stride only": stride == 1,
            "channels only": c_in == c_out}[shortcut]
    return {"params": weights + norms, "macs": macs, "shortcut": rule}


def _ir_only(names: tuple[str, ...], **changes: Any) -> Any:
    """A mutant with ``changes`` that reports only the outputs ``names`` it changes."""
    return lambda **a: {k: v for k, v in _ir_costs(**a, **changes).items() if k in names}


_ir_catalogue = _catalogue(lambda **a: _ir_costs(**a), [
    (IR_EXPAND_AT_T1, _ir_only(("params", "macs"), expand_at_t1=True)),
    (IR_HIDDEN_FROM_OUT, _ir_only(("params", "macs"), hidden_from="out")),
    (IR_DEPTHWISE_FULL, _ir_only(("params", "macs"), depthwise_full=True)),
    (IR_NO_BATCHNORM, _ir_only(("params",), batchnorm=False)),
    (IR_STRIDE_IGNORED, _ir_only(("macs",), stride_at="nowhere")),
    (IR_STRIDE_EARLY, _ir_only(("macs",), stride_at="first")),
    (IR_SHORTCUT_CHANNELS, _ir_only(("shortcut",), shortcut="stride only")),
    (IR_SHORTCUT_STRIDE, _ir_only(("shortcut",), shortcut="channels only")),
])

register(Question(
    id="ch07.inverted_residual_cost",
    points=3,
    description=("Parameters, multiply-adds and shortcut of MobileNetV2's inverted-residual "
                 "block."),
    signature="inverted_residual_cost(c_in, c_out, t, stride, h, w) -> (params, macs, shortcut)",
    outputs=("params", "macs", "shortcut"),
    **split_suites(_ir_cases),
    reference=_ir_reference,
    requirements=(_ir_catalogue,),
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
