"""Proofs that a dlbook layer is right: ``compare`` against its torch twin, ``gradcheck``.

``compare(np_module, torch_module, *inputs)`` copies torch's weights into the NumPy module,
runs forward and backward on both with one random upstream gradient, and returns a
:class:`ParityReport`: one row per quantity (the output, each input gradient, every parameter
gradient by torch's name, every floating buffer), with the largest absolute and relative
error and whether it is within tolerance.

``gradcheck(module, *inputs)`` needs no torch: it compares ``backward`` with central
differences of :math:`f(\\theta) = \\sum G \\odot \\text{forward}(\\theta)` for a random
:math:`G`, for every input and every parameter entry.

A report prints as a table whose error columns are rounded to an order of magnitude
("< 1e-12", or "< 1e-10" for an error of 2.3e-11), so a notebook shows the same text on any
CPU, BLAS or GPU; the exact numbers are kept on the rows (``row.max_abs``, ``row.max_rel``)
and in ``report.worst``.

torch is imported inside ``compare`` only; ``import dlbook.parity`` does not import it.
"""
from __future__ import annotations

import contextlib
import copy
import html
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlbook.nn.module import Module, no_grad, to_numpy

# Default tolerances of ``np.allclose(ours, reference, rtol, atol)``, by dtype.
TOLERANCES = {np.dtype(np.float64): (1e-10, 1e-12), np.dtype(np.float32): (1e-4, 1e-5)}
# Errors below these are printed as "< floor" (absolute, relative), so printed text is the same
# on every machine; float64 rounding errors are ~1e-16, float32's ~1e-7 relative.
DISPLAY_FLOORS = {np.dtype(np.float64): (1e-12, 1e-12), np.dtype(np.float32): (1e-4, 1e-5)}


# -- the report --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ParityRow:
    """One compared quantity: its name, shape, largest errors and verdict.

    ``max_rel`` is normwise: ``max|ours - ref| / max|ref|`` (0 when both are all zeros), which
    stays meaningful where single entries of the reference are near zero.
    """

    quantity: str
    shape: tuple[int, ...]
    max_abs: float
    max_rel: float
    ok: bool


@dataclass
class ParityReport:
    """Rows of compared quantities; ``ok`` when every row is within tolerance.

    Prints as a plain-text table (``str``/``repr``) and shows as an HTML table in a notebook.
    """

    title: str
    rows: list[ParityRow] = field(default_factory=list)
    floors: tuple[float, float] = (1e-12, 1e-12)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def worst(self) -> float:
        """The largest absolute error over all rows (0.0 for an empty report)."""
        return max((r.max_abs for r in self.rows), default=0.0)

    def __getitem__(self, quantity: str) -> ParityRow:
        for row in self.rows:
            if row.quantity == quantity:
                return row
        raise KeyError(f"no row '{quantity}'; rows: {[r.quantity for r in self.rows]}")

    def assert_ok(self) -> ParityReport:
        """Raise ``AssertionError`` with the table (exact errors) unless every row is ok."""
        if not self.ok:
            raise AssertionError("parity failed:\n" + self.table(exact=True))
        return self

    def summary(self) -> str:
        bad = sum(not r.ok for r in self.rows)
        verdict = f"all {len(self.rows)} agree" if bad == 0 else f"{bad} of {len(self.rows)} FAIL"
        return f"{self.title}: {verdict}"

    def _cells(self, exact: bool) -> list[list[str]]:
        fmt = _exact if exact else _bucket
        return [[r.quantity, str(r.shape), fmt(r.max_abs, self.floors[0], r.ok),
                 fmt(r.max_rel, self.floors[1], r.ok), "ok" if r.ok else "FAIL"]
                for r in self.rows]

    def table(self, exact: bool = False) -> str:
        """The plain-text table; ``exact=True`` prints the errors to two digits."""
        lines = [_HEADER] + self._cells(exact)
        widths = [max(len(line[i]) for line in lines) for i in range(len(_HEADER))]
        text = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
                for line in lines]
        return "\n".join([self.summary()] + text)

    def __str__(self) -> str:
        return self.table()

    __repr__ = __str__

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{h}</th>" for h in _HEADER)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
            for cells in self._cells(exact=False))
        return (f"<p><b>{html.escape(self.summary())}</b></p>"
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


_HEADER = ["quantity", "shape", "max abs err", "max rel err", "ok"]


def _bucket(value: float, floor: float, ok: bool = True) -> str:
    """``"< floor"`` below the floor; above it, for a row within tolerance, the decade it lies
    in (``"< 1e-10"`` for 2.3e-11), since its leading digit is rounding noise that changes with
    the CPU; a failing row shows one significant digit."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf"
    if value < floor:
        return f"< {floor:.0e}"
    return f"< 1e{math.floor(math.log10(value)) + 1:+03d}" if ok else f"{value:.0e}"


def _exact(value: float, floor: float, ok: bool = True) -> str:
    return f"{value:.2e}"


def compare_arrays(quantity: str, ours: Any, ref: Any, rtol: float, atol: float) -> ParityRow:
    """One report row: ``ours`` against the reference ``ref`` with ``np.allclose``'s test.

    A row fails, and says so in its name, when the shapes or the dtypes differ (a float32
    result where the reference is float64 is dtype drift, even when the values agree).
    """
    ours, ref = np.asarray(ours), np.asarray(ref)
    if ours.shape != ref.shape:
        return ParityRow(f"{quantity} (shape {ours.shape} vs {ref.shape})", ref.shape,
                         math.inf, math.inf, False)
    same_dtype = ours.dtype == ref.dtype
    if not same_dtype:
        quantity = f"{quantity} (dtype {ours.dtype} vs {ref.dtype})"
    diff = np.abs(ours.astype(np.float64) - ref.astype(np.float64))
    max_abs = float(diff.max()) if diff.size else 0.0
    scale = float(np.abs(ref).max()) if ref.size else 0.0
    max_rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else math.inf)
    ok = same_dtype and bool(np.allclose(ours, ref, rtol=rtol, atol=atol))
    return ParityRow(quantity, tuple(ref.shape), max_abs, max_rel, ok)


def _tolerances(dtype: np.dtype, rtol: float | None, atol: float | None) -> tuple[float, float]:
    default_rtol, default_atol = TOLERANCES.get(dtype, TOLERANCES[np.dtype(np.float32)])
    return (default_rtol if rtol is None else rtol), (default_atol if atol is None else atol)


def _floors(dtype: np.dtype) -> tuple[float, float]:
    return DISPLAY_FLOORS.get(dtype, DISPLAY_FLOORS[np.dtype(np.float32)])


def _select(out: Any, index: int) -> Any:
    """Element ``index`` of a tuple output, then the first element of any nested tuple."""
    while isinstance(out, (tuple, list)):
        out, index = out[index], 0
    return out


def _as_tuple(grads: Any) -> tuple:
    return tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)


# -- compare against torch ---------------------------------------------------------------------
@contextlib.contextmanager
def tf32_disabled(torch: Any) -> Iterator[None]:
    """Switch TF32 off for CUDA matmuls and convolutions, restoring the settings afterwards."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def _float_dtype(torch_module: Any, arrays: list[np.ndarray]) -> np.dtype:
    """The dtype of the torch module's first floating parameter or buffer; for a module with
    none, that of the first floating input; float64 if neither exists."""
    for t in list(torch_module.parameters()) + list(torch_module.buffers()):
        if t.dtype.is_floating_point:
            return np.dtype(str(t.dtype).removeprefix("torch."))
    return next((a.dtype for a in arrays if np.issubdtype(a.dtype, np.floating)),
                np.dtype(np.float64))


def compare(np_module: Module, torch_module: Any, *inputs: Any, device: str | None = None,
            grad_out: Any = None, output: int = 0, seed: int = 0, rtol: float | None = None,
            atol: float | None = None, forward_kwargs: dict[str, Any] | None = None
            ) -> ParityReport:
    """Run ``np_module`` and ``torch_module`` on the same inputs and compare everything.

    1. torch's ``state_dict`` is loaded into ``np_module`` (so its dtype becomes torch's) and
       ``np_module`` takes torch's train/eval mode. A name that only one side has is a failed
       row, not an exception. The torch module itself is not changed: a copy runs on
       ``device`` (default ``"cuda"`` when torch sees one, else ``"cpu"``).
    2. Inputs (NumPy arrays or torch tensors) keep integer dtypes; floating inputs take the
       torch module's dtype (the inputs' own dtype for a module without floating state) and
       require grad on the torch side. A NumPy input that already has that dtype is passed to
       ``np_module`` itself, not a copy, as is the upstream gradient: a row fails if the
       NumPy module changed either in place.
    3. Forward on both. Where the output is a tuple, element ``output`` is compared
       (``LSTM``'s ``output`` for the default 0).
    4. One upstream gradient ``grad_out`` (standard normal from ``default_rng(seed)`` unless
       given) goes backward through both, after the gradients are cleared.
    5. Compared: the output, each input gradient (``np_module.backward`` returns one per
       floating input; a single array where torch has several floating inputs, as a loss's
       ``(input, target)``, is the first one's), each parameter gradient by torch's name, and
       each floating buffer after the forward pass (running statistics). Every row also
       checks that the dtypes match torch's (no silent promotion or demotion).

    ``forward_kwargs`` go to both forwards (NumPy arrays become tensors on the torch side),
    e.g. ``{"need_weights": False}``.

    Tolerances are ``np.allclose``'s, by default float64: ``rtol=1e-10, atol=1e-12`` and
    float32: ``rtol=1e-4, atol=1e-5``. On CUDA, TF32 is switched off while comparing.
    """
    import torch

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    tm = copy.deepcopy(torch_module).to(device)
    tm.zero_grad(set_to_none=True)
    torch_state = torch_module.state_dict()
    np_module.load_state_dict(torch_state, strict=False)  # missing names become failed rows
    np_module.train(torch_module.training)
    np_module.zero_grad()
    arrays = [x if isinstance(x, np.ndarray) else to_numpy(x) for x in inputs]
    dtype = _float_dtype(torch_module, arrays)
    arrays = [a.astype(dtype) if a.dtype.kind == "f" and a.dtype != dtype else a
              for a in arrays]
    before = [a.copy() for a in arrays]
    rtol, atol = _tolerances(dtype, rtol, atol)
    report = ParityReport(f"{type(np_module).__name__} vs torch.nn.{type(torch_module).__name__}"
                          f" ({dtype.name})", floors=_floors(dtype))
    report.rows += [ParityRow(f"{k} (not in torch's state_dict)", v.shape, math.inf, math.inf,
                              False) for k, v in np_module.state_dict().items()
                    if k not in torch_state]
    kwargs = forward_kwargs or {}
    t_kwargs = {k: torch.tensor(v, device=device) if isinstance(v, np.ndarray) else v
                for k, v in kwargs.items()}
    tf32 = tf32_disabled(torch) if str(device).startswith("cuda") else contextlib.nullcontext()
    with tf32:
        t_inputs = [torch.tensor(a, device=device,
                                 requires_grad=bool(np.issubdtype(a.dtype, np.floating)))
                    for a in arrays]
        t_out = _select(tm(*t_inputs, **t_kwargs), output)
        np_out = np.asarray(_select(np_module(*arrays, **kwargs), output))
        report.rows.append(compare_arrays("output", np_out, to_numpy(t_out), rtol, atol))
        _compare_buffers(report, np_module, tm, rtol, atol)
        g = _grad_out(grad_out, tuple(t_out.shape), dtype, np.random.default_rng(seed))
        t_out.backward(torch.tensor(g, device=device, dtype=t_out.dtype))
        g_before = g.copy()
        np_grads = _as_tuple(np_module.backward(g))
    report.rows += [ParityRow(f"input {i} (changed in place by {type(np_module).__name__})",
                              a.shape, math.inf, math.inf, False)
                    for i, (a, b) in enumerate(zip(arrays, before, strict=True))
                    if not np.array_equal(a, b, equal_nan=a.dtype.kind == "f")]
    if not np.array_equal(g, g_before):
        report.rows.append(ParityRow("grad_out (changed in place by backward)", g.shape,
                                     math.inf, math.inf, False))
    _compare_input_grads(report, np_grads, t_inputs, rtol, atol)
    _compare_param_grads(report, np_module, tm, rtol, atol)
    return report


def _grad_out(grad_out: Any, shape: tuple[int, ...], dtype: np.dtype,
              rng: np.random.Generator) -> np.ndarray:
    if grad_out is None:
        return rng.standard_normal(shape).astype(dtype)
    g = to_numpy(grad_out).astype(dtype)
    if g.shape != shape:
        raise ValueError(f"compare: grad_out has shape {g.shape}, the output has shape {shape}")
    return g


def _compare_buffers(report: ParityReport, np_module: Module, tm: Any, rtol: float,
                     atol: float) -> None:
    ours = dict(np_module.named_buffers())
    for name, buf in tm.named_buffers():
        if not buf.dtype.is_floating_point:
            continue
        if name not in ours:
            report.rows.append(ParityRow(f"buffer {name} (missing in dlbook)", tuple(buf.shape),
                                         math.inf, math.inf, False))
        else:
            report.rows.append(compare_arrays(f"buffer {name}", ours[name], to_numpy(buf),
                                              rtol, atol))


def _compare_input_grads(report: ParityReport, np_grads: tuple, t_inputs: list, rtol: float,
                         atol: float) -> None:
    wanted = [(i, t) for i, t in enumerate(t_inputs) if t.grad is not None]
    if len(np_grads) == 1 and len(wanted) > 1:  # a loss: backward returns d/d(input) only
        wanted = wanted[:1]
    for k, (i, t) in enumerate(wanted):
        ref = to_numpy(t.grad)
        if k >= len(np_grads) or np_grads[k] is None:
            report.rows.append(ParityRow(f"grad input {i} (not returned by backward)",
                                         ref.shape, math.inf, math.inf, False))
        else:
            report.rows.append(compare_arrays(f"grad input {i}", np_grads[k], ref, rtol, atol))


def _compare_param_grads(report: ParityReport, np_module: Module, tm: Any, rtol: float,
                         atol: float) -> None:
    ours = dict(np_module.named_parameters())
    for name, p in tm.named_parameters():
        if p.grad is None:
            continue
        ref = to_numpy(p.grad)
        mine = ours[name].grad if name in ours else None
        if mine is None:
            why = "missing in dlbook" if name not in ours else "no gradient in dlbook"
            report.rows.append(ParityRow(f"grad {name} ({why})", ref.shape, math.inf,
                                         math.inf, False))
        else:
            report.rows.append(compare_arrays(f"grad {name}", mine, ref, rtol, atol))


# -- central differences -----------------------------------------------------------------------
def gradcheck(fn: Module | tuple[Callable, Callable], *inputs: Any, grad_out: Any = None,
              eps: float = 1e-6, atol: float = 1e-8, rtol: float = 1e-6, output: int = 0,
              seed: int = 0) -> ParityReport:
    r"""Check ``backward`` against central differences, in float64.

    ``fn`` is a dlbook ``Module`` (its input gradients and every parameter gradient are
    checked) or a pair ``(forward, backward)`` of functions (input gradients only). With
    :math:`G` the upstream gradient (standard normal from ``default_rng(seed)`` unless given),
    the numerical derivative of :math:`f = \sum G \odot \text{forward}(\theta)` in each
    entry :math:`\theta_j` is

    .. math::
        \frac{\partial f}{\partial \theta_j} \approx
        \sum G \odot \frac{\text{forward}(\theta + \epsilon e_j)
        - \text{forward}(\theta - \epsilon e_j)}{2 \epsilon},

    with the difference of outputs taken before the sum (so rounding in :math:`f` cancels).
    A module's parameters and buffers are restored afterwards and its ``.grad`` holds the
    analytic gradients. Integer inputs (indices) are passed through unchecked.
    """
    arrays = [np.asarray(x) for x in inputs]
    for i, a in enumerate(arrays):
        if np.issubdtype(a.dtype, np.floating) and a.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {a.dtype}; central differences need "
                            "float64 (use x.astype(np.float64))")
    if isinstance(fn, Module):
        return _gradcheck_module(fn, arrays, grad_out, eps, atol, rtol, output, seed)
    forward, backward = fn
    out = _select(forward(*arrays), output)
    g = _grad_out(grad_out, np.shape(out), np.dtype(np.float64), np.random.default_rng(seed))
    analytic = _as_tuple(backward(g.copy()))
    report = ParityReport(f"gradcheck {getattr(forward, '__name__', 'forward')} (float64)",
                          floors=(atol, rtol))
    run = lambda: np.asarray(_select(forward(*arrays), output))  # noqa: E731
    _check_inputs(report, run, arrays, analytic, g, eps, atol, rtol)
    return report


def _gradcheck_module(module: Module, arrays: list[np.ndarray], grad_out: Any, eps: float,
                      atol: float, rtol: float, output: int, seed: int) -> ParityReport:
    params = list(module.named_parameters())
    for name, p in params:
        if p.data.dtype != np.float64:
            raise TypeError(f"gradcheck: parameter '{name}' is {p.data.dtype}; central "
                            "differences need float64 (call module.double())")
    state = module.state_dict()
    run = lambda: np.asarray(_select(module(*arrays), output))  # noqa: E731
    out = run()
    g = _grad_out(grad_out, out.shape, np.dtype(np.float64), np.random.default_rng(seed))
    module.zero_grad()
    analytic = _as_tuple(module.backward(g.copy()))
    grads = {name: (np.zeros_like(p.data) if p.grad is None else p.grad.copy())
             for name, p in params}
    report = ParityReport(f"gradcheck {type(module).__name__} (float64)", floors=(atol, rtol))
    with no_grad():  # the perturbed forwards need no backward: they keep no cache
        _check_inputs(report, run, arrays, analytic, g, eps, atol, rtol)
        for name, p in params:
            numeric = _numeric_grad(run, p.data, g, eps)
            report.rows.append(compare_arrays(f"grad {name}", grads[name], numeric, rtol, atol))
    module.load_state_dict(state)  # undo the perturbed forwards' buffer updates
    for name, p in params:
        p.grad = grads[name]
    return report


def _check_inputs(report: ParityReport, run: Callable[[], np.ndarray],
                  arrays: Sequence[np.ndarray], analytic: tuple, g: np.ndarray, eps: float,
                  atol: float, rtol: float) -> None:
    floating = [i for i, a in enumerate(arrays) if np.issubdtype(a.dtype, np.floating)]
    for k, i in enumerate(floating):
        numeric = _numeric_grad(run, arrays[i], g, eps)
        if k >= len(analytic) or analytic[k] is None:
            report.rows.append(ParityRow(f"grad input {i} (not returned by backward)",
                                         numeric.shape, math.inf, math.inf, False))
        else:
            report.rows.append(compare_arrays(f"grad input {i}", analytic[k], numeric,
                                              rtol, atol))


def _numeric_grad(run: Callable[[], np.ndarray], x: np.ndarray, g: np.ndarray,
                  eps: float) -> np.ndarray:
    """Central differences of ``sum(g * run())`` in each entry of ``x`` (perturbed in place,
    then restored exactly)."""
    grad = np.zeros(x.shape, dtype=np.float64)
    flat, out = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("gradcheck: inputs and parameters must be contiguous arrays")
    for j in range(flat.size):
        saved = flat[j]
        flat[j] = saved + eps
        plus = run()
        flat[j] = saved - eps
        minus = run()
        flat[j] = saved
        out[j] = np.sum(g * (plus - minus)) / (2 * eps)
    return grad
