"""dlbook doctor's BLAS check: the library and its threads, and oversubscription."""
from __future__ import annotations

import os

import threadpoolctl

from dlbook import doctor


def fake_blas(monkeypatch, libs):
    monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: libs)


def blas(threads):
    return {"user_api": "blas", "internal_api": "openblas", "version": "0.3", "num_threads":
            threads}


def test_threads_within_the_cores_are_fine(monkeypatch):
    fake_blas(monkeypatch, [blas(1), {"user_api": "openmp", "num_threads": 64}])
    (finding,) = doctor._check_blas()
    assert finding.status == "ok" and "openblas 0.3, 1 thread(s)" in finding.what


def test_more_threads_than_cores_is_a_warning_with_its_fix(monkeypatch):
    fake_blas(monkeypatch, [blas((os.cpu_count() or 1) + 1)])
    (finding,) = doctor._check_blas()
    assert finding.status == "warn" and "more threads than cores" in finding.what
    assert "OPENBLAS_NUM_THREADS" in finding.fix


def test_no_blas_is_reported(monkeypatch):
    fake_blas(monkeypatch, [])
    (finding,) = doctor._check_blas()
    assert finding.status == "warn" and "no BLAS" in finding.what


def test_the_real_machine_reports_its_blas():
    assert any("BLAS" in f.what for f in doctor._check_blas())
