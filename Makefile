# coprod — one command to chat (`make chat`), one to test (`make test`).
PYTHON     ?= python3
VENV       ?= .venv
# Override for a GPU build, e.g. make install TORCH_SPEC='torch==2.14.1' (or 'torch' for the latest CUDA wheel).
TORCH_SPEC ?= torch==2.13.0
PYTEST_ARGS ?=
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE ?= 1
export ANONYMIZED_TELEMETRY ?= False
export GRADIO_ANALYTICS_ENABLED ?= False

.PHONY: install index chat terminal-chat web webhook test test-slow test-all rules-check bench eval clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

index: install            ## build the index if it is missing or stale (a no-op otherwise)
	$(BIN)/coprod ingest

chat: index               ## the web chat on http://127.0.0.1:7860
	$(BIN)/coprod web

terminal-chat: index
	$(BIN)/coprod chat

webhook: index
	$(BIN)/coprod serve-webhook

rules-check: install
	$(BIN)/coprod rules check

test: install rules-check ## rule-set check + the fast test suite (includes the quick eval gate)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

test-slow: install        ## browser, server and load tests (CI runs them too)
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

test-all: test test-slow

bench: index              ## speed and retrieval figures -> evals/reports/bench.{json,md}
	$(BIN)/python -m evals.bench

eval: index               ## the full evaluation suite -> evals/reports/eval.{json,md,html}
	$(BIN)/coprod eval --dataset evals/datasets/tuning.jsonl --dataset evals/datasets/heldout.jsonl \
	  --dataset evals/datasets/heldout2.jsonl --dataset evals/datasets/heldout3.jsonl \
	  --out evals/reports/eval.json --md evals/reports/eval.md --html evals/reports/eval.html

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
