"""``Optimizer``: the base class of dlbook's optimizers, mirroring ``torch.optim.Optimizer``.

An optimizer holds ``param_groups`` (a list of dicts, each with its ``"params"`` and its own
hyperparameters) and ``state`` (a dict per parameter: step counts, moment estimates, ...).
``step()`` walks every parameter whose ``.grad`` is not ``None`` and hands it to the subclass's
update rule, which changes ``p.data`` in place and never touches ``p.grad``.
"""
from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from dlbook.nn.module import to_numpy
from dlbook.nn.parameter import Parameter

ParamsT = Iterable[Parameter] | Iterable[dict[str, Any]]


class Optimizer:
    """Base class: parameter groups, per-parameter state, ``zero_grad``, ``step``, state dicts.

    Args:
        params: an iterable of ``Parameter`` s, or of dicts ``{"params": [...], "lr": ..., ...}``
            giving each group its own hyperparameters (those it leaves out take ``defaults``).
        defaults: the hyperparameters of the subclass's constructor.

    Subclasses implement ``_update(param, grad, state, group)`` for one parameter's array and
    may implement ``_check_group(group)`` to validate a group's hyperparameters.

    NOTE: torch validates hyperparameters only in the constructor; dlbook validates every
    group as it is added, so a bad value in a group dict fails as clearly as a bad argument.
    torch only warns about a parameter listed twice; dlbook raises.
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        if isinstance(params, (Parameter, np.ndarray)):
            raise TypeError("params given to the optimizer should be an iterable of Parameters "
                            f"or dicts, but got {type(params).__name__}")
        _check_ordered(params)
        self.defaults = dict(defaults)
        self.state: defaultdict[Parameter, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group ``{"params": ..., name: value}``; missing values take the defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        _check_ordered(params)
        params = [params] if isinstance(params, Parameter) else list(params)
        for p in params:
            if not isinstance(p, Parameter):
                raise TypeError("optimizer can only optimize dlbook Parameters, but one of the "
                                f"params is {type(p).__name__}")
        seen = {p for group in self.param_groups for p in group["params"]}
        if len(set(params)) != len(params) or seen & set(params):
            raise ValueError("some parameters appear more than once in the optimizer's groups")
        group = {**self.defaults, **param_group, "params": params}
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Raise ``ValueError`` for invalid hyperparameters (``lr`` here; subclasses add more)."""
        if "lr" in group:
            check_nonnegative(group, "lr", "learning rate")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients: ``None`` (the default, as torch >= 2.0) or zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad[...] = 0

    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Update every parameter that has a gradient; return ``closure()`` if one is given.

        ``closure`` (as torch's) re-evaluates the model and returns the loss; it runs before the
        update. Parameters whose ``.grad`` is ``None`` are skipped and their state is untouched.
        """
        loss = None if closure is None else closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = -p.grad if group.get("maximize", False) else p.grad
                self._update(p.data, grad, self.state[p], group)
        return loss

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        """Change ``param`` in place from ``grad``; ``state`` is this parameter's own dict."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _update()")

    # -- state dicts (torch's layout: parameters are named by their index over all groups) --
    def state_dict(self) -> dict[str, Any]:
        """Copies: ``{"state": {index: {...}}, "param_groups": [{..., "params": [index]}]}``."""
        index: dict[Parameter, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(p, len(index)) for p in group["params"]]
            groups.append(packed)
        state = {index[p]: copy.deepcopy(s) for p, s in self.state.items() if p in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and state from ``state_dict`` (dlbook's or torch's).

        Tensors become NumPy arrays of each parameter's dtype; ``step`` becomes an int.
        Raises ``ValueError`` when the groups differ in number or size.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, this "
                             f"optimizer has {len(self.param_groups)}")
        params: dict[Any, Parameter] = {}
        for saved, group in zip(saved_groups, self.param_groups, strict=True):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"loaded state dict has a group of {len(saved['params'])} "
                                 f"parameters where this optimizer has {len(group['params'])}")
            params.update(zip(saved["params"], group["params"], strict=True))
        self.param_groups = [{**copy.deepcopy({k: v for k, v in saved.items() if k != "params"}),
                              "params": group["params"]}
                             for saved, group in zip(saved_groups, self.param_groups, strict=True)]
        self.state = defaultdict(dict)
        for key, saved_state in state_dict["state"].items():
            p = params[key]
            self.state[p] = {name: _load_value(name, value, p) for name, value in
                             saved_state.items()}

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines + [")"])


def _check_ordered(params: Any) -> None:
    if isinstance(params, (set, frozenset)):
        raise TypeError("optimizer parameters need to be organized in ordered collections, "
                        "but the order of a set changes between runs; use a list instead")


def _load_value(name: str, value: Any, p: Parameter) -> Any:
    """A state entry from a state dict: ``step`` as an int, arrays in ``p``'s dtype."""
    if value is None or isinstance(value, (int, float)):
        return value
    array = to_numpy(value)
    if name == "step":
        return int(round(float(array)))
    return array.astype(p.dtype) if np.issubdtype(array.dtype, np.floating) else array


def check_nonnegative(group: dict[str, Any], key: str, what: str) -> None:
    """Raise ``ValueError(f"Invalid {what}: ...")`` unless ``group[key] >= 0`` (torch's wording)."""
    if not group[key] >= 0.0:
        raise ValueError(f"Invalid {what}: {group[key]}")
