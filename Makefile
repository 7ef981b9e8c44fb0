# dlbook: `make test` (everything CI runs) and `make book` (the HTML book in _build/html).
# Both create .venv and install from the requirements files on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
JOBS   ?= 2
STAMP  := $(VENV)/.installed
# pip prints a warning per package for missing local mirrors on some machines; hide only those.
PIPQUIET := 2>&1 | grep -v "^WARNING: Location 'file:" || true

# The venv installs exactly requirements.lock: every package pinned and hash-checked, for
# Linux x86-64 and Python 3.11; torch is the 2.13.0 CPU wheel (pip finds it on this machine's
# disk through its find-links setting; elsewhere add
# --extra-index-url https://download.pytorch.org/whl/cpu). `make lock` regenerates the lock
# from requirements.txt, requirements-dev.txt and constraints.txt (needs PyPI and uv).
LOCK   := requirements.lock
UV     ?= $(shell test -x $(VENV)/bin/uv && echo $(VENV)/bin/uv || echo uv)
TORCH_WHEELS ?= /opt/wheels

.PHONY: test test-lib test-notebooks test-browser book book-strict assets venv clean lint lock

venv: $(STAMP)

$(STAMP): $(LOCK) pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r $(LOCK) $(PIPQUIET)
	$(PY) -m pip install -q --no-deps --no-build-isolation -e . $(PIPQUIET)
	$(PY) -c "import torch, nbval, jupyter_book, dlbook" 
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

## The README's test command: library tests, the notebooks under nbval on two numeric
## settings other than the one that wrote their outputs (test-portable), the book, then the
## built book in headless Chromium (test-browser, in book.mk). test-notebooks (this machine's
## own setting) is left out: a third pass that the two others already cover.
test: $(STAMP)
	@start=$$(date +%s); \
	$(MAKE) test-lib && $(MAKE) test-portable && \
	$(MAKE) book-strict && $(MAKE) test-browser; status=$$?; \
	echo "make test: $$(( $$(date +%s) - start )) s (exit $$status)"; exit $$status

# tests/browser needs the built book: it runs in test-browser, after book-strict.
test-lib: $(STAMP)
	$(PY) -m pytest tests --ignore=tests/browser -n $(JOBS) --dist loadgroup -q --durations=5

# The notebooks on this machine's own setting, as their outputs were written (for authors:
# run it before committing a re-executed notebook). Two notebooks run at a time on two cores:
# one BLAS/OpenMP thread each, so the kernels do
# not oversubscribe the CPU (small matrix products slow down many times when they do).
test-notebooks: export OPENBLAS_NUM_THREADS = 1
test-notebooks: export OMP_NUM_THREADS = 1
test-notebooks: export MKL_NUM_THREADS = 1
test-notebooks: $(STAMP)
	$(PY) -m pytest --nbval --nbval-sanitize-with nbval_sanitize.cfg -n $(JOBS) --dist loadfile \
		-q --durations=5 book solutions

# Outputs that hold on any CPU (issue 20): the notebooks compared with their committed outputs
# under two numeric settings other than test-notebooks' one BLAS thread on this CPU's best
# kernels (the setting that wrote them). (a) torch's portable (non-vectorised) ATen kernels, NumPy without its
# dispatched SIMD code (AVX2 and AVX-512), oneDNN limited to SSE4.1 and MKL to SSE4.2, one
# thread; (b) torch's AVX2 kernels, MKL limited to AVX (no FMA), two torch and BLAS threads.
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE stay unset: some machines need them to avoid broken
# OpenBLAS kernels, and a reader's machine runs other kernels anyway. (b) runs two notebooks at
# a time too (most of their work is single-threaded); OMP_WAIT_POLICY=passive stops idle OpenMP
# threads from spinning, which slows a busy machine down many times; it changes no result.
NPY_SIMD   = $(shell $(PY) -c "import numpy._core._multiarray_umath as m; print(*m.__cpu_dispatch__)")
PORTABLE_A = OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 ATEN_CPU_CAPABILITY=default \
	NPY_DISABLE_CPU_FEATURES="$(NPY_SIMD)" DNNL_MAX_CPU_ISA=SSE41 MKL_ENABLE_INSTRUCTIONS=SSE4_2
PORTABLE_B = OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 ATEN_CPU_CAPABILITY=avx2 \
	DNNL_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX OMP_WAIT_POLICY=passive
SHOW_CPU   = $(PY) -c "import torch, numpy._core._multiarray_umath as m; print('torch kernels', \
	torch.backends.cpu.get_cpu_capability(), '| torch threads', torch.get_num_threads(), \
	'| NumPy SIMD', *[f for f in m.__cpu_dispatch__ if m.__cpu_features__.get(f)] or ['baseline'])"
NBVAL      = $(PY) -m pytest --nbval --nbval-sanitize-with nbval_sanitize.cfg -q -p no:cacheprovider

.PHONY: test-portable
test-portable: $(STAMP)
	@$(PORTABLE_A) $(SHOW_CPU)
	$(PORTABLE_A) $(NBVAL) -n $(JOBS) --dist loadfile book solutions
	@$(PORTABLE_B) $(SHOW_CPU)
	$(PORTABLE_B) $(NBVAL) -n $(JOBS) --dist loadfile book solutions

# uv resolves for the target platform whatever machine runs it; torch's CPU wheel comes from
# TORCH_WHEELS (a folder holding torch-2.13.0+cpu-cp311-*.whl) and its hash is that file's.
lock:
	$(UV) pip compile requirements.txt requirements-dev.txt -c constraints.txt \
		--generate-hashes --python-platform x86_64-unknown-linux-gnu --python-version 3.11 \
		--find-links $(TORCH_WHEELS) --custom-compile-command "make lock" -o $(LOCK)

lint: $(STAMP)
	$(PY) -m ruff check dlbook tests

include book.mk

clean:
	rm -rf _build
