"""A matplotlib figure as a notebook output, for the explorers' ``Output`` widgets.

The explorers write their figure into ``Output.outputs`` directly (not through pyplot's
inline backend), so an executed notebook keeps the same cell outputs under nbclient and
nbval, and the built book shows the saved figure.
"""
from __future__ import annotations

import base64
import io
from typing import Any


def figure_output(fig: Any, text: str, dpi: int) -> dict[str, Any]:
    """A ``display_data`` output holding ``fig`` as a PNG at ``dpi``, with ``text`` as its
    plain-text alternative."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    png = base64.b64encode(buf.getvalue()).decode("ascii")
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": png, "text/plain": text}}
