"""pytest configuration for every test run from the repository root (the library tests and
the notebooks under nbval).

nbval waits at most 5 seconds (fixed in its code) for each output message of a cell once the
cell has finished. On a loaded machine, with two notebooks running at once under the portable
settings of ``make test``, a kernel's output thread can lag longer than that after a long
training cell, and a cell whose outputs are right then fails with "Timeout of 5 seconds
exceeded waiting for output". The machine that checks a notebook is not the one that wrote it,
so give it time; a cell that really hangs is still caught by nbval's cell timeout.
"""
from __future__ import annotations

import pytest

NBVAL_OUTPUT_TIMEOUT = 60  # seconds between two output messages of a finished cell


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if type(item).__name__ == "IPyNbCell":  # nbval's notebook cell
            item.output_timeout = NBVAL_OUTPUT_TIMEOUT
