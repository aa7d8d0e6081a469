# poselab: two commands set everything up on a fresh machine.
#   make demo   create .venv, install poselab, run the main job on the built-in demo data
#   make test   create .venv if needed, run the whole test suite
#   make lab    open the tutorial notebooks in JupyterLab

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
EXTRAS ?= test,weights
comma  := ,
STAMP  := $(VENV)/.poselab-installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)-$(subst $(comma),_,$(EXTRAS))

.PHONY: demo test test-all lab notebooks benchmarks clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	rm -f $(VENV)/.poselab-installed-*
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m poselab.demo --out demo-output

test: $(STAMP)
	$(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q --nbmake --nbmake-timeout=900 notebooks/

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m ""

notebooks: $(STAMP)
	$(BIN)/python -m pytest -q --nbmake notebooks/

lab:
	$(MAKE) install EXTRAS=test,weights,lab
	$(BIN)/jupyter lab notebooks/

benchmarks: $(STAMP)
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf demo-output .pytest_cache build dist *.egg-info
