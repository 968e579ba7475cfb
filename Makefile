# The workbook's two main commands: `make results` and `make test`. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS ?= dev,reference,browser,book,ray
NB ?=
BACKEND ?=
CSV ?=
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONHASHSEED := 0

.PHONY: install results render test test-browser lint unit nbval lab clean student grade book

LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings

$(STAMP): pyproject.toml tools/lab_overrides.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	mkdir -p $(LAB_SETTINGS) && cp tools/lab_overrides.json $(LAB_SETTINGS)/overrides.json
	touch $(STAMP)

install: $(STAMP)

## Execute every notebook (or NB=02) in the full profile, store outputs, render results tables.
## BACKEND=ray runs the notebooks' sweeps as Ray tasks (a local Ray, or the cluster at $RAY_ADDRESS).
results: $(STAMP)
	$(if $(BACKEND),COMPRESS_BACKEND=$(BACKEND)) $(BIN)/python tools/run_notebooks.py --profile full $(if $(NB),--notebook $(NB))
	$(BIN)/python -m compress_lib.results

render: $(STAMP)
	$(BIN)/python -m compress_lib.results

## ruff, unit tests, then nbval over every notebook in the quick profile.
test: lint unit nbval

lint: $(STAMP)
	$(BIN)/ruff check compress_lib tests tools

unit: $(STAMP)
	$(BIN)/pytest -q tests --ignore=tests/browser

## Run every notebook in JupyterLab in headless Chromium and move each explorer (screenshots in build/screenshots/).
test-browser: $(STAMP)
	$(BIN)/pytest -q tests/browser

nbval: $(STAMP)
	COMPRESS_PROFILE=quick $(BIN)/pytest -q --nbval-lax \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider notebooks

## Student editions of every notebook in build/student/ (see README: Teaching with this workbook).
student: $(STAMP)
	$(BIN)/python tools/classroom.py student --out build/student

## Grade a submission (or a folder of them): make grade NB=path [CSV=grades.csv]
grade: $(STAMP)
	@test -n "$(NB)" || { echo "usage: make grade NB=submission.ipynb|folder [CSV=grades.csv]"; exit 2; }
	$(BIN)/python tools/classroom.py grade $(NB) $(if $(CSV),--csv $(CSV))

## The book: stored notebooks + results/README.md as a static site, build/book/index.html (runs nothing).
book: $(STAMP)
	$(BIN)/python tools/build_book.py

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

clean:
	rm -rf build .pytest_cache .ruff_cache
