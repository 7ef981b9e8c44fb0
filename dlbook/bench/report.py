"""Benchmark outputs: ``results.json``, a markdown table the book includes, a plot of ratios."""
from __future__ import annotations

import datetime
import json
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dlbook.bench.timing import BenchResult


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on: CPU, cores, library versions."""
    import torch

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "torch": torch.__version__,
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "date": datetime.date.today().isoformat()}


def _cell(result: BenchResult | None) -> tuple[str, str]:
    """``("NumPy / torch ms", "ratio")`` for one table cell pair; a miss is bold and marked."""
    if result is None:
        return "", ""
    times = f"{result.numpy_s * 1e3:.3g} / {result.torch_s * 1e3:.3g}"
    ratio = f"{result.ratio:.2f}" if result.met else f"**{result.ratio:.2f}** ✗"
    return times, ratio


def _threads_text(threads: int | Sequence[int]) -> str:
    counts = [threads] if isinstance(threads, int) else list(threads)
    return " and ".join(map(str, counts)) + (" thread" if counts == [1] else " threads")


def markdown_table(results: Sequence[BenchResult], setup: dict[str, Any]) -> str:
    """One row per case, batch size and thread count, float32 and float64 side by side, the
    setup above."""
    blas = ", ".join(f"{b['internal_api']} {b['version']} ({b['architecture']})"
                     for b in setup.get("blas", [])) or "unknown"
    targets = sorted({(r.dtype, r.kind, r.target) for r in results})
    target_text = "; ".join(f"{kind} {dtype} {target:g}x" for dtype, kind, target in targets
                            if target != 1.0) or "none above 1x"
    load = setup.get("load_average", {}).get("before")
    load_text = f" (load average {load[0]:.2f} before the run)" if load else ""
    lines = [f"Measured on {setup['machine']['cpu']} ({setup['machine']['cores']} cores)"
             f"{load_text}, {_threads_text(setup['threads'])} for NumPy's BLAS ({blas}) and "
             f"for torch {setup['machine']['torch']}, on {setup['machine']['date']}. Median of "
             "interleaved repeats; ratio = NumPy time / torch time; target 1x except "
             f"{target_text}; ✗ marks a miss.", ""]
    by_key = {(r.case, r.batch, r.threads, r.dtype): r for r in results}
    rows = list(dict.fromkeys((r.case, r.batch, r.threads) for r in results))
    cuda = any(r.torch_cuda_s is not None for r in results)
    lines += ["| case | batch | threads | float32 ms (NumPy / torch) | ratio "
              "| float64 ms (NumPy / torch) | ratio |"
              + (" torch CUDA float32 ms |" if cuda else ""),
              "|---|---:|---:|---:|---:|---:|---:|" + ("---:|" if cuda else "")]
    for case, batch, threads in rows:
        f32, f64 = (by_key.get((case, batch, threads, dt)) for dt in ("float32", "float64"))
        row = f"| {case} | {batch} | {threads} | " + " | ".join(_cell(f32) + _cell(f64)) + " |"
        if cuda:
            row += f" {f32.torch_cuda_s * 1e3:.3g} |" if f32 and f32.torch_cuda_s else " |"
        lines.append(row)
    met = sum(r.met for r in results)
    lines += ["", f"{met} of {len(results)} measurements meet their target."]
    return "\n".join(lines) + "\n"


def plot_ratios(results: Sequence[BenchResult], path: Path) -> None:
    """Horizontal bars of the ratios (log scale) with each case's target marked."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r.case} · {r.dtype} · N={r.batch} · {r.threads}T" for r in results]
    ratios = np.array([r.ratio for r in results])
    fig, ax = plt.subplots(figsize=(8, 0.22 * len(results) + 1.2), dpi=80)
    y = np.arange(len(results))
    ax.barh(y, ratios, color=["tab:green" if r.met else "tab:red" for r in results])
    ax.scatter([r.target for r in results], y, marker="|", s=200, color="black",
               label="target")
    ax.set_xscale("log")
    ticks = [t for t in (0.125, 0.25, 0.5, 1, 2, 4, 8, 16)
             if ratios.min() / 2 <= t <= max(ratios.max(), 2.5) * 2]
    ax.set_xticks(ticks, [f"{t:g}x" for t in ticks])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.axvline(1.0, color="grey", lw=0.8)
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("NumPy time / torch time (lower is better)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_outputs(results: Sequence[BenchResult], setup: dict[str, Any], out_dir: Path
                  ) -> list[Path]:
    """Write results.json, results.md and ratios.png into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path, png_path = (out_dir / n for n in
                                    ("results.json", "results.md", "ratios.png"))
    _write_atomic(json_path, json.dumps(
        {"setup": setup, "results": [r.as_dict() for r in results]}, indent=1) + "\n")
    _write_atomic(md_path, markdown_table(results, setup))
    plot_ratios(results, png_path)
    return [json_path, md_path, png_path]
