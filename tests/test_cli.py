"""The `dlbook` command: --version, exercises build [--check], doctor."""
from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import dlbook
from dlbook import cli, doctor

ROOT = Path(__file__).resolve().parents[2]


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"dlbook {dlbook.__version__}\n"


def test_python_dash_m():
    run = subprocess.run([sys.executable, "-m", "dlbook", "--version"], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert (run.returncode, run.stdout) == (0, f"dlbook {dlbook.__version__}\n")


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "exercises" in capsys.readouterr().out
    assert cli.main(["exercises"]) == 2


def write_solution(root: Path, source: str) -> None:
    cell = new_code_cell(source, metadata={"nbgrader": {"grade_id": "q", "solution": True}})
    cell.id = "c0"
    (root / "solutions").mkdir(exist_ok=True)
    nbformat.write(new_notebook(cells=[cell]), root / "solutions" / "ch42_demo.ipynb")


def test_exercises_build_and_check(tmp_path, capsys):
    write_solution(tmp_path, "### BEGIN SOLUTION\nx = 1\n### END SOLUTION")
    args = ["exercises", "build", "--root", str(tmp_path)]
    assert cli.main(args + ["--check"]) == 1
    assert "out of sync: exercises/ch42_demo.ipynb" in capsys.readouterr().out
    assert cli.main(args) == 0
    assert capsys.readouterr().out == ("wrote exercises/ch42_demo.ipynb\n"
                                       "exercises built: 1 notebook\n")
    assert cli.main(args + ["--check"]) == 0
    assert capsys.readouterr().out == "exercises in sync: 1 notebook\n"


def test_exercises_build_reports_marker_errors(tmp_path, capsys):
    write_solution(tmp_path, "### BEGIN SOLUTION\nx = 1")
    assert cli.main(["exercises", "build", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: solutions/ch42_demo.ipynb, cell 1 (grade_id q): ")
    assert "never closed" in err


def test_repository_in_sync_via_cli():
    run = subprocess.run([sys.executable, "-m", "dlbook", "exercises", "build", "--check"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_doctor_reports_each_problem_with_its_fix(monkeypatch, capsys):
    checks = (lambda: [doctor.Finding("ok", "all good")],
              lambda: [doctor.Finding("problem", "torch is not installed", "pip install torch"),
                       doctor.Finding("warn", "jupyter-book is not installed", "pip install x")])
    monkeypatch.setattr(doctor, "DOCTOR_CHECKS", checks)
    assert cli.main(["doctor"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == ["  ok       all good",
                       "  PROBLEM  torch is not installed",
                       "           fix: pip install torch",
                       "  warning  jupyter-book is not installed",
                       "           fix: pip install x",
                       "1 problem found"]
    monkeypatch.setattr(doctor, "DOCTOR_CHECKS", checks[:1])
    assert cli.main(["doctor"]) == 0
    assert capsys.readouterr().out.endswith("no problems found\n")


def test_doctor_checks_in_this_environment():
    found = doctor._check_python() + doctor._check_libraries() + doctor._check_cuda()
    assert [f.what.split()[0] for f in found[:4]] == ["Python", "numpy", "torch", "jupyter"]
    assert all(f.status == "ok" for f in found[:4])
    assert found[-1].what.startswith("CUDA: ")


def test_no_network_blocks_connections_then_restores():
    saved = socket.create_connection, socket.socket.connect
    with doctor._no_network(), pytest.raises(OSError, match="network access attempted"):
        socket.create_connection(("127.0.0.1", 9))
    assert (socket.create_connection, socket.socket.connect) == saved
