"""dlbook.bench: both sides of every case compute the same thing; timing, reports, CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dlbook import cli
from dlbook.bench import CASES, BenchResult, select, write_outputs
from dlbook.bench.command import all_cores
from dlbook.bench.report import markdown_table
from dlbook.bench.timing import fixed_threads, time_pair


def _numpy(value):
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("batch", [1, 3])
def test_both_sides_of_a_case_compute_the_same_thing(case, batch):
    pair = case.build(np.dtype(np.float64), batch, "cpu")
    for _ in range(2):  # the second call runs on updated weights / accumulated grads
        ours, theirs = _numpy(pair.numpy_step()), _numpy(pair.torch_step())
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-11)


def test_float32_cases_run_in_float32():
    for case in CASES:
        out = case.build(np.dtype(np.float32), 2, "cpu").numpy_step()
        assert np.asarray(out).dtype == np.float32 or np.ndim(out) == 0, case.name


def test_targets_follow_the_issue():
    by_name = {c.name: c for c in CASES}
    conv = next(c for c in CASES if c.kind == "conv")
    assert conv.target("float32") == 2.5 and conv.target("float64") == 1.0
    assert by_name["MaxPool2d 2x2 on 16x16x16"].target("float32") == 1.0


def test_time_pair_interleaves_and_returns_medians():
    calls = []
    numpy_s, torch_s = time_pair(lambda: calls.append("np"), lambda: calls.append("t"),
                                 repeats=3, min_time=0.0)
    assert numpy_s > 0 and torch_s > 0
    # warm-up, one calibration call each, then np/torch alternating three times
    assert calls == ["np", "t", "np", "t"] + ["np", "t"] * 3


def test_fixed_threads_limits_torch_and_restores_it():
    before = torch.get_num_threads()
    with fixed_threads(1) as setup:
        assert torch.get_num_threads() == 1 and setup["threads"] == 1
        assert all(lib["num_threads"] == 1 for lib in setup["blas"])
    assert torch.get_num_threads() == before


def test_select_filters_and_explains_an_unknown_pattern():
    assert [c.kind for c in select("maxpool")] == ["pool"]
    assert len(select("conv2d*")) == sum(c.kind == "conv" for c in CASES)
    with pytest.raises(ValueError, match="the cases are"):
        select("no such layer")


def _result(ratio: float, target: float = 1.0, dtype: str = "float32") -> BenchResult:
    return BenchResult("Linear", "mlp", dtype, 64, numpy_s=ratio * 1e-3, torch_s=1e-3,
                       target=target)


def test_result_ratio_and_verdict():
    assert _result(0.5).met and not _result(1.5).met and _result(1.5, target=2.5).met
    assert _result(2.0).as_dict()["ratio"] == pytest.approx(2.0)


def test_outputs_are_written(tmp_path):
    setup = {"threads": 1, "blas": [], "machine": {"cpu": "x", "cores": 2, "torch": "2",
                                                   "date": "2026-01-01"}}
    results = [_result(0.5), _result(3.0, dtype="float64")]
    paths = write_outputs(results, setup, tmp_path)
    assert sorted(p.name for p in paths) == ["ratios.png", "results.json", "results.md"]
    data = json.loads((tmp_path / "results.json").read_text())
    assert [r["met"] for r in data["results"]] == [True, False]
    table = (tmp_path / "results.md").read_text()
    assert "**3.00** ✗" in table and "1 of 2 measurements meet their target." in table
    assert (tmp_path / "ratios.png").stat().st_size > 1000
    assert not list(tmp_path.glob("*.tmp"))
    assert markdown_table(results, setup).count("\n| Linear") == 1  # one row per case, batch


def test_one_row_per_thread_count():
    setup = {"threads": [1, 2], "blas": [], "machine": {"cpu": "x", "cores": 2, "torch": "2",
                                                        "date": "2026-01-01"},
             "load_average": {"before": [0.5, 0.5, 0.5]}}
    results = [BenchResult("Linear", "mlp", "float32", 64, 1e-3, 1e-3, 1.0, threads=n)
               for n in (1, 2)]
    table = markdown_table(results, setup)
    assert "| Linear | 64 | 1 |" in table and "| Linear | 64 | 2 |" in table
    assert "1 and 2 threads" in table and "load average 0.50" in table


def test_cli_quick_run_writes_the_table(tmp_path, capsys):
    code = cli.main(["bench", "--quick", "--filter", "maxpool", "--dtype", "float64",
                     "--repeats", "1", "--out", str(tmp_path)])
    assert code == 0
    assert "MaxPool2d 2x2" in capsys.readouterr().out
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["results"][0]["batch"] == 64
    # by default one thread and every core this process may use
    assert [r["threads"] for r in data["results"]] == list(dict.fromkeys([1, all_cores()]))
    assert data["setup"]["threads"] == list(dict.fromkeys([1, all_cores()]))


def test_cli_rejects_bad_arguments(capsys):
    assert cli.main(["bench", "--filter", "nothing like this"]) == 2
    assert cli.main(["bench", "--threads", "0"]) == 2
    assert "error:" in capsys.readouterr().out
