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
