# The two commands a newcomer needs: `make run` and `make test`. Both set everything up themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED := ../shared/testdata/tfserving
REST_PORT ?= 8501
GRPC_PORT ?= 8500

.PHONY: run test setup setup-browser screenshots openapi protos check-protos lint typecheck unit demo clean bench fuzz fuzz-http2 \
	soak-grpc h2load test-storage-large test-onnx-only container-image container-test container-lock

setup: $(STAMP)

$(STAMP): pyproject.toml
	@echo "Setting up $(VENV): pyserving, TensorFlow and the test tools (a few minutes the first time)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --progress-bar on -e '.[tensorflow,onnx,dev,demo,test-storage]'
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

test: $(STAMP) setup-browser check-protos lint typecheck
	$(BIN)/pytest

# `make fuzz`: the decoders' property tests at 10^5 cases per target (`make test` runs 10^3), the
# same decoders under atheris (coverage-guided, 10^5 inputs per target; tests/fuzz/atheris_targets.py),
# and schemathesis against a live server with the OpenAPI document (200 cases per operation, plus
# stateful sequences; `make test` runs 5).
ATHERIS_RUNS ?= 100000
fuzz: $(STAMP)
	PYSERVING_FUZZ_EXAMPLES=100000 $(BIN)/pytest tests/fuzz -q --timeout=0
	for target in $$($(BIN)/python -m tests.fuzz.atheris_targets --list); do \
		$(BIN)/python -m tests.fuzz.atheris_targets $$target -runs=$(ATHERIS_RUNS) -seed=17 \
			-print_final_stats=1 || exit 1; \
	done
	PYSERVING_SCHEMATHESIS_EXAMPLES=200 PYSERVING_SCHEMATHESIS_PHASES=examples,coverage,fuzzing,stateful \
		$(BIN)/pytest tests/integration/test_openapi_e2e.py -q --timeout=0

# docs/openapi.json: the REST API's OpenAPI document, as the server serves it at /openapi.json.
openapi: $(STAMP)
	$(BIN)/python scripts/gen_openapi.py

# The console's browser tests drive Debian's Chromium with Playwright (Playwright's own browser
# download needs the internet; it is never used).
CHROMIUM := /usr/bin/chromium

setup-browser:
	test -x $(CHROMIUM) || (apt-get update -qq && apt-get install -y -qq chromium)

# docs/img/console.png and docs/img/digits.png, from a real server of the demo models.
screenshots: demo setup-browser
	$(BIN)/python scripts/console_screenshots.py --models demo/models --out docs/img

# A 200 MB version downloaded from moto's S3 with bounded memory (~1 min, 400 MB over loopback;
# not part of `make test`).
test-storage-large: $(STAMP)
	PYSERVING_LARGE_STORAGE_TESTS=1 $(BIN)/pytest tests/integration/test_storage_large.py

# `make container-test`: builds both image targets with podman and runs them the way TF Serving's
# image is run (a mounted model directory, and a bucket on moto's S3 server), and deploy/kubernetes/
# under `podman kube play` (~16 min on a fresh machine, ~4 min with the builds cached; not part of
# `make test`, which validates the manifests only). deploy/container/setup-host.sh installs podman
# and makes the base image from Debian's archive (no registry needed; cached after the first run).
# Elsewhere: `podman build -t pyserving .` (or docker) builds from python:3.11-slim.
CONTAINER_IMAGE ?= localhost/pyserving:test
CONTAINER_IMAGE_ONNX ?= $(CONTAINER_IMAGE)-onnx
CONTAINER_BASE ?= localhost/pyserving-base:bookworm
HOST_CA := /etc/ssl/certs/ca-certificates.crt
# pip inside the build trusts the host's CAs (HTTPS through a proxy needs them).
BUILD_CA := $(if $(wildcard $(HOST_CA)),-v $(HOST_CA):$(HOST_CA):ro --build-arg PIP_CERT=$(HOST_CA))
PODMAN_BUILD = podman build --pull=never --format docker --build-arg BASE=$(CONTAINER_BASE) \
	$(BUILD_CA) -f Containerfile

# Both targets: `tensorflow` (the default) and `onnx` (ONNX Runtime, no TensorFlow). They share
# the base, tini and wheel stages.
container-image:
	BASE_IMAGE=$(CONTAINER_BASE) bash deploy/container/setup-host.sh
	$(PODMAN_BUILD) -t $(CONTAINER_IMAGE) .
	$(PODMAN_BUILD) --target onnx -t $(CONTAINER_IMAGE_ONNX) .

container-test: $(STAMP) container-image
	PYSERVING_TEST_IMAGE=$(CONTAINER_IMAGE) PYSERVING_TEST_IMAGE_ONNX=$(CONTAINER_IMAGE_ONNX) \
		$(BIN)/pytest tests/container tests/deploy -p no:cacheprovider

# Regenerates deploy/container/constraints.txt (the image's pinned versions) after a change to
# the dependencies in pyproject.toml.
container-lock: $(STAMP)
	$(BIN)/python scripts/container_lock.py

# `make bench`: pyserving against FastAPI+TF, MLServer and a bare ASGI ceiling (~15 min; not part
# of `make test`), and the start-up of an ONNX-only server (.onnx-venv) against a TensorFlow one. The peers live in their own venv: MLServer pins its own dependencies.
BENCH_VENV := .bench-venv
ONNX_VENV := .onnx-venv
ONNX_STAMP := $(ONNX_VENV)/.installed-onnx-tflite
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): benchmarks/requirements.txt
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet -r benchmarks/requirements.txt
	touch $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP) $(ONNX_STAMP) h2load demo
	$(ONNX_VENV)/bin/pip install --quiet --no-deps --force-reinstall .
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python benchmarks/run.py

# nghttp2's h2load: the C gRPC load generator of `make bench` (gRPC rows "... h2load").
h2load:
	command -v h2load >/dev/null || (apt-get update -qq && apt-get install -y -qq nghttp2-client)

# The long HTTP/2 conformance/abuse pass over the zttp gRPC server (a short one runs in
# `make test`): random and malformed frames, rapid reset, stream/ping/settings floods, oversized
# headers, window abuse; after each, another client must still be served. ~5-10 min.
HTTP2_FUZZ_EXAMPLES ?= 3000
fuzz-http2: $(STAMP)
	HTTP2_FUZZ_EXAMPLES=$(HTTP2_FUZZ_EXAMPLES) $(BIN)/pytest -q -p no:cacheprovider \
		tests/transport/test_http2_fuzz.py

# The gRPC soak: 10^5 Predict RPCs at c=128 over 4 long-lived channels, 1% cancelled by their
# deadline, on each stack; fails if any other RPC fails (a smaller version runs in `make test`).
soak-grpc: $(STAMP)
	$(BIN)/python benchmarks/grpc_soak.py --stack zttp
	$(BIN)/python benchmarks/grpc_soak.py --stack grpcio

# `make test-onnx-only`: pyserving installed from this tree with `pip install '.[onnx,tflite]'` in a
# venv WITHOUT TensorFlow, serving ONNX models over REST and gRPC and TFLite models with LiteRT
# (tests/onnx_only, the ONNX and TFLite runtime tests; the TFLite model is the committed
# tests/data/half_plus_two.tflite, made by scripts/make_tflite_test_model.py). The venv and its
# dependencies are kept between runs (rebuilt when pyproject.toml changes); pyserving itself is
# reinstalled every run, as a wheel, so the test sees exactly what `pip install` ships.

$(ONNX_STAMP): pyproject.toml
	rm -rf $(ONNX_VENV)
	$(PYTHON) -m venv $(ONNX_VENV)
	$(ONNX_VENV)/bin/pip install --quiet --upgrade pip
	$(ONNX_VENV)/bin/pip install --quiet '.[onnx,tflite]' 'pytest>=8' pytest-timeout 'httpx>=0.27'
	touch $(ONNX_STAMP)

test-onnx-only: $(ONNX_STAMP)
	$(ONNX_VENV)/bin/pip install --quiet --no-deps --force-reinstall .
	! $(ONNX_VENV)/bin/python -c "import tensorflow" 2>/dev/null
	cd $(ONNX_VENV) && ./bin/python -c "import pyserving, sys; assert 'tensorflow' not in sys.modules"
	$(ONNX_VENV)/bin/python -c "import ai_edge_litert.interpreter"
	$(ONNX_VENV)/bin/pytest -p no:cacheprovider tests/onnx_only tests/unit/runtimes/test_onnx_runtime.py \
		tests/unit/runtimes/test_tflite_runtime.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) $(ONNX_VENV) .bench demo/models .pytest_cache .mypy_cache .ruff_cache
