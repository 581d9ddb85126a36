# Set-up and tests. On a fresh Debian 12 machine, as root, `make test` does everything: a venv
# with launchbuild installed, the real Docker engine, local registry and stand-in images
# (scripts/testenv.sh), then the whole suite, Docker and PyPI tests included.
PYTHON ?= python3
VENV := .venv
PYTEST_ARGS ?=
# .venv/bin first so tests that run `launchbuild`, `uv` or `pip-compile` get the venv's.
IN_VENV := PATH="$(CURDIR)/$(VENV)/bin:$$PATH"

.PHONY: venv testenv-up testenv-down test quick demo lint

venv: $(VENV)/.installed

# A stamp, so `make test` reinstalls only when the dependencies change.
$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
		echo "installing python3-venv (ensurepip is missing)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

testenv-up:
	bash scripts/testenv.sh up

testenv-down:
	bash scripts/testenv.sh down

test: venv lint testenv-up
	$(IN_VENV) $(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# ruff, mypy and the import-layer contracts (all configured in pyproject.toml); `make test`
# runs it first. mypy needs the package under its own name, and the repo root *is* the
# package, so a link in the venv gives it one.
lint: venv
	$(VENV)/bin/ruff check .
	mkdir -p $(VENV)/lint-path && ln -sfn "$(CURDIR)" $(VENV)/lint-path/launchbuild
	MYPYPATH=$(VENV)/lint-path $(VENV)/bin/mypy -p launchbuild
	$(VENV)/bin/lint-imports

# The main job on the bundled example: check, build (verified, content-tagged), run the image.
demo: venv testenv-up
	LAUNCHBUILD="$(CURDIR)/$(VENV)/bin/launchbuild" bash scripts/demo.sh

quick: venv
	$(IN_VENV) $(VENV)/bin/python -m pytest -m "not docker and not network" $(PYTEST_ARGS)

# Benchmarks against W&B Launch's builder (issue 8): test environment, the peer's venv and the
# shared base images, the resolver bench, then the A/B build bench. Writes bench/results/.
# About an hour on 2 cores (the GPU stack's downloads and pushes are most of it); BENCH_RUNS / BENCH_HEAVY_RUNS / BENCH_VERDICT_RUNS / BENCH_GPU_CAP_S tune it.
.PHONY: bench
bench: venv testenv-up
	bash bench/setup.sh
	# Bytecode is kept for both tools, as on a normal machine: a shell with PYTHONDONTWRITEBYTECODE=1
	# would compile every module at every start (~0.3 s per command, ours and the peer's).
	env -u PYTHONDONTWRITEBYTECODE $(IN_VENV) $(VENV)/bin/python bench/bench_resolve.py
	env -u PYTHONDONTWRITEBYTECODE $(IN_VENV) $(VENV)/bin/python bench/run_bench.py
