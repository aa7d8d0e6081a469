# poselab: two commands set everything up on a fresh machine.
#   make demo   create .venv, install poselab, run the main job on the built-in demo data
#   make test   create .venv if needed, run the whole test suite
#   make lab    open the tutorial notebooks in JupyterLab

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
EXTRAS ?= test
comma  := ,
STAMP  := $(VENV)/.poselab-installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)-$(subst $(comma),_,$(EXTRAS))

.PHONY: demo test e2e test-all lab notebooks benchmarks clean install hub

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
	@# every notebook, the course included, as on a student's server: 2 GiB (enforced), one core
	POSELAB_COURSE_MINUTES=1 $(BIN)/python benchmarks/notebook_memory.py --limit-gib 2 --timeout 900
	@$(MAKE) --no-print-directory e2e

# Real-browser tests (JupyterLab and Voila driven by Playwright with Debian's chromium).
# Installs chromium with apt where we are root; elsewhere the tests skip and say why.
# Screenshots of every widget state the tests check are kept in test-artifacts/.
CHROMIUM ?= $(or $(POSELAB_CHROMIUM),/usr/bin/chromium)
e2e: $(STAMP)
	@test -x $(CHROMIUM) || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  timeout 900 sh -c 'apt-get update -qq && apt-get install -y -qq chromium' >/dev/null 2>&1; } || \
	  echo "e2e: no chromium at $(CHROMIUM) and it cannot be installed here (needs root and apt): browser tests will skip"
	@test -x $(VENV)/node/node_modules/.bin/configurable-http-proxy || ! command -v npm >/dev/null || \
	  npm install --silent --no-audit --no-fund --prefix $(VENV)/node configurable-http-proxy@4 >/dev/null 2>&1 || \
	  echo "e2e: configurable-http-proxy could not be installed with npm: the course hub test will skip"
	POSELAB_CHROMIUM=$(CHROMIUM) POSELAB_TEST_ARTIFACTS=$(CURDIR)/test-artifacts POSELAB_CHP_PREFIX=$(CURDIR)/$(VENV)/node \
	  $(BIN)/python -m pytest -q -rs -m e2e tests/e2e
	@echo "e2e: screenshots in test-artifacts/"

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m ""

notebooks: $(STAMP)
	POSELAB_COURSE_MINUTES=1 $(BIN)/python -m pytest -q --nbmake notebooks/

# Each notebook as on a student's JupyterHub server: 2 GiB of memory (no swap), one core, and
# make demo's job; wall time and peak memory of each (a cgroup where writable, as root; else psutil).
.PHONY: notebooks-2g
notebooks-2g: $(STAMP)
	$(BIN)/python benchmarks/notebook_memory.py --limit-gib 2 --demo

# A JupyterHub for a course: each student 1 CPU and 2 GiB, enforced with cgroups (run as root).
HUB_ARGS ?=
hub:
	$(MAKE) install EXTRAS=lab,hub
	@test -x .hub/node_modules/.bin/configurable-http-proxy || \
	  npm install --silent --no-audit --no-fund --prefix .hub configurable-http-proxy@4
	$(BIN)/python -m poselab.hub --state .hub $(HUB_ARGS)

lab:
	$(MAKE) install EXTRAS=test,weights,lab
	$(BIN)/jupyter lab notebooks/

benchmarks: $(STAMP)
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf demo-output test-artifacts .pytest_cache build dist *.egg-info
