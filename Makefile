# MixIR: set-up, build, run, test.
#
#   make run    install what is missing, build, run the examples on the CPU
#   make test   install what is missing, build, run every test suite
#   make test-asan  the unit tests and the runtime's Python tests against an
#               ASan + UBSan build in $(BUILD)-asan (scripts/run_asan_tests.sh)
#   make build  install what is missing, build into build/
#   make setup  only install what building and running need (scripts/setup.sh)
#   make setup-tests   also what the test suites need (setup.sh --tests)
#   make clean  remove build/ and the mixir-dev.pth file
#   make gpu-bundle  build, then write $(BUILD)/gpu-bundle: what a GPU machine
#               without LLVM runs (bash $(BUILD)/gpu-bundle/run.sh; see README)
#
# Variables: JOBS (parallel compile jobs, default 2), BUILD (build directory,
# default build), PYTHON (interpreter to build the Python extension for and to
# install Python packages into, default python3).
#
# After a successful build, `make build` writes mixir-dev.pth into PYTHON's
# site-packages (site.getsitepackages()[0]; the user site-packages if that is
# not writable). It holds the absolute path of $(BUILD)/python, where the build
# puts the importable `mixir` package (Python sources plus native extension),
# so `import mixir` works from any directory without setting PYTHONPATH.

SHELL := /bin/bash

JOBS ?= 2
BUILD ?= build
PYTHON ?= python3
LLVM_PREFIX := /usr/lib/llvm-22

BUILD_ABS := $(abspath $(BUILD))

.PHONY: all setup setup-tests build run test test-asan clean gpu-bundle

all: build

setup:
	PYTHON="$(PYTHON)" bash scripts/setup.sh

setup-tests:
	PYTHON="$(PYTHON)" bash scripts/setup.sh --tests

# Configures when $(BUILD)/build.ninja is missing or was configured for another
# Python; otherwise Ninja re-runs CMake itself when a CMakeLists.txt changes.
build: setup
	@py=$$("$(PYTHON)" -c 'import sys; print(sys.executable)') && \
	if [ ! -f "$(BUILD)/build.ninja" ] || \
	   ! grep -qE "^Python3_EXECUTABLE:[A-Z]+=$$py\$$" "$(BUILD)/CMakeCache.txt" 2>/dev/null; then \
	  set -x && \
	  CC="$${CC:-cc}" CXX="$${CXX:-c++}" cmake -G Ninja -S . -B "$(BUILD)" \
	    -DCMAKE_BUILD_TYPE=Release \
	    -DMLIR_DIR=$(LLVM_PREFIX)/lib/cmake/mlir \
	    -DLLVM_EXTERNAL_LIT=$(LLVM_PREFIX)/bin/lit \
	    -DPython3_EXECUTABLE="$$py"; \
	fi
	cmake --build "$(BUILD)" -j $(JOBS)
	@site=$$("$(PYTHON)" -c 'import site; print(site.getsitepackages()[0])') && \
	pth="$$site/mixir-dev.pth" && \
	if [ "$$(cat "$$pth" 2>/dev/null)" != "$(BUILD_ABS)/python" ]; then \
	  if ! { mkdir -p "$$site" && echo "$(BUILD_ABS)/python" > "$$pth"; } 2>/dev/null; then \
	    site=$$("$(PYTHON)" -m site --user-site) && pth="$$site/mixir-dev.pth" && \
	    mkdir -p "$$site" && echo "$(BUILD_ABS)/python" > "$$pth"; \
	  fi && echo "wrote $$pth -> $(BUILD_ABS)/python"; \
	fi

run: build
	PYTHONPATH="$(BUILD_ABS)/python$${PYTHONPATH:+:$$PYTHONPATH}" \
	  "$(PYTHON)" examples/run_examples.py --build "$(BUILD)"
	PYTHONPATH="$(BUILD_ABS)/python$${PYTHONPATH:+:$$PYTHONPATH}" \
	  "$(PYTHON)" examples/models/run_models.py --build "$(BUILD)"

test: setup-tests build
	PYTHON="$(PYTHON)" JOBS=$(JOBS) bash scripts/run_tests.sh "$(BUILD)"

test-asan: setup-tests
	PYTHON="$(PYTHON)" JOBS=$(JOBS) bash scripts/run_asan_tests.sh "$(BUILD)-asan"

gpu-bundle: build
	JOBS=$(JOBS) "$(PYTHON)" bench/gpu/make_bundle.py --build "$(BUILD)"

clean:
	rm -rf "$(BUILD)" "$(BUILD)-asan" .pytest_cache
	@for site in $$("$(PYTHON)" -c 'import site; print(site.getsitepackages()[0])' 2>/dev/null) \
	             $$("$(PYTHON)" -m site --user-site 2>/dev/null); do \
	  pth="$$site/mixir-dev.pth"; \
	  if [ "$$(cat "$$pth" 2>/dev/null)" = "$(BUILD_ABS)/python" ]; then \
	    rm -f "$$pth" && echo "removed $$pth"; \
	  fi; \
	done
