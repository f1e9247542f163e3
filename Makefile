# The two commands a fresh machine needs: `make demo` (the main job) and `make test`.
PY := .venv/bin/python
CORPUS ?= data/synth
PYTEST_ARGS ?=

.PHONY: setup test test-fast demo corpus

setup:
	@bash scripts/setup.sh

test: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

# Until the demo issue lands, the demo generates the default corpus and checks it.
demo: setup corpus
	$(PY) -m s2t.data.check $(CORPUS)/train.tsv $(CORPUS)/valid.tsv $(CORPUS)/test.tsv

corpus: setup
	$(PY) -m s2t.data.synth --out $(CORPUS)
