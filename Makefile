# One-command set-up: `make demo` and `make test` create .venv and install the course lock once.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-lock

.PHONY: demo test lint bench bench-grade bench-notebooks bench-race student-notebooks formgrader gradescope landscape clean-state

# `make formgrader STATE=.course_state/demo` opens formgrader on another state folder.
STATE ?=

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	-git config filter.strip-outputs.clean "$(PY) -m autograder.tools.strip_outputs --stdin"
	-git config filter.strip-outputs.smudge cat
	cp requirements.txt $(STAMP)

demo: $(STAMP)
	$(PY) -m autograder demo

test: $(STAMP) lint
	$(PY) -m pytest -q -n 2

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) -m autograder.tools.bench_sweeps $(BENCH_ARGS)

bench-grade: $(STAMP)
	$(PY) -m autograder.tools.bench_grade

landscape: $(STAMP)
	$(PY) -m autograder.tools.landscape

bench-notebooks: $(STAMP)
	$(PY) -m autograder.tools.bench_notebooks

bench-race: $(STAMP)
	$(PY) -m autograder.tools.bench_race

formgrader: $(STAMP)
	$(PY) -m autograder $(if $(STATE),--state-dir $(STATE)) formgrader

gradescope: $(STAMP)
	$(PY) -m autograder gradescope

student-notebooks: $(STAMP)
	$(PY) -m autograder release --notebooks-only

clean-state:
	rm -rf .course_state
