# The two set-up commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck pytest bench clean flask-suite ext-suites ext-baseline

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python examples/blog/run.py

test: $(STAMP)
	$(BIN)/ruff check src tests bench examples fuzz
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# Flask's own test suite (pinned sdist from PyPI) against corral.web through the
# ``flask`` alias; fails on a failure not in tests/compat/flask_suite/expected_failures.txt
flask-suite: $(STAMP)
	$(BIN)/python tests/compat/run.py flask

# The own test suites of Flask-Login, Flask-WTF and Flask-SQLAlchemy (pinned sdists,
# their test dependencies installed when missing) through the alias; each fails on a
# failure not in tests/compat/extensions/<suite>.txt. ext-baseline: the same on real Flask.
EXT_SUITES := flask-login flask-wtf flask-sqlalchemy
ext-suites: $(STAMP)
	@status=0; for s in $(EXT_SUITES); do $(BIN)/python tests/compat/run.py $$s || status=1; done; exit $$status

ext-baseline: $(STAMP)
	@for s in $(EXT_SUITES); do $(BIN)/python tests/compat/run.py --real $$s; done

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples fuzz

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .cache build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
