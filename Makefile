# One command to set up and chat (`make run`), one to set up and test (`make test`).
# Both create and reuse .venv/ at the repo root.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
EXTRAS := llm,ui,dev,onnx
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: install run test index eval bench browser clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The CPU torch wheel first: otherwise sentence-transformers pulls a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[$(EXTRAS)]'
	touch $(STAMP)

install: $(STAMP)

index: install
	$(VENV)/bin/assistant index

run: install
	$(PY) app.py

eval: install
	$(VENV)/bin/assistant eval

# Browser tests drive Debian's chromium through playwright (never `playwright install`).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null)

test: install browser
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) embeddings/v-* embeddings/CURRENT
