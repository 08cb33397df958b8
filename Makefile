# One command to set up and chat (`make run`), one to set up and test (`make test`).
# Both create and reuse .venv/ at the repo root.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
EXTRAS := llm,ui,dev,onnx,milvus,ray
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False

# llama.cpp defaults to -march=native: a wheel built on one CPU can fault on another (AMX that
# the CPU reports but the kernel has not enabled segfaults at the first token). So it is built
# portable (AVX2/FMA/F16C, every x86-64 CPU of the last ten years), from source, never from
# pip's wheel cache, into a wheelhouse whose name records the version and the flags.
LLAMA_VERSION := 0.3.36
LLAMA_FLAGS   := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF
WHEELHOUSE    := .wheels/llama-cpp-python-$(LLAMA_VERSION)-native-off-avx2

.PHONY: install run test index eval bench browser clean doctor

$(WHEELHOUSE)/.built:
	test -x $(PY) || python3 -m venv $(VENV)
	rm -rf $(WHEELHOUSE) && mkdir -p $(WHEELHOUSE)
	CMAKE_ARGS="$(LLAMA_FLAGS)" $(PY) -m pip wheel -q --no-cache-dir --no-deps \
	    --no-binary llama-cpp-python -w $(WHEELHOUSE) llama-cpp-python==$(LLAMA_VERSION)
	touch $@

$(STAMP): pyproject.toml Makefile $(WHEELHOUSE)/.built
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The CPU torch wheel first: otherwise sentence-transformers pulls a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	# The portable wheel replaces whatever llama-cpp-python the venv had (a native build included).
	$(PY) -m pip install -q --no-deps --force-reinstall $(WHEELHOUSE)/llama_cpp_python-*.whl
	$(PY) -m pip install -q -e '.[$(EXTRAS)]'
	touch $(STAMP)

install: $(STAMP)

index: install
	$(VENV)/bin/assistant index

run: install
	$(PY) app.py

eval: install
	$(VENV)/bin/assistant eval

doctor: install
	$(VENV)/bin/assistant doctor

# Browser tests drive Debian's chromium through playwright (never `playwright install`).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null)

test: install browser
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) embeddings/v-* embeddings/CURRENT embeddings/sentences embeddings/synced-from.json
