# The two commands a newcomer needs:
#   make demo   set up, run a dry-run study on synthetic jets, print the results and the report
#   make test   set up, run the test suite (what CI runs via .ci/run)
# Everything lives in .venv; nothing is installed system-wide except Chromium for the report's
# browser test (Debian package, only when running as root and it is missing).

PYTHON ?= python3
VENV   ?= .venv
# CPU build on the development machines (a local wheel there); GPU users may pass e.g. TORCH_SPEC=torch
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin

.PHONY: setup demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(BIN)/jetstudy run configs/dryrun.yaml

test: setup
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "chromium not installed: the browser test will be skipped"; }
	$(BIN)/ruff check study trainables analysis bench tests
# three workers, one test file each: most tests wait on Ray start-up and subprocesses, so
# 3 workers on 2 cores beat one (a file keeps its shared study); tests/conftest.py makes files
# sharing a session study one unit and starts the longest units first (tests/scheduling.py);
# a crashed worker ends the run naming its test (a replaced worker once hung the run for good)
	$(BIN)/python -m pytest -n 3 --dist loadfile --max-worker-restart=0 tests

bench: setup
	$(BIN)/python -m bench.throughput

clean:
	rm -rf $(VENV) results
