"""The sandbox each graded kernel runs in: bubblewrap by default, docker or podman, or none.

``bwrap`` (bubblewrap, Flatpak's sandbox; works as root and, with user namespaces, as a
normal user) starts the kernel with

- its own user (uid 65534, no capabilities, no further user namespaces), PID, network, IPC,
  UTS and mount namespaces: it sees no other process (not the grader, not the other
  kernels), has no network at all (only its own loopback), and everything in its PID
  namespace is killed when the kernel ends (``--die-with-parent`` too, should the grader
  die);
- a read-only view of the Python environment (:mod:`~dlbook.grading.view`), a private
  ``/tmp`` capped in size, and one writable folder of its own, the submission's work
  folder, which holds the kernel's sockets, its inputs and its results. Nothing else of the
  machine: no checkout, ``solutions/``, gradebook, or other submission.

``docker``/``podman`` give the same view through bind mounts in a container without network.
``none`` runs the kernel as the grader's own user, able to read and write all the grader can:
only for notebooks you trust, and only when asked for by name.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from dlbook.grading.view import View

BACKENDS = ("bwrap", "docker", "podman", "none")
SANDBOX_UID = 65534  # "nobody" inside the sandbox
TMP_BYTES = 256 * 1024 * 1024  # the private /tmp
DEFAULT_IMAGE = "debian:bookworm-slim"

NONE_WARNING = (
    "WARNING: --sandbox none: every submission runs as you, with your files, your network and "
    "the other kernels in reach. A hostile notebook can read the reference answers, rewrite "
    "the gradebook and other submissions. Use it only for notebooks you trust.")


class SandboxUnavailable(RuntimeError):
    """The chosen backend cannot run here; ``str(err)`` says how to fix it."""


@dataclass(frozen=True)
class Sandbox:
    """A backend and, for docker/podman, the image to run."""

    backend: str = "bwrap"
    image: str = DEFAULT_IMAGE

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"--sandbox must be one of {', '.join(BACKENDS)}, "
                             f"got {self.backend!r}")

    def wrap(self, argv: Sequence[str], workdir: str, view: View,
             env: dict[str, str]) -> list[str]:
        """The command that runs ``argv`` in this sandbox, in ``workdir``, with ``env``."""
        if self.backend == "bwrap":
            return bwrap_argv(argv, workdir, view, env)
        if self.backend in ("docker", "podman"):
            return container_argv(self.backend, self.image, argv, workdir, view, env)
        return list(argv)

    def check(self) -> None:
        """Raise :class:`SandboxUnavailable` unless this backend works on this machine."""
        if self.backend == "none":
            return
        exe = shutil.which(self.backend)
        if exe is None:
            hint = ("apt-get install bubblewrap (or dnf install bubblewrap)"
                    if self.backend == "bwrap" else f"install {self.backend}")
            raise SandboxUnavailable(f"{self.backend} is not installed: {hint}")
        if self.backend != "bwrap":
            info = subprocess.run([exe, "info"], capture_output=True, text=True, timeout=60)
            if info.returncode != 0:
                raise SandboxUnavailable(f"{self.backend} cannot run containers here ("
                                         + info.stderr.strip()[-200:] + ")")
            return
        probe = subprocess.run([exe, "--unshare-all", "--unshare-user", "--uid",
                                str(SANDBOX_UID), "--ro-bind", "/", "/", "--proc", "/proc",
                                "--dev", "/dev", "true"],
                               capture_output=True, text=True, timeout=30)
        if probe.returncode != 0:
            raise SandboxUnavailable(
                "bwrap cannot create namespaces here (" + probe.stderr.strip()[:200] +
                "): enable unprivileged user namespaces (sysctl "
                "kernel.unprivileged_userns_clone=1) or use --sandbox docker|podman")


def _system_dirs() -> list[str]:
    """Mount arguments for /usr and the /bin, /lib... links or folders next to it."""
    args = ["--ro-bind", "/usr", "/usr"]
    for d in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    for f in ("/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives"):
        if os.path.exists(f):
            args += ["--ro-bind", f, f]
    return args


def bwrap_argv(argv: Sequence[str], workdir: str, view: View, env: dict[str, str]) -> list[str]:
    """``bwrap ... -- argv``: see the module docstring for what it isolates."""
    args = ["bwrap", "--unshare-all", "--unshare-user", "--disable-userns",
            "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--hostname", "sandbox",
            "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            *_system_dirs(), "--proc", "/proc", "--dev", "/dev",
            "--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
    for host, inside in view.mounts:
        args += ["--ro-bind", host, inside]
    for path in view.empty_dirs:
        args += ["--tmpfs", path, "--remount-ro", path]
    for path in view.empty_files:
        args += ["--ro-bind", "/dev/null", path]
    args += ["--bind", workdir, workdir, "--chdir", workdir, "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return [*args, "--", *argv]


def container_argv(engine: str, image: str, argv: Sequence[str], workdir: str, view: View,
                   env: dict[str, str]) -> list[str]:
    """``docker run ...`` (or podman) with the same view, no network, no capabilities."""
    args = [engine, "run", "--rm", "-i", "--network", "none", "--read-only",
            "--user", f"{SANDBOX_UID}:{SANDBOX_UID}", "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges", "--pids-limit", "512",
            "--tmpfs", f"/tmp:size={TMP_BYTES}"]
    for host, inside in view.mounts:
        args += ["-v", f"{host}:{inside}:ro"]
    for path in view.empty_dirs:
        args += ["--tmpfs", f"{path}:ro"]
    for path in view.empty_files:
        args += ["-v", f"/dev/null:{path}:ro"]
    args += ["-v", f"{workdir}:{workdir}", "-w", workdir]
    for key, value in env.items():
        args += ["-e", f"{key}={value}"]
    return [*args, image, *argv]


def kernel_env(workdir: str, pythonpath: str) -> dict[str, str]:
    """The whole environment of a sandboxed kernel: nothing of the grader's leaks in."""
    return {"HOME": workdir, "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8",
            "PATH": "/usr/bin:/bin", "PYTHONPATH": pythonpath, "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONNOUSERSITE": "1", "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp",
            "IPYTHONDIR": "/tmp/ipython", "JUPYTER_RUNTIME_DIR": "/tmp/jupyter",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "TMPDIR": "/tmp"}
