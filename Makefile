# Everything a fresh machine needs: `make run` and `make test` set up the venv themselves.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# CPU build of torch first, so that the bare `torch` requirement does not pull a CUDA build.
TORCH_SPEC ?= torch==2.13.0

.PHONY: run stage test test-slow lint bench clean

$(VENV)/.base:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	touch $@

$(VENV)/.installed: $(VENV)/.base pyproject.toml
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.dev: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

# `make run`: build the quick release store into ./data/ (resumes if interrupted) and print its summary
WORKERS ?= 2
run: $(VENV)/.installed
	$(VENV)/bin/chaosdata generate --preset quick --out data --workers $(WORKERS)

# `make stage`: the Hub repo folder of the quick store (store + Parquet + cards + metadata JSON) in
# ./staged/quick, verified, nothing uploaded; open staged/quick/README.md and staged/quick/cards/.
# The cards carry the leaderboard of the gilpin2023 reproduction (benchmarks/RESULTS.md says what ran)
REPO_ID ?= OWNER/NAME
RESULTS ?= benchmarks/leaderboard/gilpin2023/results.csv
$(VENV)/.publish: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[publish]"
	touch $@

stage: run $(VENV)/.publish
	$(VENV)/bin/chaosdata publish data --repo-id $(REPO_ID) --dry-run staged/quick --workers $(WORKERS) \
		--results $(RESULTS)

test: $(VENV)/.dev
	$(PY) -m pytest -q -n 2

# `make lint`: ruff (style, pyflakes, bugbear, blind except, import order) and mypy on the package;
# settings in pyproject.toml, versions pinned in the dev extra
lint: $(VENV)/.dev
	$(VENV)/bin/ruff check chaosdata
	$(VENV)/bin/mypy

$(VENV)/.bench: $(VENV)/.dev
	$(PY) -m pip install --quiet -e ".[bench]"
	touch $@

bench: $(VENV)/.bench
	$(PY) benchmarks/bench_integrate.py

test-slow: $(VENV)/.dev
	$(PY) -m pytest -q -m slow

clean:
	rm -rf $(VENV) build *.egg-info
