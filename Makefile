# make run   -- the main job: experiments/default.toml on MovieLens-100K and MiniLM-L6 -> runs/default/
# make test  -- the test suite (tiny random models; a few slow tests on the real model; it lists the
#              15 slowest tests at the end, to keep the suite within its CI budget)
# Both (re)create .venv from requirements.lock when it is missing or older than the lock.
PY      ?= python3
VENV    := .venv
STAMP   := $(VENV)/.installed
BIN     := $(VENV)/bin
EXPERIMENT ?= experiments/default.toml

.PHONY: run test quick bench-ci venv clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24"
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/rankbench run $(EXPERIMENT)

quick: $(STAMP)
	$(BIN)/rankbench run experiments/quick.toml

test: $(STAMP)
	$(BIN)/python -m pytest -q --timeout=1200 --durations=15

# pytest-benchmark: base / distilled / INT8 variants, p50/p99 in extra_info; compare runs with
#   $(BIN)/pytest tests/bench --benchmark-only --benchmark-compare --benchmark-compare-fail=median:15%
bench-ci: $(STAMP)
	mkdir -p runs
	$(BIN)/python -m pytest -q tests/bench --benchmark-only --benchmark-json=runs/bench-ci.json

clean:
	rm -rf $(VENV) runs
