"""Chapter 6 exercises: im2col, a convolution's forward and backward passes through it, and the
max-pooling backward pass with torch's first-maximum tie rule.

Every reference here is independent of solutions/ch06_convolutions.ipynb and of
``dlbook.nn``: ``torch.nn.functional.unfold`` for im2col, ``torch.nn.functional.conv2d`` and
autograd for the convolution, ``torch.nn.functional.max_pool2d`` and autograd for pooling.
"""
from __future__ import annotations

import numpy as np

from dlbook.grading.registry import Case, Question, register, split_suites

# (N, C, H, W), C_out, kernel, stride, padding
_CONV_SPECS = {"public": [((1, 1, 5, 5), 1, 3, 1, 0), ((2, 3, 6, 5), 4, 3, 1, 1),
                          ((3, 2, 7, 7), 3, 2, 2, 0), ((1, 4, 4, 6), 2, 1, 1, 0)],
               "hidden": [((2, 2, 9, 8), 5, 3, 2, 1), ((4, 1, 5, 5), 2, 5, 1, 2)]}


def _conv_cases(suite: str, with_grad: bool, seed: int,
                rng: np.random.Generator | None = None) -> list[Case]:
    rng = np.random.default_rng(seed) if rng is None else rng
    cases = []
    for shape, c_out, k, stride, padding in _CONV_SPECS.get(suite, []):
        args = {"x": rng.normal(size=shape),
                "weight": rng.normal(size=(c_out, shape[1], k, k)),
                "bias": rng.normal(size=c_out), "stride": stride, "padding": padding}
        if with_grad:
            h_out = (shape[2] + 2 * padding - k) // stride + 1
            w_out = (shape[3] + 2 * padding - k) // stride + 1
            args = {"x": args["x"], "weight": args["weight"],
                    "grad_out": rng.normal(size=(shape[0], c_out, h_out, w_out)),
                    "stride": stride, "padding": padding}
        cases.append(Case(args))
    return cases


# -- ch06.im2col -------------------------------------------------------------------------------


def _im2col_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    return [Case({"x": c.args["x"], "kernel_size": c.args["weight"].shape[-1],
                  "stride": c.args["stride"], "padding": c.args["padding"]})
            for c in _conv_cases(suite, False, 61, rng)]


def _im2col_reference(x: np.ndarray, kernel_size: int, stride: int,
                      padding: int) -> dict[str, np.ndarray]:
    import torch

    cols = torch.nn.functional.unfold(torch.tensor(x), kernel_size, padding=padding,
                                      stride=stride)          # (N, C k k, L)
    return {"cols": cols.permute(1, 0, 2).reshape(cols.shape[1], -1).numpy()}


register(Question(
    id="ch06.im2col",
    points=2,
    description="im2col: every receptive field as a column, rows (c, i, j), columns (n, h, w).",
    signature="im2col(x, kernel_size, stride, padding) -> cols",
    outputs=("cols",),
    **split_suites(_im2col_cases),
    reference=_im2col_reference,
    needs=("torch",),
))

# -- ch06.conv_forward -------------------------------------------------------------------------


def _forward_reference(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, stride: int,
                       padding: int) -> dict[str, np.ndarray]:
    import torch

    out = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(weight), torch.tensor(bias),
                                     stride=stride, padding=padding)
    return {"out": out.numpy()}


register(Question(
    id="ch06.conv_forward",
    points=2,
    description="A 2-D convolution (cross-correlation) with stride and zero padding.",
    signature="conv_forward(x, weight, bias, stride, padding) -> out",
    outputs=("out",),
    **split_suites(lambda suite, rng: _conv_cases(suite, False, 62, rng)),
    reference=_forward_reference,
    needs=("torch",),
))

# -- ch06.conv_backward ------------------------------------------------------------------------


def _backward_reference(x: np.ndarray, weight: np.ndarray, grad_out: np.ndarray, stride: int,
                        padding: int) -> dict[str, np.ndarray]:
    import torch

    x_t, w_t = torch.tensor(x, requires_grad=True), torch.tensor(weight, requires_grad=True)
    b_t = torch.zeros(weight.shape[0], dtype=torch.float64, requires_grad=True)
    out = torch.nn.functional.conv2d(x_t, w_t, b_t, stride=stride, padding=padding)
    out.backward(torch.tensor(grad_out))
    return {"grad_x": x_t.grad.numpy(), "grad_weight": w_t.grad.numpy(),
            "grad_bias": b_t.grad.numpy()}


register(Question(
    id="ch06.conv_backward",
    points=3,
    description="The gradients of a convolution for its input, weight and bias.",
    signature="conv_backward(x, weight, grad_out, stride, padding) -> "
              "(grad_x, grad_weight, grad_bias)",
    outputs=("grad_x", "grad_weight", "grad_bias"),
    **split_suites(lambda suite, rng: _conv_cases(suite, True, 63, rng)),
    reference=_backward_reference,
    needs=("torch",),
))

# -- ch06.maxpool_backward ---------------------------------------------------------------------


def _pool_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    specs = {"public": [((1, 1, 4, 4), 2, False), ((2, 3, 6, 4), 2, True),
                        ((1, 2, 6, 6), 3, True)],
             "hidden": [((3, 1, 8, 6), 2, True), ((1, 1, 2, 2), 2, True)]}
    rng = np.random.default_rng(64) if rng is None else rng
    cases = []
    for shape, k, ties in specs.get(suite, []):
        x = rng.integers(0, 3, shape).astype(np.float64) if ties else rng.normal(size=shape)
        out_shape = (*shape[:2], shape[2] // k, shape[3] // k)
        cases.append(Case({"x": x, "grad_out": rng.normal(size=out_shape), "kernel_size": k}))
    return cases


def _pool_reference(x: np.ndarray, grad_out: np.ndarray,
                    kernel_size: int) -> dict[str, np.ndarray]:
    import torch

    x_t = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(x_t, kernel_size).backward(torch.tensor(grad_out))
    return {"grad_x": x_t.grad.numpy()}


register(Question(
    id="ch06.maxpool_backward",
    points=3,
    description="Max-pooling backward (stride = kernel): each window's gradient to its first "
                "maximum.",
    signature="maxpool_backward(x, grad_out, kernel_size) -> grad_x",
    outputs=("grad_x",),
    **split_suites(_pool_cases),
    reference=_pool_reference,
    needs=("torch",),
))
