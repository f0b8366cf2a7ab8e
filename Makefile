# Everything a fresh clone needs: `make sweep` runs the bundled default sweep,
# `make test` runs the tests. Both create .venv and install the package first.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: sweep test bench-quick clean-venv

$(STAMP): pyproject.toml setup.py sim/envelopes/_speedups.c
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

sweep: $(STAMP)
	$(PY) -m sim sweep

test: $(STAMP)
	$(PY) -m pytest

# every asv benchmark once, against the installed package
bench-quick: $(STAMP)
	$(VENV)/bin/asv machine --yes > /dev/null
	$(VENV)/bin/asv run --quick --python=same --show-stderr

clean-venv:
	rm -rf $(VENV)
