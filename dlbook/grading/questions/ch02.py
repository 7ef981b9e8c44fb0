"""Chapter 2 exercises: a sigmoid that cannot overflow and its derivative, GELU's tanh
approximation forward and backward, softmax's backward as a vector-Jacobian product, the
gradient norm of every layer of a deep network handed over with stale gradients, a stable
softplus (transfer), PReLU's backward with a planted bug, and the factor by which each layer
of a chain scales the gradient (predict, then measure).

Every reference here is derived independently of solutions/ch02_activations.ipynb and of
``dlbook.nn``'s activations: values and gradients by torch (``torch.sigmoid``,
``torch.nn.functional.gelu``, ``torch.softmax``, ``torch.nn.functional.cross_entropy``) and
torch autograd, in the input's dtype.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from dlbook.grading.questions.catalogue import catalogue as _catalogue
from dlbook.grading.questions.catalogue import same
from dlbook.grading.registry import NO_FRAMEWORKS, Case, Question, register, split_suites
from dlbook.grading.runners.ch02 import stale_batch
from dlbook.grading.runners.ch02 import weights as layer_weights

# -- ch02.stable_sigmoid ----------------------------------------------------------------------


def _sigmoid_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    extremes = np.array([-1000.0, -50.0, -1.0, 0.0, 1.0, 50.0, 1000.0])
    if suite == "public":
        rng = np.random.default_rng(21)
        return [Case({"x": extremes}),
                Case({"x": rng.normal(scale=5.0, size=(3, 4))}),
                Case({"x": np.array([[-100.0, -20.0, 0.5, 20.0, 100.0]], dtype=np.float32)}),
                Case({"x": rng.normal(scale=3.0, size=(2, 3, 2)).astype(np.float32)})]
    big = rng.uniform(500.0, 1000.0)
    return [Case({"x": np.concatenate([extremes * rng.uniform(0.5, 1.0),
                                       rng.normal(size=5)]).reshape(3, 4)}),
            Case({"x": np.array([-big, big])}),
            Case({"x": rng.normal(scale=40.0, size=(1, 6)).astype(np.float32)})]


def _sigmoid_reference(x: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    xt = torch.tensor(x, requires_grad=True)
    y = torch.sigmoid(xt)
    y.backward(torch.ones_like(y))
    return {"y": y.detach().numpy(), "dydx": xt.grad.numpy()}


register(Question(
    id="ch02.stable_sigmoid",
    points=2,
    description="sigmoid(x) and its derivative elementwise, without overflow for any finite x.",
    signature="stable_sigmoid(x) -> (y, dydx)",
    outputs=("y", "dydx"),
    **split_suites(_sigmoid_cases),
    reference=_sigmoid_reference,
    runner="ch02.stable_sigmoid",
    needs=("torch",),
))

# -- ch02.gelu_tanh ---------------------------------------------------------------------------


def _gelu_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    shapes = {"public": [((5,), np.float64), ((2, 3, 4), np.float64), ((1, 1), np.float64),
                         ((4, 6), np.float32)],
              "hidden": [((7, 2), np.float64), ((3,), np.float32)]}
    rng = np.random.default_rng(22) if rng is None else rng
    return [Case({"x": (3.0 * rng.normal(size=shape)).astype(dtype),
                  "grad_out": rng.normal(size=shape).astype(dtype)})
            for shape, dtype in shapes.get(suite, [])]


def _gelu_reference(x: np.ndarray, grad_out: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    xt = torch.tensor(x, requires_grad=True)
    out = torch.nn.functional.gelu(xt, approximate="tanh")
    out.backward(torch.tensor(grad_out))
    return {"out": out.detach().numpy(), "grad_x": xt.grad.numpy()}


register(Question(
    id="ch02.gelu_tanh",
    points=3,
    description="GELU with the tanh approximation: the output and the gradient of x.",
    signature="gelu_tanh(x, grad_out) -> (out, grad_x)",
    outputs=("out", "grad_x"),
    **split_suites(_gelu_cases),
    reference=_gelu_reference,
    needs=("torch",),
))

# -- ch02.softmax_backward --------------------------------------------------------------------


def _softmax(z: np.ndarray, dim: int) -> np.ndarray:
    e = np.exp(z - z.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def _softmax_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    specs = {"public": [((4, 5), 1, np.float64), ((1, 6), -1, np.float64),
                        ((3, 4, 5), 1, np.float64), ((5, 3), 0, np.float64),
                        ((2, 7), 1, np.float32)],
             "hidden": [((6, 2), 1, np.float64), ((2, 3, 4), -1, np.float64),
                        ((3, 8), 0, np.float32)]}
    rng = np.random.default_rng(23) if rng is None else rng
    cases = []
    for shape, dim, dtype in specs.get(suite, []):
        y = _softmax(2.0 * rng.normal(size=shape), dim).astype(dtype)
        cases.append(Case({"grad_out": rng.normal(size=shape).astype(dtype), "y": y,
                           "dim": dim}))
    return cases


def _softmax_reference(grad_out: np.ndarray, y: np.ndarray, dim: int) -> dict[str, np.ndarray]:
    import torch

    # softmax(log y) = y (y sums to 1), and softmax's Jacobian depends on its output only.
    xt = torch.log(torch.tensor(y)).requires_grad_(True)
    torch.softmax(xt, dim=dim).backward(torch.tensor(grad_out))
    return {"grad_x": xt.grad.numpy()}


register(Question(
    id="ch02.softmax_backward",
    points=3,
    description="The gradient of softmax's input from its output y and grad_out, along dim.",
    signature="softmax_backward(grad_out, y, dim) -> grad_x",
    outputs=("grad_x",),
    **split_suites(_softmax_cases),
    reference=_softmax_reference,
    needs=("torch",),
))

# -- ch02.layer_grad_norms --------------------------------------------------------------------


def _grad_norm_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    # (activation, depth, width, batch, in_features, classes)
    specs = {"public": [("Sigmoid", 6, 8, 16, 5, 4), ("ReLU", 4, 10, 12, 6, 3),
                        ("Tanh", 3, 7, 1, 4, 5)],
             "hidden": [("Tanh", 5, 6, 9, 3, 4), ("ReLU", 2, 5, 20, 8, 2)]}
    rng = np.random.default_rng(24) if rng is None else rng
    cases = []
    for activation, depth, width, n, d, c in specs.get(suite, []):
        y = rng.integers(0, c, size=n)
        y[0] = c - 1  # every class up to c - 1 is possible: the network has c outputs
        cases.append(Case({"X": rng.normal(size=(n, d)), "y": y,
                           "activation": activation, "depth": depth, "width": width,
                           "seed": int(rng.integers(1000))}))
    return cases


def _torch_grad_norms(X: np.ndarray, y: np.ndarray, activation: str, depth: int, width: int,
                      seed: int, batches: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Weight-gradient norms after one backward pass per batch, accumulated as autograd does."""
    import torch

    layers = layer_weights(X, y, depth, width, seed)
    weights = [torch.tensor(w, requires_grad=True) for w, _ in layers]
    biases = [torch.tensor(b) for _, b in layers]
    act = getattr(torch.nn, activation)()
    for inputs, labels in batches:
        h = torch.tensor(np.ascontiguousarray(inputs))
        for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
            h = torch.nn.functional.linear(h, w, b)
            if i < len(weights) - 1:
                h = act(h)
        torch.nn.functional.cross_entropy(h, torch.tensor(labels)).backward()
    return np.array([float(torch.linalg.norm(w.grad)) for w in weights])


def _grad_norms_reference(X: np.ndarray, y: np.ndarray, activation: str, depth: int,
                          width: int, seed: int) -> dict[str, np.ndarray]:
    return {"norms": _torch_grad_norms(X, y, activation, depth, width, seed, [(X, y)])}


def _grad_norms_stale(out: dict[str, Any], case: Case) -> str | None:
    args = case.args
    stale = _torch_grad_norms(**args, batches=[stale_batch(args["X"], args["y"]),
                                               (args["X"], args["y"])])
    if same(out.get("norms"), stale):
        return ("norms include the gradients the model held before your backward pass (the "
                "check hands over a model that was used before, as after a training step): "
                "gradients accumulate, so call model.zero_grad() before model.backward")
    return None


register(Question(
    id="ch02.layer_grad_norms",
    points=3,
    description="The Frobenius norm of the mean cross-entropy's gradient of each Linear weight.",
    signature="layer_grad_norms(model, X, y) -> norms",
    outputs=("norms",),
    **split_suites(_grad_norm_cases),
    reference=_grad_norms_reference,
    requirements=(_grad_norms_stale,),
    runner="ch02.layer_grad_norms",
    forbidden=NO_FRAMEWORKS,
    needs=("torch",),
))

# -- ch02.stable_softplus (transfer of the stable sigmoid) ------------------------------------


def _softplus_public() -> list[Case]:
    rng = np.random.default_rng(2105)
    return [Case({"x": np.array([-1000.0, -40.0, -1.0, 0.0, 1.0, 40.0, 1000.0])}),
            Case({"x": rng.normal(scale=5.0, size=(3, 4))}),
            Case({"x": np.array([-120.0, -3.0, 0.25, 95.0, 500.0], dtype=np.float32)})]


def _softplus_hidden(rng: np.random.Generator) -> list[Case]:
    big = float(rng.uniform(750.0, 1000.0))
    return [Case({"x": np.concatenate([[-big, big], rng.normal(scale=8.0, size=6)])}),
            Case({"x": rng.normal(scale=60.0, size=(2, 3)).astype(np.float32)})]


def _softplus_reference(x: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    xt = torch.tensor(x, requires_grad=True)
    # softplus with no linear cut-off: log(1 + e^x) = max(x, 0) + log1p(e^-|x|)
    y = torch.clamp(xt, min=0) + torch.log1p(torch.exp(-torch.abs(xt)))
    y.backward(torch.ones_like(y))
    return {"y": y.detach().numpy(), "dydx": torch.sigmoid(torch.tensor(x)).numpy()}


def _softplus_overflow(out: dict[str, Any], case: Case) -> str | None:
    x = np.asarray(case.args["x"])
    try:
        y = np.asarray(out["y"], dtype=float)
    except (TypeError, ValueError):
        return None
    if y.shape == x.shape and not np.isfinite(y).all() and np.abs(x).max() > 80:
        return (f"y is inf or NaN for x as large as {np.abs(x).max():.0f}: log(1 + exp(x)) "
                "overflows; rewrite it so exp never sees a positive number, as the stable "
                "sigmoid does")
    return None


register(Question(
    id="ch02.stable_softplus",
    points=2,
    description="softplus(x) = log(1 + e^x) and its derivative, finite for every finite x.",
    signature="stable_softplus(x) -> (y, dydx)",
    outputs=("y", "dydx"),
    public=_softplus_public,
    hidden=_softplus_hidden,
    reference=_softplus_reference,
    requirements=(_softplus_overflow,),
    needs=("torch",),
))

# -- ch02.prelu_find_the_bug (a planted gradient bug a gradient check exposes) ----------------


def _prelu_case(rng: np.random.Generator, shape: tuple[int, ...]) -> Case:
    return Case({"x": rng.normal(size=shape), "a": float(rng.uniform(0.05, 0.5)),
                 "grad_out": rng.normal(size=shape)})


def _prelu_public() -> list[Case]:
    rng = np.random.default_rng(2106)
    return [_prelu_case(rng, (4, 3)), _prelu_case(rng, (1,)), _prelu_case(rng, (2, 3, 5))]


def _prelu_hidden(rng: np.random.Generator) -> list[Case]:
    return [_prelu_case(rng, tuple(int(k) for k in rng.integers(1, 6, size=2)))]


def _prelu_reference(x: np.ndarray, a: float, grad_out: np.ndarray) -> dict[str, Any]:
    import torch

    xt = torch.tensor(x, requires_grad=True)
    at = torch.tensor([a], dtype=xt.dtype, requires_grad=True)
    torch.nn.functional.prelu(xt, at).backward(torch.tensor(grad_out))
    return {"grad_x": xt.grad.numpy(), "grad_a": np.float64(at.grad.item())}


def _prelu_bug_still_there(out: dict[str, Any], case: Case) -> str | None:
    x, g = case.args["x"], case.args["grad_out"]
    planted = float(np.sum(g * x * (x > 0)))
    try:
        got = float(out["grad_a"])
    except (TypeError, ValueError):
        return None
    if np.isclose(got, planted, rtol=1e-9, atol=1e-12) and not np.isclose(
            planted, float(np.sum(g * x * (x <= 0)))):
        return ("grad_a still carries the planted bug: the slope a acts where x <= 0, so its "
                "gradient sums grad_out * x over those entries, not over x > 0")
    return None


register(Question(
    id="ch02.prelu_find_the_bug",
    points=2,
    description="PReLU's backward with one shared slope a, after locating a planted bug with a "
                "gradient check.",
    signature="prelu_backward(x, a, grad_out) -> (grad_x, grad_a)",
    outputs=("grad_x", "grad_a"),
    public=_prelu_public,
    hidden=_prelu_hidden,
    reference=_prelu_reference,
    requirements=(_prelu_bug_still_there,),
    needs=("torch",),
))

# -- ch02.backward_factors (predict, then measure: how fast the gradient shrinks per layer) ---

_ACTIVATIONS = ("sigmoid", "tanh", "relu")


def _bf_case(rng: np.random.Generator, activation: str, sizes: list[int], n: int,
             gain: float) -> Case:
    """Weights of the given gain; drawn again while some layer passes no gradient at all
    (every ReLU of a small layer off: the next factor would be 0 / 0)."""
    while True:
        weights = [gain * rng.normal(scale=np.sqrt(1.0 / a), size=(b, a))
                   for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
        case = Case({"weights": weights, "x": rng.normal(size=(n, sizes[0])),
                     "grad_out": rng.normal(size=(n, sizes[-1])), "activation": activation})
        with np.errstate(divide="ignore", invalid="ignore"):
            factors = _bf_mutant(**case.args)["factors"]
        if np.all(np.isfinite(factors) & (factors > 0)):
            return case


def _bf_public() -> list[Case]:
    rng = np.random.default_rng(2107)
    return [_bf_case(rng, "sigmoid", [6] * 5, 10, 1.0),
            _bf_case(rng, "tanh", [5, 7, 4, 6], 3, 2.0),
            _bf_case(rng, "relu", [8] * 4, 12, 1.5),
            _bf_case(rng, "sigmoid", [4, 4], 1, 4.0)]


def _bf_hidden(rng: np.random.Generator) -> list[Case]:
    return [_bf_case(rng, str(rng.choice(_ACTIVATIONS)),
                     [int(rng.integers(3, 9))] * int(rng.integers(3, 7)),
                     int(rng.integers(2, 20)), float(rng.uniform(0.5, 4.0))),
            _bf_case(rng, str(rng.choice(_ACTIVATIONS)),
                     [int(k) for k in rng.integers(2, 9, size=4)], int(rng.integers(1, 9)),
                     float(rng.uniform(0.5, 4.0)))]


def _bf_reference(weights: list[np.ndarray], x: np.ndarray, grad_out: np.ndarray,
                  activation: str) -> dict[str, np.ndarray]:
    import torch

    f = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[activation]
    hs = [torch.tensor(x, requires_grad=True)]
    for w in weights:
        h = f(hs[-1] @ torch.tensor(w).T)
        h.retain_grad()
        hs.append(h)
    hs[-1].backward(torch.tensor(grad_out))
    norms = [float(torch.linalg.norm(h.grad)) for h in hs]
    return {"factors": np.array(norms[:-1]) / np.array(norms[1:])}


def _bf_mutant(weights, x, grad_out, activation, slope=True, transpose=False,
               sigmoid_from_z=False):
    """NumPy's backward of the chain with one named mistake: factors, input to output."""
    f = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh,
         "relu": lambda z: np.maximum(z, 0)}[activation]
    zs, h = [], x
    for w in weights:
        zs.append(h @ w.T)
        h = f(zs[-1])
    g, factors = grad_out, []
    for w, z in zip(reversed(weights), reversed(zs), strict=True):
        s = f(z)
        d = {"sigmoid": z * (1 - z) if sigmoid_from_z else s * (1 - s), "tanh": 1 - s**2,
             "relu": (z > 0) * 1.0}[activation]
        new = (g * d if slope else g) @ (w.T if transpose else w)
        factors.append(np.linalg.norm(new) / np.linalg.norm(g))
        g = new
    return {"factors": np.array(factors[::-1])}


def _bf_square(mutant):
    """A transposed weight only runs where every weight is square (elsewhere: the right
    answer, which names no mistake)."""
    def run(**args):
        if any(w.shape[0] != w.shape[1] for w in args["weights"]):
            return _bf_mutant(**args)
        return mutant(**args)
    return run


BF_NO_SLOPE = ("factors match a backward pass without the activation's derivative: multiply "
               "the upstream gradient by f'(z_l) entrywise before the product with W_l, (2.14)")
BF_TRANSPOSED = ("factors match a backward pass through W_l^T: with z = h W^T, the gradient of "
                 "h is (grad of z) @ W, not @ W.T (the shapes agree only for square W)")
BF_SIGMOID_FROM_Z = ("factors match sigmoid'(z) computed as z (1 - z): the formula holds for "
                     "the output, sigma'(z) = s (1 - s) with s = sigma(z)")
BF_RECIPROCAL = ("factors are the reciprocals of the expected ones: the factor of layer l is "
                 "||grad h_{l-1}|| / ||grad h_l||, below 1 where the gradient shrinks")
BF_REVERSED = ("factors are in reverse order: list them from the input (layer 1) to the "
               "output (layer D), as the layers are numbered")


def _bf_right(**args):
    return _bf_mutant(**args)


_bf_catalogue = _catalogue(_bf_right, [
    (BF_NO_SLOPE, lambda **a: _bf_mutant(**a, slope=False)),
    (BF_TRANSPOSED, _bf_square(lambda **a: _bf_mutant(**a, transpose=True))),
    (BF_SIGMOID_FROM_Z, lambda **a: (_bf_mutant(**a, sigmoid_from_z=True)
                                     if a["activation"] == "sigmoid" else _bf_mutant(**a))),
    (BF_RECIPROCAL, lambda **a: {"factors": 1 / _bf_mutant(**a)["factors"]}),
    (BF_REVERSED, lambda **a: {"factors": _bf_mutant(**a)["factors"][::-1]}),
])


register(Question(
    id="ch02.backward_factors",
    points=3,
    description="The factor ||grad h_{l-1}|| / ||grad h_l|| by which each layer of a chain "
                "h_l = f(h_{l-1} W_l^T) scales the gradient, input to output.",
    signature="backward_factors(weights, x, grad_out, activation) -> factors",
    outputs=("factors",),
    public=_bf_public,
    hidden=_bf_hidden,
    reference=_bf_reference,
    requirements=(_bf_catalogue,),
    needs=("torch",),
))
