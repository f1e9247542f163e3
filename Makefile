# The two commands a fresh machine needs: `make demo` (the main job) and `make test`.
PY := .venv/bin/python
CORPUS ?= data/synth
PYTEST_ARGS ?=

.PHONY: setup test test-fast demo study study-run study-stop study-results study-report corpus

setup:
	@bash scripts/setup.sh

test: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

# The demo: corpus, 20 minutes of training, test, explanation, report (outputs/demo/report.md).
demo: setup corpus
	$(PY) -m probes.study --config configs/study/demo.yaml

# The whole study on this CPU, in the background from a clone pinned to HEAD (scripts/study.sh;
# run it again to resume). study-run is what that clone runs, in the foreground.
study:
	@bash scripts/study.sh

study-stop:
	@bash scripts/study.sh stop

study-run: setup corpus
	$(PY) -m probes.study --config configs/study/cpu.yaml $(STUDY_ARGS)

# The study's light results copied into results/study/ (to commit), then its report rebuilt from them.
STUDY_OUT ?= $(or $(CROSSPROBE_CACHE),$(HOME)/.cache/crossprobe)/study/outputs/study
study-results: setup
	$(PY) -m probes.study --config configs/study/cpu.yaml --out $(STUDY_OUT) --export results/study $(if $(ONLY),--only $(ONLY))

# results/study/report.md rebuilt from the committed files alone (byte-identical to the committed one).
study-report: setup
	$(PY) -m probes.study.report results/study

corpus: setup
	$(PY) -m s2t.data.synth --out $(CORPUS)
