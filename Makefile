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

## The README's test command: library tests, notebooks under nbval, exercises, the book, then
## the built book in headless Chromium (test-browser, in book.mk).
test: $(STAMP)
	@start=$$(date +%s); \
	$(MAKE) test-lib && $(MAKE) test-notebooks && $(MAKE) book-strict && \
	$(MAKE) test-browser; status=$$?; \
	echo "make test: $$(( $$(date +%s) - start )) s (exit $$status)"; exit $$status

# tests/browser needs the built book: it runs in test-browser, after book-strict.
test-lib: $(STAMP)
	$(PY) -m pytest tests --ignore=tests/browser -n $(JOBS) --dist loadgroup -q --durations=5

# Two notebooks run at a time on two cores: one BLAS/OpenMP thread each, so the kernels do
# not oversubscribe the CPU (small matrix products slow down many times when they do).
test-notebooks: export OPENBLAS_NUM_THREADS = 1
test-notebooks: export OMP_NUM_THREADS = 1
test-notebooks: export MKL_NUM_THREADS = 1
test-notebooks: $(STAMP)
	$(PY) -m pytest --nbval --nbval-sanitize-with nbval_sanitize.cfg -n $(JOBS) --dist loadfile \
		-q --durations=5 book solutions

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
