"""Chapter 1 runners: the sigmoid is given a ``Value`` and must return one."""
from __future__ import annotations

from typing import Any

from dlbook.grading.compare import Mismatch, describe_type


def value_sigmoid(sigmoid: Any, args: dict[str, Any]) -> dict[str, Any]:
    """``out = sigmoid(Value(x))``, ``out.backward()``: the value and the input's gradient."""
    from dlbook.autograd import Value

    v = Value(args["x"])
    out = sigmoid(v)
    if not isinstance(out, Value):
        raise Mismatch(f"sigmoid returned {describe_type(out)}, expected a Value built "
                       "from Value operations")
    out.backward()
    return {"value": out.data, "grad": v.grad}
