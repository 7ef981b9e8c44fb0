"""Chapter 6 exercises: im2col, a convolution's forward and backward passes through it, and the
max-pooling backward pass with torch's first-maximum tie rule.

Every reference here is independent of solutions/ch06_convolutions.ipynb and of
``dlbook.nn``: ``torch.nn.functional.unfold`` for im2col, ``torch.nn.functional.conv2d`` and
autograd for the convolution, ``torch.nn.functional.max_pool2d`` and autograd for pooling.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dlbook.grading.questions.catalogue import catalogue as _catalogue
from dlbook.grading.registry import Case, Question, register, split_suites

# -- the catalogue of common mistakes (issue 18) ------------------------------------------------
# Each question's requirement recomputes the answer with one named mistake (a mutant) in NumPy
# and, when the student's outputs equal a mutant's and not the right answer, names the mistake.
# Entries are checked in the order the quantities are computed, so the first message points at
# the first wrong quantity. tests/grading/test_catalogue_ch04_06.py plants each mistake.


IM2COL_ROWS = ("the rows of cols are ordered (kernel row, kernel column, channel); they must be "
               "(channel, kernel row, kernel column), the order of weight.reshape(C_out, -1)")
IM2COL_COLS = ("the columns of cols are ordered (output row, output column, image); they must be "
               "(image, output row, output column)")


def _im2col(x, kernel_size, stride, padding):
    """Plain loops: cols[(c, i, j), (n, h, w)] = x_pad[n, c, h s + i, w s + j]."""
    k, s = kernel_size, stride
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, c, hp, wp = xp.shape
    h_out, w_out = (hp - k) // s + 1, (wp - k) // s + 1
    cols = np.zeros((c, k, k, n, h_out, w_out))
    for i in range(k):
        for j in range(k):
            cols[:, i, j] = xp[:, :, i:i + s * h_out:s, j:j + s * w_out:s].transpose(1, 0, 2, 3)
    return cols


def _im2col_mutant(order: str) -> Callable:
    def mutant(x, kernel_size, stride, padding):
        cols = _im2col(x, kernel_size, stride, padding)  # (c, i, j, n, h, w)
        if order == "rows":
            cols = cols.transpose(1, 2, 0, 3, 4, 5)
        else:
            cols = cols.transpose(0, 1, 2, 4, 5, 3)
        return {"cols": cols.reshape(np.prod(cols.shape[:3]), -1)}
    return mutant


_im2col_catalogue = _catalogue(
    lambda **a: {"cols": (lambda c: c.reshape(np.prod(c.shape[:3]), -1))(_im2col(**a))},
    [(IM2COL_ROWS, _im2col_mutant("rows")), (IM2COL_COLS, _im2col_mutant("cols"))])

CONV_FLIPPED = ("the kernel is flipped (a true convolution): deep-learning convolution is "
                "cross-correlation, y[h, w] = sum W[i, j] x[h + i, w + j], unflipped")
CONV_NO_BIAS = "the bias is missing: add bias[o] to every position of output channel o"


def _conv(x, weight, bias, stride, padding):
    c_out, _, k, _ = weight.shape
    cols = _im2col(x, k, stride, padding)
    n, h_out, w_out = cols.shape[3:]
    out = weight.reshape(c_out, -1) @ cols.reshape(-1, n * h_out * w_out) + bias[:, None]
    return out.reshape(c_out, n, h_out, w_out).transpose(1, 0, 2, 3)


_conv_catalogue = _catalogue(lambda **a: {"out": _conv(**a)}, [
    (CONV_FLIPPED, lambda weight, **a: {"out": _conv(weight=weight[:, :, ::-1, ::-1], **a)}),
    (CONV_NO_BIAS, lambda bias, **a: {"out": _conv(bias=0 * bias, **a)}),
])

CONV_GRAD_W_FLIPPED = ("grad_weight is flipped: it correlates the input with grad_out, "
                       "grad_W[o, c, i, j] = sum x_pad[n, c, h s + i, w s + j] g[n, o, h, w]")
CONV_GRAD_X_UNFLIPPED = ("grad_x is a correlation with the unflipped kernel: the input gradient "
                         "scatters each g back through W (col2im of W_mat^T G_mat), which as a "
                         "convolution uses the kernel rotated by 180 degrees")


def _conv_grads(x, weight, grad_out, stride, padding):
    c_out, c, k, _ = weight.shape
    cols = _im2col(x, k, stride, padding)
    n, h_out, w_out = cols.shape[3:]
    g = grad_out.transpose(1, 0, 2, 3).reshape(c_out, -1)
    grad_w = (g @ cols.reshape(c * k * k, -1).T).reshape(weight.shape)
    gcols = (weight.reshape(c_out, -1).T @ g).reshape(c, k, k, n, h_out, w_out)
    grad_pad = np.zeros((n, c, x.shape[2] + 2 * padding, x.shape[3] + 2 * padding))
    for i in range(k):
        for j in range(k):
            grad_pad[:, :, i:i + stride * h_out:stride, j:j + stride * w_out:stride] += \
                gcols[:, i, j].transpose(1, 0, 2, 3)
    grad_x = grad_pad[:, :, padding:padding + x.shape[2], padding:padding + x.shape[3]]
    return {"grad_x": grad_x, "grad_weight": grad_w, "grad_bias": grad_out.sum(axis=(0, 2, 3))}


_conv_backward_catalogue = _catalogue(lambda **a: _conv_grads(**a), [
    (CONV_GRAD_W_FLIPPED, lambda **a: {"grad_weight":
                                       _conv_grads(**a)["grad_weight"][:, :, ::-1, ::-1]}),
    (CONV_GRAD_X_UNFLIPPED, lambda weight, **a: {"grad_x": _conv_grads(
        weight=weight[:, :, ::-1, ::-1], **a)["grad_x"]}),
])

POOL_LAST = ("on a tie the gradient went to the LAST maximum; torch (and np.argmax) give it to "
             "the first one in row-major order")
POOL_ALL = ("on a tie every maximum got the window's gradient; it goes to one position, the "
            "first maximum, so that the gradient sums to grad_out")
POOL_SPLIT = ("on a tie the window's gradient was split among its maxima; torch gives all of it "
              "to the first maximum")


def _pool_grad(x, grad_out, kernel_size, stride=None, tie="first"):
    k = kernel_size
    s = k if stride is None else stride
    grad = np.zeros_like(x, dtype=np.float64)
    n_img, chans, h_out, w_out = grad_out.shape
    for n, c, h, w in np.ndindex(n_img, chans, h_out, w_out):
        window = x[n, c, h * s:h * s + k, w * s:w * s + k]
        at = np.argwhere(window == window.max())  # row-major order
        if tie == "all":
            targets, share = at, 1.0
        elif tie == "split":
            targets, share = at, 1.0 / len(at)
        else:
            targets, share = at[-1:] if tie == "last" else at[:1], 1.0
        for i, j in targets:
            grad[n, c, h * s + i, w * s + j] += share * grad_out[n, c, h, w]
    return {"grad_x": grad}


_pool_catalogue = _catalogue(lambda **a: _pool_grad(**a), [
    (POOL_LAST, lambda **a: _pool_grad(**a, tie="last")),
    (POOL_ALL, lambda **a: _pool_grad(**a, tie="all")),
    (POOL_SPLIT, lambda **a: _pool_grad(**a, tie="split")),
])

POOL_OVERLAP_ASSIGNED = ("where windows overlap, a pixel that is the maximum of several windows "
                         "must receive the SUM of their gradients (+=), not the last one (=)")


def _pool_assigned(x, grad_out, kernel_size, stride):
    k, s = kernel_size, stride
    grad = np.zeros_like(x, dtype=np.float64)
    for n, c, h, w in np.ndindex(grad_out.shape):
        window = x[n, c, h * s:h * s + k, w * s:w * s + k]
        i, j = np.unravel_index(np.argmax(window), window.shape)
        grad[n, c, h * s + i, w * s + j] = grad_out[n, c, h, w]
    return {"grad_x": grad}


_pool_overlap_catalogue = _catalogue(lambda **a: _pool_grad(**a), [
    (POOL_OVERLAP_ASSIGNED, _pool_assigned),
    (POOL_LAST, lambda **a: _pool_grad(**a, tie="last")),
    (POOL_ALL, lambda **a: _pool_grad(**a, tie="all")),
])

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
    requirements=(_im2col_catalogue,),
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
    requirements=(_conv_catalogue,),
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
    requirements=(_conv_backward_catalogue,),
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
    requirements=(_pool_catalogue,),
))

# -- ch06.maxpool_backward_overlap (a transfer) ---------------------------------------------------


def _overlap_case(rng: np.random.Generator, shape: tuple[int, ...], k: int, s: int,
                  ties: bool) -> Case:
    x = rng.integers(0, 3, shape).astype(np.float64) if ties else rng.normal(size=shape)
    out_shape = (*shape[:2], (shape[2] - k) // s + 1, (shape[3] - k) // s + 1)
    return Case({"x": x, "grad_out": rng.normal(size=out_shape), "kernel_size": k, "stride": s})


def _overlap_public() -> list[Case]:
    rng = np.random.default_rng(65)
    cases = [_overlap_case(rng, sh, k, s, t) for sh, k, s, t in
             [((1, 1, 5, 5), 3, 2, False), ((2, 2, 7, 6), 3, 2, True), ((1, 3, 6, 6), 2, 1, True),
              ((1, 1, 4, 4), 2, 2, True)]]
    centre = np.zeros((1, 1, 5, 5))
    centre[0, 0, 2, 2] = 9.0  # the maximum of all four 3x3 windows
    cases.append(Case({"x": centre, "grad_out": np.array([[[[1.0, 2.0], [3.0, 4.0]]]]),
                       "kernel_size": 3, "stride": 2}))
    return cases


def _overlap_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for ties in (True, False):
        k = int(rng.integers(2, 4))
        s = int(rng.integers(1, k))  # stride < kernel: the windows overlap
        h, w = (int(v) for v in rng.integers(k, 9, size=2))
        cases.append(_overlap_case(rng, (int(rng.integers(1, 3)), int(rng.integers(1, 3)), h, w),
                                   k, s, ties))
    return cases


def _overlap_reference(x: np.ndarray, grad_out: np.ndarray, kernel_size: int,
                       stride: int) -> dict[str, np.ndarray]:
    import torch

    x_t = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(x_t, kernel_size, stride=stride).backward(
        torch.tensor(grad_out))
    return {"grad_x": x_t.grad.numpy()}


register(Question(
    id="ch06.maxpool_backward_overlap",
    points=3,
    description="Max-pooling backward with overlapping windows (stride < kernel): gradients of "
                "windows sharing a maximum add up.",
    signature="maxpool_backward_overlap(x, grad_out, kernel_size, stride) -> grad_x",
    outputs=("grad_x",),
    public=_overlap_public,
    hidden=_overlap_hidden,
    reference=_overlap_reference,
    requirements=(_pool_overlap_catalogue,),
    needs=("torch",),
))

# -- ch06.avgpool_backward (find the bug) ---------------------------------------------------------

AVG_BY_K = ("each window's gradient was divided by k; an average over a k x k window divides by "
            "k * k, the number of pixels in it")
AVG_NOT_DIVIDED = ("each pixel got the whole window's gradient: the average divides it by the "
                   "k * k pixels of the window")


def _avg_grad(x, grad_out, kernel_size, divide=None):
    k = kernel_size
    d = k * k if divide is None else divide
    return {"grad_x": np.repeat(np.repeat(grad_out, k, axis=2), k, axis=3) / d}


_avg_catalogue = _catalogue(lambda **a: _avg_grad(**a), [
    (AVG_BY_K, lambda **a: _avg_grad(**a, divide=a["kernel_size"])),
    (AVG_NOT_DIVIDED, lambda **a: _avg_grad(**a, divide=1)),
])


def _avg_case(rng: np.random.Generator, shape: tuple[int, ...], k: int) -> Case:
    out_shape = (*shape[:2], shape[2] // k, shape[3] // k)
    return Case({"x": rng.normal(size=shape), "grad_out": rng.normal(size=out_shape),
                 "kernel_size": k})


def _avg_public() -> list[Case]:
    rng = np.random.default_rng(66)
    return [_avg_case(rng, sh, k) for sh, k in [((1, 1, 4, 4), 2), ((2, 3, 6, 6), 3),
                                                 ((1, 2, 4, 6), 2)]]


def _avg_hidden(rng: np.random.Generator) -> list[Case]:
    k = int(rng.integers(2, 4))
    return [_avg_case(rng, (int(rng.integers(1, 3)), int(rng.integers(1, 4)),
                            k * int(rng.integers(1, 4)), k * int(rng.integers(1, 4))), k)]


def _avg_reference(x: np.ndarray, grad_out: np.ndarray, kernel_size: int) -> dict[str, Any]:
    import torch

    x_t = torch.tensor(x, requires_grad=True)
    torch.nn.functional.avg_pool2d(x_t, kernel_size).backward(torch.tensor(grad_out))
    return {"grad_x": x_t.grad.numpy()}


register(Question(
    id="ch06.avgpool_backward",
    points=2,
    description="Find and fix the bug: average-pooling backward (stride = kernel).",
    signature="avgpool_backward(x, grad_out, kernel_size) -> grad_x",
    outputs=("grad_x",),
    public=_avg_public,
    hidden=_avg_hidden,
    reference=_avg_reference,
    requirements=(_avg_catalogue,),
    needs=("torch",),
))

# -- ch06.receptive_field (predict, then measure) -------------------------------------------------

RF_NO_JUMP = ("each layer widens the field by (k - 1) times the product of the strides BEFORE "
              "it (the distance between neighbouring inputs of that layer), not by k - 1")
RF_OWN_STRIDE = ("the widening of layer l uses the strides of the layers before l, not its own")


def _rf(kernel_sizes, strides, kind=""):
    size, jump = 1, 1
    for k, s in zip(kernel_sizes, strides, strict=True):
        if kind == "own":
            jump *= s
        size += (k - 1) * (1 if kind == "nojump" else jump)
        if kind != "own":
            jump *= s
    return {"size": np.int64(size)}


_rf_catalogue = _catalogue(lambda **a: _rf(**a), [
    (RF_NO_JUMP, lambda **a: _rf(**a, kind="nojump")),
    (RF_OWN_STRIDE, lambda **a: _rf(**a, kind="own")),
])


def _rf_public() -> list[Case]:
    return [Case({"kernel_sizes": [3, 2, 3, 2], "strides": [1, 2, 1, 2]}),  # LeNet-5's c1..s4
            Case({"kernel_sizes": [3, 3, 3], "strides": [1, 1, 1]}),
            Case({"kernel_sizes": [7, 3, 3], "strides": [2, 2, 1]}),
            Case({"kernel_sizes": [5], "strides": [3]})]


def _rf_hidden(rng: np.random.Generator) -> list[Case]:
    depth = int(rng.integers(2, 7))
    return [Case({"kernel_sizes": [int(v) for v in rng.integers(1, 6, size=depth)],
                  "strides": [int(v) for v in rng.integers(1, 4, size=depth)]})]


def _rf_reference(kernel_sizes: list[int], strides: list[int]) -> dict[str, np.int64]:
    import torch

    # measured: the input pixels that one output of the stack depends on, by autograd
    size = 1
    for k, s in zip(reversed(kernel_sizes), reversed(strides), strict=True):
        size = (size - 1) * s + k  # the input length one output window spans
    x = torch.zeros(1, 1, size + 2 * max(kernel_sizes), requires_grad=True)
    y = x
    for k, s in zip(kernel_sizes, strides, strict=True):
        y = torch.nn.functional.conv1d(y, torch.ones(1, 1, k, dtype=x.dtype), stride=s)
    y[0, 0, 0].backward()
    reached = torch.nonzero(x.grad[0, 0]).ravel()  # the span from the first to the last pixel
    return {"size": np.int64(reached.max().item() - reached.min().item() + 1)}


register(Question(
    id="ch06.receptive_field",
    points=2,
    description="The receptive field (in input pixels, along one axis) of one output of a stack "
                "of convolution or pooling layers.",
    signature="receptive_field(kernel_sizes, strides) -> size",
    outputs=("size",),
    public=_rf_public,
    hidden=_rf_hidden,
    reference=_rf_reference,
    requirements=(_rf_catalogue,),
    needs=("torch",),
))
