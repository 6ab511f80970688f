# Everything bootstraps .venv itself, so a fresh clone needs only python3 (3.11+) and make.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Test processes in parallel (pytest-xdist); `make test TEST_WORKERS=0` runs them in one.
TEST_WORKERS ?= 2

.PHONY: demo test lint bench soak clean

# setuptools prints an information notice for every editable install of renamed packages
# (core/ -> flx); it is not a problem, so it is not shown. `pip wheel .` prints no warning.
PIP := PYTHONWARNINGS="ignore:Editable installation" $(BIN)/pip -q --disable-pip-version-check
RUNTIME := $(VENV)/.installed-runtime

# What the demo needs: flx and its runtime dependencies, no development tools.
$(RUNTIME): pyproject.toml
	@echo "Installing flx and its runtime dependencies into $(VENV) (first time only, about a minute)..."
	@$(PY) -m venv $(VENV)
	@$(PIP) install -e .
	@touch $(RUNTIME)

# Everything `make test` needs: the runtime plus pytest, ruff, mypy and the bench tools.
$(STAMP): pyproject.toml
	@echo "Installing flx with its development tools into $(VENV)..."
	@$(PY) -m venv $(VENV)
	@$(PIP) install --upgrade pip
	@$(PIP) install -e '.[dev]'
	@touch $(RUNTIME) $(STAMP)

demo: $(RUNTIME)
	@$(BIN)/flx demo

# mypy cannot follow the editable install's renames (core/ -> flx): a link tree shows them to it.
TYPECHECK_LINKS := flx:core flx_netsuite:plugins/netsuite flx_quickbooks:plugins/quickbooks flx_flxpoint:plugins/flxpoint

lint: $(STAMP)
	$(BIN)/ruff check .
	@mkdir -p build/typecheck && for l in $(TYPECHECK_LINKS); do \
	  ln -sfn ../../$${l#*:} build/typecheck/$${l%%:*}; done
	$(BIN)/mypy

test: $(STAMP) lint
	$(BIN)/pytest -n $(TEST_WORKERS); rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 1; fi; exit $$rc

bench: $(STAMP)
	$(BIN)/python bench/run.py

soak: $(STAMP)
	$(BIN)/python bench/soak.py

clean:
	rm -rf $(VENV) build *.egg-info
