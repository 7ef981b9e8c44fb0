"""Chapter 1 exercises: the perceptron, a linear layer's backward, MLP gradients, a sigmoid
built from ``Value`` operations, and training an MLP on the digits.

Every reference here is derived independently of solutions/ch01_perceptron_mlp.ipynb: the
perceptron in augmented form :math:`\\tilde w = (w, b)`, gradients by torch autograd in the
input's dtype, the sigmoid through :math:`\\sigma(x) = (1 + \\tanh(x/2))/2`.
"""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from dlbook.grading.compare import describe_type
from dlbook.grading.registry import (
    FROM_SCRATCH,
    NO_FRAMEWORKS,
    Case,
    Question,
    register,
    split_suites,
)

# -- ch01.perceptron --------------------------------------------------------------------------


def _separable(rng: np.random.Generator, n: int, d: int, margin: float = 0.3):
    """``n`` points in ``d`` dimensions, labelled by a random hyperplane, none within
    ``margin`` of it: the perceptron rule must separate them."""
    u, c = rng.normal(size=d), 0.5
    X = rng.normal(size=(4 * n, d))
    score = (X @ u + c) / np.linalg.norm(u)
    keep = np.abs(score) > margin
    return X[keep][:n], np.where(score[keep][:n] > 0, 1, -1)


def _perceptron_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    rng = np.random.default_rng(1) if rng is None else rng

    def labels(n: int) -> np.ndarray:
        return rng.choice(np.array([-1, 1]), size=n)

    # Integer inputs and a power-of-two rate keep every sum exact: agreement must be exact.
    if suite == "hidden":
        n, d = (int(k) for k in rng.integers(2, 9, size=2))
        X_sep, y_sep = _separable(rng, 30, int(rng.integers(2, 5)))
        return [
            Case({"X": rng.integers(-4, 5, size=(n, d)).astype(float), "y": labels(n),
                  "epochs": int(rng.integers(1, 5)), "lr": 0.25}),
            Case({"X": X_sep, "y": y_sep, "epochs": 100, "lr": 1.0},
                 meta={"separable": True}),
        ]
    X_sep, y_sep = _separable(rng, 40, 3)
    return [
        Case({"X": rng.integers(-3, 4, size=(6, 2)).astype(float), "y": labels(6),
              "epochs": 3, "lr": 1.0}),
        Case({"X": rng.integers(-3, 4, size=(1, 3)).astype(float), "y": np.array([-1]),
              "epochs": 2, "lr": 0.5}),
        Case({"X": X_sep, "y": y_sep, "epochs": 100, "lr": 1.0}, meta={"separable": True}),
        Case({"X": rng.normal(size=(9, 5)), "y": labels(9), "epochs": 4, "lr": 0.1}),
    ]


def _perceptron_reference(X: np.ndarray, y: np.ndarray, epochs: int,
                          lr: float) -> dict[str, Any]:
    # Fold the bias into the weights: x~ = (x, 1), w~ = (w, b), update w~ += lr y x~.
    X_aug = np.hstack([X, np.ones((len(X), 1))])
    w_aug = np.zeros(X_aug.shape[1])
    for _ in range(epochs):
        for x_aug, target in zip(X_aug, y, strict=True):
            if target * (w_aug @ x_aug) <= 0:
                w_aug = w_aug + lr * target * x_aug
    return {"w": w_aug[:-1], "b": w_aug[-1]}


def _separates(out: dict[str, Any], case: Case) -> str | None:
    if not case.meta.get("separable"):
        return None
    X, y = case.args["X"], case.args["y"]
    try:
        w, b = np.asarray(out["w"], dtype=float), float(out["b"])
    except (TypeError, ValueError):
        return None  # not numbers: the comparison with the reference says what is wrong
    if w.shape != (X.shape[1],):
        return None
    errors = int(np.sum(y * (X @ w + b) <= 0))
    if errors:
        return (f"w, b leave {errors} of {len(y)} training points on the wrong side of the "
                "line on separable data")
    return None


register(Question(
    id="ch01.perceptron",
    points=2,
    description="Rosenblatt's perceptron rule, labels in {-1, +1}, examples in the given order.",
    signature="perceptron_fit(X, y, epochs, lr) -> (w, b)",
    outputs=("w", "b"),
    **split_suites(_perceptron_cases),
    reference=_perceptron_reference,
    requirements=(_separates,),
))

# -- ch01.linear_backward ---------------------------------------------------------------------


def _linear_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    shapes = {"public": [(4, 5, 3, np.float64), (1, 5, 3, np.float64), (3, 1, 7, np.float64),
                         (6, 4, 2, np.float32)],
              "hidden": [(2, 9, 4, np.float64), (1, 1, 1, np.float64), (5, 3, 8, np.float32)]}
    rng = np.random.default_rng(2) if rng is None else rng
    return [Case({"grad_out": rng.normal(size=(n, d_out)).astype(dtype),
                  "x": rng.normal(size=(n, d_in)).astype(dtype),
                  "weight": rng.normal(size=(d_out, d_in)).astype(dtype)})
            for n, d_in, d_out, dtype in shapes.get(suite, [])]


def _linear_reference(grad_out: np.ndarray, x: np.ndarray,
                      weight: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(weight, requires_grad=True)
    bt = torch.zeros(weight.shape[0], dtype=wt.dtype, requires_grad=True)
    torch.nn.functional.linear(xt, wt, bt).backward(torch.tensor(grad_out))
    return {"grad_x": xt.grad.numpy(), "grad_weight": wt.grad.numpy(),
            "grad_bias": bt.grad.numpy()}


register(Question(
    id="ch01.linear_backward",
    points=3,
    description="Backward of out = x W^T + b: the gradients of x, W and b from grad_out.",
    signature="linear_backward(grad_out, x, weight) -> (grad_x, grad_weight, grad_bias)",
    outputs=("grad_x", "grad_weight", "grad_bias"),
    **split_suites(_linear_cases),
    reference=_linear_reference,
    needs=("torch",),
))

# -- ch01.mlp_gradients -----------------------------------------------------------------------

MLP_PARAMS = ("W1", "b1", "W2", "b2")


def _mlp_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    shapes = {"public": [(6, 4, 5, 3), (1, 3, 4, 2), (8, 7, 2, 5)],
              "hidden": [(3, 2, 6, 4), (10, 5, 3, 7)]}
    rng = np.random.default_rng(3) if rng is None else rng
    cases = []
    for n, d, h, c in shapes.get(suite, []):
        cases.append(Case({"X": rng.normal(size=(n, d)), "y": rng.integers(0, c, size=n),
                           "W1": rng.normal(size=(h, d)), "b1": rng.normal(size=h),
                           "W2": rng.normal(size=(c, h)), "b2": rng.normal(size=c)}))
    return cases


def _mlp_reference(X: np.ndarray, y: np.ndarray, W1: np.ndarray, b1: np.ndarray,
                   W2: np.ndarray, b2: np.ndarray) -> dict[str, np.ndarray]:
    import torch

    params = {name: torch.tensor(a, dtype=torch.float64, requires_grad=True)
              for name, a in zip(MLP_PARAMS, (W1, b1, W2, b2), strict=True)}
    hidden = torch.tanh(torch.tensor(X) @ params["W1"].T + params["b1"])
    logits = hidden @ params["W2"].T + params["b2"]
    torch.nn.functional.cross_entropy(logits, torch.tensor(y)).backward()
    return {name: p.grad.numpy() for name, p in params.items()}


register(Question(
    id="ch01.mlp_gradients",
    points=4,
    description="Gradients of the mean softmax cross-entropy of a 2-layer tanh MLP.",
    signature="mlp_gradients(X, y, W1, b1, W2, b2) -> {'W1': ..., 'b1': ..., 'W2': ..., 'b2': ...}",
    outputs=MLP_PARAMS,
    **split_suites(_mlp_cases),
    reference=_mlp_reference,
    needs=("torch",),
))

# -- ch01.value_sigmoid -----------------------------------------------------------------------


def _sigmoid_public() -> list[Case]:
    return [Case({"x": x}) for x in [0.0, 1.5, -3.0, 10.0, -0.7]]


def _sigmoid_hidden(rng: np.random.Generator) -> list[Case]:
    return [Case({"x": float(x)}) for x in rng.uniform(-12.0, 12.0, size=3).round(3)]


def _sigmoid_reference(x: float) -> dict[str, np.float64]:
    s = 0.5 * (1.0 + math.tanh(x / 2))  # = 1 / (1 + e^-x)
    return {"value": np.float64(s), "grad": np.float64(s * (1 - s))}


register(Question(
    id="ch01.value_sigmoid",
    points=2,
    description="sigmoid(v) = 1 / (1 + exp(-v)) from Value operations: its value and gradient.",
    signature="sigmoid(v) -> Value",
    outputs=("value", "grad"),
    public=_sigmoid_public,
    hidden=_sigmoid_hidden,
    reference=_sigmoid_reference,
    runner="ch01.value_sigmoid",
    forbidden=(*FROM_SCRATCH, "dlbook.autograd:Value.sigmoid"),
))

# -- ch01.train_mlp ---------------------------------------------------------------------------

MIN_ACCURACY = 0.95


@functools.cache
def _digits() -> Any:
    from dlbook.data import load_digits_split

    return load_digits_split(seed=0)


def _train_cases(suite: str, rng: np.random.Generator | None = None) -> list[Case]:
    data = _digits()
    X_train, y_train = data.X_train, data.y_train
    X_held, y_held = (np.concatenate([data.X_val, data.X_test]),
                      np.concatenate([data.y_val, data.y_test]))
    if suite == "hidden":
        # The digits renamed by a random permutation of 0-9, the examples in another order:
        # a model trained for real learns it as well, a model trained beforehand cannot.
        rename, order = rng.permutation(10), rng.permutation(len(y_train))
        probe = rng.permutation(len(y_held))
        X_train, y_train = X_train[order], rename[y_train[order]]
        X_held, y_held = X_held[probe], rename[y_held[probe]]
    # Judged on every image the function never sees (validation and test, 538 images): the
    # test part alone (269) is small and hard enough that good MLPs land either side of 0.95.
    # The labels stay in the grader (meta); the kernel applies the model to the images.
    return [Case({"X_train": X_train, "y_train": y_train},
                 meta={"y_held_out": y_held}, probes={"X_held_out": X_held})]


def _held_out_accuracy(out: dict[str, Any], case: Case) -> str | None:
    from dlbook.nn import Module

    model = out["model"]
    if not isinstance(model, Module):
        return f"train_mlp returned {describe_type(model)}, expected a trained dlbook.nn model"
    X, y = case.probes["X_held_out"], case.meta["y_held_out"]
    logits = np.asarray(model.eval()(X))
    if logits.shape != (len(y), 10):
        return (f"the model maps the held-out images {X.shape} to shape {logits.shape}, "
                f"expected {(len(y), 10)} (one score per digit)")
    accuracy = float(np.mean(logits.argmax(axis=1) == y))
    if accuracy < MIN_ACCURACY:
        return (f"accuracy {accuracy:.3f} on the {len(y)} held-out images is below "
                f"{MIN_ACCURACY}")
    return None


register(Question(
    id="ch01.train_mlp",
    points=3,
    description=f"Train a dlbook.nn MLP on the digits to held-out accuracy >= {MIN_ACCURACY}.",
    signature="train_mlp(X_train, y_train) -> model",
    outputs=("model",),
    **split_suites(_train_cases),
    requirements=(_held_out_accuracy,),
    forbidden=NO_FRAMEWORKS,
))

# -- ch01.relu_mse_backward (transfer: K layers, ReLU, squared error) ------------------------


def _deep_case(rng: np.random.Generator, n: int, sizes: list[int]) -> Case:
    weights = [rng.normal(size=(b, a)) / np.sqrt(a)
               for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    biases = [0.1 * rng.normal(size=b) for b in sizes[1:]]
    return Case({"x": rng.normal(size=(n, sizes[0])), "target": rng.normal(size=(n, sizes[-1])),
                 "weights": weights, "biases": biases})


def _deep_public() -> list[Case]:
    rng = np.random.default_rng(1106)
    return [_deep_case(rng, 4, [3, 5, 2]), _deep_case(rng, 1, [2, 3]),
            _deep_case(rng, 6, [4, 6, 5, 4, 3]), _deep_case(rng, 5, [3, 3, 3])]


def _deep_hidden(rng: np.random.Generator) -> list[Case]:
    depth = int(rng.integers(2, 6))
    sizes = [int(s) for s in rng.integers(2, 7, size=depth + 1)]
    return [_deep_case(rng, int(rng.integers(1, 8)), sizes),
            _deep_case(rng, int(rng.integers(2, 6)), [int(rng.integers(2, 5)), 1])]


def _deep_reference(x: np.ndarray, target: np.ndarray, weights: list[np.ndarray],
                    biases: list[np.ndarray]) -> dict[str, Any]:
    import torch

    xt = torch.tensor(x, requires_grad=True)
    ws = [torch.tensor(w, requires_grad=True) for w in weights]
    h = xt
    for k, (w, b) in enumerate(zip(ws, biases, strict=True)):
        h = h @ w.T + torch.tensor(b)
        if k < len(ws) - 1:
            h = torch.relu(h)
    loss = torch.nn.functional.mse_loss(h, torch.tensor(target))
    loss.backward()
    # Backward order: the loss, then the last layer's weight, the first layer's, the input.
    return {"loss": np.float64(loss.item()), "grad_w_last": ws[-1].grad.numpy(),
            "grad_w_first": ws[0].grad.numpy(), "grad_x": xt.grad.numpy()}


register(Question(
    id="ch01.relu_mse_backward",
    points=3,
    description="A K-layer ReLU MLP with mean squared error: the loss and, by a backward loop, "
                "the gradients of the last and first weights and of the input.",
    signature="relu_mse_backward(x, target, weights, biases) -> (loss, grad_w_last, "
              "grad_w_first, grad_x)",
    outputs=("loss", "grad_w_last", "grad_w_first", "grad_x"),
    public=_deep_public,
    hidden=_deep_hidden,
    reference=_deep_reference,
    needs=("torch",),
))

# -- ch01.largest_stable_rate (predict, then measure) -----------------------------------------


def _rate_public() -> list[Case]:
    rng = np.random.default_rng(1107)
    return [Case({"A": rng.normal(size=(20, 3))}), Case({"A": rng.uniform(-1, 1, size=(7, 1))}),
            Case({"A": np.tanh(3 * rng.normal(size=(50, 10)))})]


def _rate_hidden(rng: np.random.Generator) -> list[Case]:
    n, d = int(rng.integers(3, 40)), int(rng.integers(1, 8))
    return [Case({"A": rng.normal(size=(n, d)) * rng.uniform(0.2, 3.0)}),
            Case({"A": np.tanh(rng.normal(size=(int(rng.integers(5, 60)), 4)))})]


def _rate_reference(A: np.ndarray) -> dict[str, np.float64]:
    # Independent of the chapter's eigenvalue route: lambda_max of (2/N) A1^T A1 is
    # (2/N) times the square of A1's largest singular value.
    A1 = np.hstack([A, np.ones((len(A), 1))])
    lam = 2 / len(A1) * np.linalg.norm(A1, 2) ** 2
    return {"lr_max": np.float64(2 / lam)}


def _bias_left_out(out: dict[str, Any], case: Case) -> str | None:
    A = case.args["A"]
    without_bias = 2 / (2 / len(A) * np.linalg.norm(A, 2) ** 2)
    with_bias = float(_rate_reference(A)["lr_max"])
    try:
        got = float(out["lr_max"])
    except (TypeError, ValueError):
        return None
    if (math.isclose(got, without_bias, rel_tol=1e-8)
            and not math.isclose(with_bias, without_bias, rel_tol=1e-6)):
        return ("lr_max is 2 / lambda_max of the weights alone: the bias is a parameter too, "
                "append a column of ones to A before forming the Hessian")
    return None


register(Question(
    id="ch01.largest_stable_rate",
    points=2,
    description="2 / lambda_max for gradient descent on the mean squared error of a linear "
                "read-out (with bias) of the activations A.",
    signature="largest_stable_rate(A) -> lr_max",
    outputs=("lr_max",),
    public=_rate_public,
    hidden=_rate_hidden,
    reference=_rate_reference,
    requirements=(_bias_left_out,),
))

# -- ch01.find_the_bug (a planted gradient bug a gradient check exposes) ---------------------


def _sigmoid_mse_grads(X, T, W1, b1, W2, b2, planted_bug=False):
    """The gradients of mean((sigmoid(X W1^T + b1) W2^T + b2 - T)^2), optionally with the bug
    planted in the exercise: sigma'(z) evaluated as z (1 - z) instead of s (1 - s)."""
    Z1 = X @ W1.T + b1
    S = 1 / (1 + np.exp(-Z1))
    Z2 = S @ W2.T + b2
    dZ2 = 2 * (Z2 - T) / Z2.size
    dS = dZ2 @ W2
    dZ1 = dS * (Z1 * (1 - Z1) if planted_bug else S * (1 - S))
    return {"W2": dZ2.T @ S, "b2": dZ2.sum(axis=0), "W1": dZ1.T @ X, "b1": dZ1.sum(axis=0)}


def _bug_case(rng: np.random.Generator, n: int, d: int, h: int, c: int) -> Case:
    return Case({"X": rng.normal(size=(n, d)), "T": rng.normal(size=(n, c)),
                 "W1": rng.normal(size=(h, d)), "b1": rng.normal(size=h),
                 "W2": rng.normal(size=(c, h)), "b2": rng.normal(size=c)})


def _bug_public() -> list[Case]:
    rng = np.random.default_rng(1108)
    return [_bug_case(rng, 5, 4, 3, 2), _bug_case(rng, 1, 2, 6, 1), _bug_case(rng, 8, 3, 5, 4)]


def _bug_hidden(rng: np.random.Generator) -> list[Case]:
    n, d, h, c = (int(k) for k in rng.integers(1, 8, size=4))
    return [_bug_case(rng, n, d, h, c)]


def _bug_reference(X, T, W1, b1, W2, b2) -> dict[str, np.ndarray]:
    import torch

    params = {k: torch.tensor(v, requires_grad=True)
              for k, v in {"W2": W2, "b2": b2, "W1": W1, "b1": b1}.items()}
    S = torch.sigmoid(torch.tensor(X) @ params["W1"].T + params["b1"])
    out = S @ params["W2"].T + params["b2"]
    torch.nn.functional.mse_loss(out, torch.tensor(T)).backward()
    return {k: p.grad.numpy() for k, p in params.items()}


def _bug_still_there(out: dict[str, Any], case: Case) -> str | None:
    planted = _sigmoid_mse_grads(**case.args, planted_bug=True)
    try:
        same = all(np.allclose(np.asarray(out[k], dtype=float), planted[k], rtol=1e-8,
                               atol=1e-12) for k in ("W1", "b1"))
    except (TypeError, ValueError):
        return None
    if same:
        return ("W1 and b1 still carry the planted bug: sigma'(z) must be computed from the "
                "sigmoid's output s, as s (1 - s), not from z; a gradient check flags exactly "
                "these two")
    return None


register(Question(
    id="ch01.find_the_bug",
    points=2,
    description="Locate the planted bug in a sigmoid-MLP backward with a gradient check, and "
                "return the corrected gradients.",
    signature="sigmoid_mse_gradients(X, T, W1, b1, W2, b2) -> {'W2', 'b2', 'W1', 'b1'}",
    outputs=("W2", "b2", "W1", "b1"),
    public=_bug_public,
    hidden=_bug_hidden,
    reference=_bug_reference,
    requirements=(_bug_still_there,),
    needs=("torch",),
))
