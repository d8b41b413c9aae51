# Two commands set everything up on a fresh machine:
#   make run   - create .venv, install, build the index if missing (sync if stale), start the app
#   make test  - the same set-up, then the whole test suite (fast and full-corpus tests)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
API_PORT ?= 8080
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run serve test test-fast install index lint eval eval-baseline eval-languages \
	bench-ingest bench-ask bench-assess bench-api bench-register bench-live train clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

index: install
	$(PY) -m ingest

run: index
	$(PY) -m streamlit run app.py --server.port $(PORT) --server.headless true

serve: index
	$(PY) -m kb serve --port $(API_PORT)

test: index
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not corpus and not server and not browser"

lint: install
	$(VENV)/bin/ruff check .

eval: index
	$(PY) -m eval

eval-baseline: index
	$(PY) -m eval --baseline

# Retrain the learned parts (the query adapter first: the ranker reads its scores).
train: index
	$(PY) -m eval.train_adapter --check eval/questions.jsonl
	$(PY) -m eval.train_ranker

eval-languages: index
	$(PY) -m eval --questions eval/questions_de.jsonl --no-systems --out eval/de
	$(PY) -m eval --questions eval/questions_fr.jsonl --no-systems --out eval/fr
	$(PY) -m eval.languages --out eval/languages.json

bench-ingest: install
	$(PY) -m eval.bench ingest

bench-ask: index
	$(PY) -m eval.bench ask

bench-assess: index
	$(PY) -m eval.bench assess
bench-api: index
	$(PY) -m eval.bench api

bench-register: index
	$(PY) -m eval.bench register

bench-live: index
	$(PY) -m eval.bench live

clean:
	rm -rf data/chroma data/catalog.sqlite
