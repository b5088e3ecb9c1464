# The two commands a newcomer needs: `make run` and `make test`. Both set everything up themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED := ../shared/testdata/tfserving
REST_PORT ?= 8501
GRPC_PORT ?= 8500

.PHONY: run test setup protos check-protos lint typecheck unit demo clean bench fuzz

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[tensorflow,dev]'
	# The real TF Serving client, used by the tests. It depends on the `tensorflow` package, which
	# is the same module as `tensorflow-cpu`: install it without letting pip pull a second TensorFlow.
	$(BIN)/pip install --quiet --no-deps 'tensorflow-serving-api>=2.16'
	touch $(STAMP)

protos: $(STAMP)
	$(BIN)/python scripts/gen_protos.py

check-protos: $(STAMP)
	$(BIN)/python scripts/gen_protos.py --check

demo: $(STAMP)
	$(BIN)/python demo/build_demo.py --out demo/models --shared $(SHARED)

run: demo
	$(BIN)/tensorflow_model_server --port=$(GRPC_PORT) --rest_api_port=$(REST_PORT) \
		--model_config_file=demo/models/models.config --enable_admin_api

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) check-protos lint typecheck
	$(BIN)/pytest

# `make fuzz`: the decoders' property tests at 10^5 cases per target (`make test` runs 10^3).
fuzz: $(STAMP)
	PYSERVING_FUZZ_EXAMPLES=100000 $(BIN)/pytest tests/fuzz -q --timeout=0

# `make bench`: pyserving against FastAPI+TF, MLServer and a bare ASGI ceiling (~10 min; not part
# of `make test`). The peers live in their own venv: MLServer pins its own dependencies.
BENCH_VENV := .bench-venv
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): benchmarks/requirements.txt
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet -r benchmarks/requirements.txt
	touch $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP)
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) .bench demo/models .pytest_cache .mypy_cache .ruff_cache
