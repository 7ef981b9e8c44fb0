"""The sandbox of a graded kernel, tested directly: a probe script runs inside it with the
grader's view and environment and reports what it can reach.

Needs bubblewrap (``apt-get install bubblewrap``; ``.ci/run`` installs it).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from dlbook.grading import rules
from dlbook.grading.sandbox import Sandbox, SandboxUnavailable, bwrap_argv, kernel_env
from dlbook.grading.view import DLBOOK_ROOT, python_view

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")

PROBE = r'''
import json, os, socket, subprocess, sys, time
args = json.loads(sys.argv[1])
from dlbook.grading.launcher import prepare
prepare(1024, args["forbidden"])
seen = {}

def attempt(name, fn):
    try:
        seen[name] = fn()
    except BaseException as err:
        seen[name] = "refused: " + type(err).__name__

def connect():
    socket.create_connection(("127.0.0.1", args["port"]), timeout=2).close()
    return "connected"

def write(path):
    with open(path, "w") as f:
        f.write("x")
    return "written"

attempt("uid", os.getuid)
attempt("pids", lambda: sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
attempt("grader_cmdlines", lambda: [open(f"/proc/{p}/cmdline", "rb").read().decode(errors="replace")
                                    for p in os.listdir("/proc") if p.isdigit()])
attempt("connect_grader_port", connect)
attempt("dns", lambda: socket.getaddrinfo("pypi.org", 443))
attempt("interfaces", lambda: sorted(name for _, name in socket.if_nameindex()))
attempt("checkout", lambda: [p for p in args["secrets"] if os.path.exists(p)])
attempt("dlbook_file", lambda: __import__("dlbook").__file__)
attempt("questions", lambda: __import__("dlbook.grading.questions.ch01").__name__)
attempt("write_prefix", lambda: write(os.path.join(sys.prefix, "pwned")))
attempt("write_dlbook", lambda: write(os.path.join(args["dlbook"], "pwned.py")))
attempt("write_usr", lambda: write("/usr/pwned"))
attempt("write_tmp", lambda: write("/tmp/ok"))
attempt("write_workdir", lambda: write(os.path.join(os.getcwd(), "ok")))
attempt("torch", lambda: __import__("torch").tensor)
attempt("dlbook_nn", lambda: __import__("dlbook.nn").nn.Linear)
attempt("ctypes", lambda: __import__("ctypes").string_at(id(1), 8))
attempt("ctypes_load", lambda: __import__("ctypes").CDLL(None).getpid())
attempt("ctypes_via_numpy", lambda: __import__("numpy").core._internal.ctypes.string_at(id(1), 8))
attempt("proc_mem", lambda: open("/proc/self/mem", "rb").read(1))
attempt("proc_1_mem", lambda: open("/proc/1/mem", "rb").read(1))
# A detached grandchild that would outlive the kernel: it beats a heartbeat file.
beat = os.path.join(os.getcwd(), "heartbeat")
code = ("import os, time\nos.setsid()\n"
        f"while True:\n    open({beat!r}, 'a').write('.')\n    time.sleep(0.1)\n")
subprocess.Popen([sys.executable, "-c", code, args["token"]], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(0.5)
print(json.dumps(seen, default=str))
'''


@pytest.fixture(scope="module")
def probe() -> dict:
    """Run the probe in a bwrap sandbox as the grader would; what it saw, and the host side."""
    try:
        Sandbox("bwrap").check()
    except SandboxUnavailable as err:
        pytest.skip(str(err))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.1)
    token = f"dlbook-probe-{os.getpid()}-{time.monotonic_ns()}"
    with tempfile.TemporaryDirectory(prefix="dlbook-kernel-") as work, \
            tempfile.NamedTemporaryFile(suffix=".csv") as gradebook:
        forbidden = list(rules.FROM_SCRATCH)
        view = python_view(forbidden)
        args = {"forbidden": forbidden, "port": listener.getsockname()[1], "token": token,
                "dlbook": os.path.join(DLBOOK_ROOT, "dlbook"),
                "secrets": [str(ROOT / "solutions"), str(ROOT / "tests"), gradebook.name,
                            str(ROOT / "dlbook" / "grading" / "questions"),
                            os.path.join(DLBOOK_ROOT, "dlbook", "grading", "questions",
                                         "ch01.py")]}
        argv = bwrap_argv([sys.executable, "-c", PROBE, json.dumps(args)], work, view,
                          kernel_env(work, view.pythonpath))
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        seen = json.loads(done.stdout.strip().splitlines()[-1])
        beat = Path(work, "heartbeat")
        size = beat.stat().st_size if beat.exists() else 0
        time.sleep(1.0)
        seen["beats_after_exit"] = (beat.stat().st_size if beat.exists() else 0) - size
        seen["host_processes_with_token"] = _processes_with(token)
        try:
            listener.accept()
            seen["grader_port_accepted"] = True
        except TimeoutError:
            seen["grader_port_accepted"] = False
    listener.close()
    return seen


def _processes_with(token: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if token.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            pass
    return found


def test_unprivileged_user_and_own_pid_namespace(probe: dict) -> None:
    assert probe["uid"] == 65534
    # Only the sandbox's own processes: bwrap's init, the probe (and its child).
    assert len(probe["pids"]) <= 4 and 1 in probe["pids"]
    assert not any("pytest" in c for c in probe["grader_cmdlines"])


def test_no_network(probe: dict) -> None:
    assert probe["connect_grader_port"].startswith("refused")
    assert not probe["grader_port_accepted"]
    assert probe["dns"].startswith("refused")
    assert probe["interfaces"] == ["lo"]


def test_checkout_solutions_questions_and_gradebook_invisible(probe: dict) -> None:
    assert probe["checkout"] == []
    assert probe["dlbook_file"] == os.path.join(DLBOOK_ROOT, "dlbook", "__init__.py")
    assert probe["questions"].startswith("refused")


def test_only_tmp_and_the_work_folder_are_writable(probe: dict) -> None:
    for place in ("write_prefix", "write_dlbook", "write_usr"):
        assert probe[place].startswith("refused"), place
    assert probe["write_tmp"] == probe["write_workdir"] == "written"


def test_forbidden_modules_are_stubs_and_ctypes_and_memory_refused(probe: dict) -> None:
    assert probe["torch"] == "refused: Forbidden"
    assert probe["dlbook_nn"] == "refused: Forbidden"
    assert probe["ctypes"].startswith("refused")
    assert probe["ctypes_load"].startswith("refused")
    assert probe["ctypes_via_numpy"].startswith("refused")
    assert probe["proc_mem"].startswith("refused")
    assert probe["proc_1_mem"].startswith("refused")


def test_detached_children_die_with_the_sandbox(probe: dict) -> None:
    assert probe["beats_after_exit"] == 0
    assert probe["host_processes_with_token"] == []


def test_view_leaves_out_forbidden_packages_and_editable_hooks() -> None:
    view = python_view(["torch", "dlbook.nn"])
    assert any(p.endswith("/torch") for p in view.empty_dirs)
    assert os.path.join(DLBOOK_ROOT, "dlbook", "nn") in view.empty_dirs
    assert os.path.join(DLBOOK_ROOT, "dlbook", "grading", "questions") in view.empty_dirs
    assert not any(str(ROOT) == host for host, _ in view.mounts)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="switches to an unprivileged user (needs root to do so)")
def test_bwrap_works_for_a_normal_user() -> None:
    """The grader also runs as a normal user: bwrap then relies on user namespaces."""
    from dlbook.grading.view import View

    with tempfile.TemporaryDirectory() as work:
        os.chmod(work, 0o777)
        argv = bwrap_argv(["/bin/sh", "-c", "id -u; echo ok > out"], work, View(), {})
        done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                               *argv], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["65534"]
        assert Path(work, "out").read_text() == "ok\n"


def test_container_backends_isolate_the_same_way() -> None:
    from dlbook.grading.view import View

    view = View(mounts=[("/opt/py", "/opt/py")], empty_dirs=["/opt/py/torch"])
    argv = Sandbox("podman", "img").wrap(["python"], "/w", view, {"HOME": "/w"})
    assert argv[:2] == ["podman", "run"] and argv[-2:] == ["img", "python"]
    for flag in ("--network", "none", "--read-only", "--cap-drop", "ALL", "/opt/py:/opt/py:ro",
                 "/opt/py/torch:ro", "/w:/w"):
        assert flag in argv
    with pytest.raises(ValueError, match="must be one of"):
        Sandbox("chroot")


def test_no_sandbox_only_when_asked_and_loudly(tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    from dlbook.cli import main
    from dlbook.grading.sandbox import NONE_WARNING

    (tmp_path / "empty.ipynb").write_bytes(b"")
    out = tmp_path / "grades.csv"
    assert main(["grade", "--assignment", "ch01", str(tmp_path / "empty.ipynb"),
                 "--out", str(out), "--sandbox", "none"]) == 0
    assert NONE_WARNING in capsys.readouterr().err
    assert json.loads(out.with_suffix(".json").read_text())["metadata"]["sandbox"] == "none"


def _docker_runs() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode == 0


@pytest.mark.skipif(_docker_runs(), reason="docker runs containers here")
def test_a_missing_backend_is_an_error_not_a_fallback() -> None:
    with pytest.raises(SandboxUnavailable,
                       match="docker (is not installed|cannot run containers here)"):
        Sandbox("docker").check()
