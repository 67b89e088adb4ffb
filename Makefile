# Two commands on a fresh machine: `make book`, then `make test`.
# Everything runs from the repository's own virtual environment in .venv/.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed

# The repository root is the import path for `solutions`, `cnnbook` and `autograder`;
# the venv's bin goes first on PATH because nbgrader shells out to `alembic`.
export PYTHONPATH := $(CURDIR)
export PATH := $(BIN):$(PATH)

# glibc's malloc returns freed memory to the system eagerly, and a NumPy training step then
# page-faults its big temporaries (im2col columns, activations) in afresh every time: ~950
# faults a step for chapter 10's LeNet at batch 32, ~6,400 at batch 64. Keeping up to 128 MB of
# freed memory (and serving arrays under 32 MB from it) trains that LeNet 1.6x faster at batch
# 32 and 3x faster at batch 64 (PyTorch's LeNet training: unchanged).
export GLIBC_TUNABLES := glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=134217728

.PHONY: setup book test lint unit lab student release grade bench bench-grade bench-pages gpu-check chromium clean

# Python packages into .venv; the browser libraries the book serves (MathJax, require.js, the
# widget runtime) from npm into node_modules, exactly as package-lock.json pins them.
NODE_STAMP := node_modules/.installed

setup: $(STAMP) $(NODE_STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	set -o pipefail; $(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt 2>&1 \
		| { grep -v "is ignored: it is neither" || true; }
	# the course package (cnnbook, solutions), editable, so notebooks import it from any folder
	cd / && env -u PYTHONPATH $(BIN)/python -c "import cnnbook, solutions" 2>/dev/null \
		|| $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e $(CURDIR)
	$(BIN)/python -m pip check
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

# Every chapter, executed (cached in _build/.jupyter_cache: only changed notebooks re-run), with
# Sphinx warnings as errors; the site in _build/html loads nothing from the network.
book: setup
	$(BIN)/jupyter-book build . --warningiserror --keep-going

lint: setup
	$(BIN)/ruff check .

unit: setup
	$(BIN)/python -m pytest -m "not slow and not browser"

# The browser tests drive Debian's Chromium: installed here when missing (root or sudo), or the
# exact command to run is printed.
chromium:
	tools/ensure_chromium

test: setup lint book chromium
	$(BIN)/python -m pytest

# A student's workspace: workspace/<id>/<id>.ipynb (put your instructor's notebooks there; any
# chapter missing is copied from the book's student versions in student/, never over your work).
lab: $(STAMP)
	mkdir -p workspace
	for nb in student/*.ipynb; do id=$$(basename $$nb .ipynb); \
		test -e workspace/$$id/$$id.ipynb || install -D -m 644 $$nb workspace/$$id/$$id.ipynb; done
	$(BIN)/jupyter lab --notebook-dir=workspace

# The chapters' install cells and the student versions in student/ (commit what changes).
student: $(STAMP)
	$(BIN)/python tools/student_notebooks.py

release: setup
	$(BIN)/python -m autograder release --out release

SUBMISSIONS ?= submitted
grade: setup
	$(BIN)/python -m autograder grade $(SUBMISSIONS) --out grading --jobs 2

bench: setup
	$(BIN)/python -m benchmarks

# The grader's speed (1 and 2 jobs, 1- and 2-worker Dask clusters) against plain nbgrader autograde on
# the same class, with where a notebook's time goes (a benchmark: it prints, it asserts nothing).
bench-grade: setup
	$(BIN)/python -m benchmarks.grading

# Each page of the built book, cold, at 10 Mb/s in Chromium: bytes on the wire and first paint.
bench-pages: setup
	$(BIN)/python -m benchmarks.pages

# On a machine with CUDA: the CUDA tests, chapters 9 and 10 on the GPU, errors against the CPU, timings.
gpu-check: $(STAMP)
	$(BIN)/python tools/gpu_check.py

clean:
	rm -rf _build release grading .pytest_cache .hypothesis  # never workspace/: students' work
