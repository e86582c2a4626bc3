# The two set-up commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Two install stamps: `make run` needs the package and its runtime dependencies
# only; `make test` and the other development targets add the `dev` extra.  Each
# stamp is remade when pyproject.toml changes.
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint typecheck pytest bench clean flask-suite ext-suites ext-baseline

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): $(BIN)/python pyproject.toml setup.py src/corral/server/http/_headscan.c \
		src/corral/server/workers/_heldread.c
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(DEV_STAMP): $(BIN)/python pyproject.toml setup.py src/corral/server/http/_headscan.c \
		src/corral/server/workers/_heldread.c
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP) $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/python examples/blog/run.py

test: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench examples fuzz tools
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# Flask's own test suite (pinned sdist from PyPI) against corral.web through the
# ``flask`` alias; fails on a failure not in tests/compat/flask_suite/expected_failures.txt
flask-suite: $(DEV_STAMP)
	$(BIN)/python tests/compat/run.py flask

# The own test suites of Flask-Login, Flask-WTF and Flask-SQLAlchemy (pinned sdists,
# their test dependencies installed when missing) through the alias; each fails on a
# failure not in tests/compat/extensions/<suite>.txt. ext-baseline: the same on real Flask.
EXT_SUITES := flask-login flask-wtf flask-sqlalchemy
ext-suites: $(DEV_STAMP)
	@status=0; for s in $(EXT_SUITES); do $(BIN)/python tests/compat/run.py $$s || status=1; done; exit $$status

ext-baseline: $(DEV_STAMP)
	@for s in $(EXT_SUITES); do $(BIN)/python tests/compat/run.py --real $$s; done

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench examples fuzz tools

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

bench: $(DEV_STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .cache build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
