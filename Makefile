# One-command environment for vis_ros. `make demo` and `make test` each work
# on a fresh clone: both depend on `setup`, which is idempotent and cheap to
# re-run (stamp files skip every step whose inputs did not change).
SHELL := /bin/bash
.SHELLFLAGS := -e -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
# The ROS 2 distribution: kilted (the default) or jazzy, each with a venv, build and
# install folder of its own (.venv, build/, install/ for kilted; .venv-jazzy, build-jazzy/,
# install-jazzy/ for jazzy), so both live side by side: `make test ROS_DISTRO=jazzy`.
# tools/env.sh reads the same variable. What differs between them: docs/distros.md.
ROS_DISTRO ?= kilted
DISTROS := kilted jazzy
ifeq ($(filter $(ROS_DISTRO),$(DISTROS)),)
$(error ROS_DISTRO=$(ROS_DISTRO) is not supported here: use one of $(DISTROS))
endif
SUFFIX := $(if $(filter kilted,$(ROS_DISTRO)),,-$(ROS_DISTRO))
VENV := .venv$(SUFFIX)
BUILD := build$(SUFFIX)
INSTALL := install$(SUFFIX)
LOG := log$(SUFFIX)
ROOT := $(abspath .)
DEPS_STAMP := $(VENV)/.deps-stamp
BUILD_STAMP := $(INSTALL)/.build-stamp
# Test-only interface packages (test/interfaces/README.md): built for the tests, never installed.
TEST_INTERFACES_STAMP := $(BUILD)/test_interfaces/.build-stamp
ENV := export ROS_DISTRO=$(ROS_DISTRO) && source tools/env.sh
# Everything colcon installs: a change to any of these needs a rebuild.
PACKAGE_SOURCES := package.xml CMakeLists.txt $(wildcard msg/*.msg) \
	$(shell find vis_ros launch config models scripts -type f \
	        -not -name '*.pyc' -not -path '*/__pycache__/*' 2>/dev/null)

.PHONY: help setup lint test test-fast demo bench eval train quantize clean shell

help:
	@echo "make demo    set everything up, then run the demo on the embedded model"
	@echo "make test    set everything up, lint, then run the whole test suite"
	@echo "make lint    ruff over the package, tests, launch file and tools"
	@echo "make setup   create .venv, install pinned deps, colcon build into install/"
	@echo "make bench   per-stage timings as JSON (out/bench.json)"
	@echo "make eval    held-out segmentation, tracking and fusion metrics (out/eval.json)"
	@echo "make train   re-train the embedded model (about 30 min on 2 cores), then quantize it"
	@echo "make quantize  the embedded model's INT8 copy from the FP32 one"
	@echo "make shell   print how to enter the project environment"
	@echo "make clean   remove build/, install/, log/ (keeps .venv)"
	@echo "ROS_DISTRO=jazzy  with any target: the same on ROS 2 Jazzy, in .venv-jazzy, build-jazzy/, install-jazzy/"

setup: $(BUILD_STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# pip byte-compiles on one core; compileall on every core does the same in
# 23 s instead of 39 s here. (Compiled they must be: with PYTHONDONTWRITEBYTECODE
# set, every process would compile what it imports, every time.) A few files
# written for newer Pythons (torch's tests) do not compile, as under pip.
$(DEPS_STAMP): requirements.txt requirements-$(ROS_DISTRO).txt constraints-$(ROS_DISTRO).txt | $(VENV)/bin/python
	$(VENV)/bin/pip install --disable-pip-version-check -q --no-compile -r requirements-$(ROS_DISTRO).txt \
		-c constraints-$(ROS_DISTRO).txt \
		2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
	$(VENV)/bin/python -m compileall -q -j 0 $(VENV)/lib > /dev/null || true
	$(VENV)/bin/python tools/fix_ros_cmake_paths.py $(VENV)
	touch $@

# Built with the venv alone: colcon chains every prefix of the build's environment into
# install/setup.bash, and the test-only interfaces there would shadow real packages later.
BUILD_ENV := source $(VENV)/bin/activate && export AMENT_PREFIX_PATH=$(ROOT)/$(VENV) CMAKE_PREFIX_PATH=$(ROOT)/$(VENV) \
	&& unset COLCON_PREFIX_PATH
$(BUILD_STAMP): $(DEPS_STAMP) $(PACKAGE_SOURCES)
	$(BUILD_ENV) && colcon --log-base $(LOG) build --base-paths . \
		--build-base $(BUILD) --install-base $(INSTALL) --event-handlers console_cohesion- \
		--cmake-args -DPython3_EXECUTABLE=$(ROOT)/$(VENV)/bin/python -DBUILD_TESTING=OFF \
			-DPython3_NumPy_INCLUDE_DIR=$$($(VENV)/bin/python tools/fix_ros_cmake_paths.py --numpy-include)
	touch $@

# ruff.toml says what is checked and why; the same checks as ROS packages' linters.
lint: $(DEPS_STAMP)
	$(VENV)/bin/ruff check . scripts/vis-ros scripts/vis_ros_node

$(TEST_INTERFACES_STAMP): $(DEPS_STAMP) tools/build_test_interfaces.sh $(shell find -L test/interfaces -type f)
	$(ENV) && tools/build_test_interfaces.sh $(BUILD)/test_interfaces
	touch $@

# Two workers, one test module at a time each (module fixtures are built once):
# most of the suite waits on node processes and players. Then, alone on the
# machine, the tests that assert the node keeps up with a camera's rate.
test: setup lint $(TEST_INTERFACES_STAMP)
	$(ENV) && status=0 && { pytest -n 2 --dist loadfile -m "not realtime" || status=$$?; } \
		&& { pytest -m realtime || status=$$?; } && exit $$status

test-fast: setup $(TEST_INTERFACES_STAMP)
	$(ENV) && pytest -m "not slow"

demo: setup
	$(ENV) && vis-ros demo --out out/demo

bench: setup
	$(ENV) && vis-ros bench --out out/bench.json

eval: setup
	$(ENV) && vis-ros eval --frames 300 --tracking --fusion --out out/eval.json

# Reproduces models/vis_ros_default.onnx (about 45 min on 2 cores; see models/README.md),
# then its INT8 copy.
train: setup
	$(ENV) && vis-ros train --out models/vis_ros_default.onnx --seed 0
	$(MAKE) quantize

# Reproduces models/vis_ros_default_int8.onnx from the FP32 model (byte for byte here; ~15 s).
quantize: setup
	$(ENV) && vis-ros quantize --onnx models/vis_ros_default.onnx --sim 64 --out models/vis_ros_default_int8.onnx

shell:
	@echo "$(if $(SUFFIX),ROS_DISTRO=$(ROS_DISTRO) )source tools/env.sh"

clean:
	rm -rf $(BUILD) $(INSTALL) $(LOG)
