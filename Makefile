# radiomix: `make demo` and `make test` work on a fresh machine with only Python 3.11.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv bytecode kernels demo test test-fast test-slow bench lint clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=python3.x (>= 3.10)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test,cluster,deep,dicom-codecs]"
	touch $(STAMP)

venv: $(STAMP)

# The package's bytecode, as pip writes it for an ordinary install. An editable install gets it only on first import,
# and never where PYTHONDONTWRITEBYTECODE is set: every process would then compile ~50 modules (~65 ms).
bytecode: $(STAMP)
	$(PY) -m compileall -q src/radiomix

# The kernels' usual signatures compiled ahead of time for this machine (~20-45 s once; a no-op while current). Without
# a C compiler radiomix still works: numba compiles on first use.
kernels: bytecode
	$(PY) -m radiomix.kernels.aot || echo "warning: no ahead-of-time kernels; numba's JIT is used instead"

# The whole study on a generated three-site cohort -> demo-output/report.html (DEMO_ARGS="--patients 60" for less)
demo: kernels
	$(PY) -m radiomix.demo --out demo-output $(DEMO_ARGS)

# The whole suite: fast tests in parallel, then the slow marker in its own step.
test: kernels
	$(PY) -m pytest -q -n 2 -m "not slow"
	$(PY) -m pytest -q -m slow || [ $$? -eq 5 ]

test-fast: kernels
	$(PY) -m pytest -q -n 2 -m "not slow"

# Side-by-side benchmark against the peers (installed once into .bench-venv/). BENCH_ARGS=--quick for a small run.
bench: kernels
	test -x .bench-venv/bin/python || benchmarks/setup_peers.sh $(PYTHON)
	$(PY) benchmarks/run.py $(BENCH_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check src tests

clean:
	rm -rf $(VENV) demo-output bench-output .pytest_cache
