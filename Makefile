# The commands of the README, each setting up what it needs first (idempotently):
#   make demo        generate synthetic ISBI-format data, train, predict, report held-out Dice
#   make test        the test suite (what CI runs)
#   make test-quick  the unit tests alone (no training run): the inner loop of a change
# A virtual environment in .venv gets requirements.txt, then Horovod built from source
# against that TensorFlow with Gloo (no MPI needed); `make test` adds requirements-test.txt.

PYTHON_BASE ?= python3.11
VENV ?= .venv
PYTHON := $(VENV)/bin/python
HOROVOD_VERSION := 0.28.1
REQUIREMENTS_STAMP := $(VENV)/.requirements-installed
TEST_REQUIREMENTS_STAMP := $(VENV)/.test-requirements-installed
HOROVOD_STAMP := $(VENV)/.horovod-$(HOROVOD_VERSION)-installed

.PHONY: setup demo test test-quick

setup: $(HOROVOD_STAMP)

$(PYTHON):
	$(PYTHON_BASE) -m venv $(VENV)

$(REQUIREMENTS_STAMP): requirements.txt requirements-common.txt | $(PYTHON)
	$(PYTHON) -m pip install --quiet --upgrade pip wheel setuptools
	$(PYTHON) -m pip install --quiet -r requirements.txt
	touch $@

# Horovod's build imports TensorFlow, hence --no-build-isolation and the order.
$(HOROVOD_STAMP): $(REQUIREMENTS_STAMP)
	HOROVOD_WITH_TENSORFLOW=1 HOROVOD_WITH_GLOO=1 HOROVOD_WITHOUT_MPI=1 \
	HOROVOD_WITHOUT_PYTORCH=1 HOROVOD_WITHOUT_MXNET=1 \
	$(PYTHON) -m pip install --quiet --no-build-isolation horovod==$(HOROVOD_VERSION)
	$(PYTHON) -c "import horovod.tensorflow as hvd; assert hvd.gloo_built(), 'Horovod was built without Gloo'"
	touch $@

$(TEST_REQUIREMENTS_STAMP): requirements-test.txt | $(PYTHON)
	$(PYTHON) -m pip install --quiet -r requirements-test.txt
	touch $@

# DEMO_FLAGS: main.py flags after the demo's own, e.g. DEMO_FLAGS="--max_steps 50".
demo: setup
	PATH="$(abspath $(VENV))/bin:$$PATH" bash examples/unet_SYNTHETIC_CPU.sh data/synthetic \
	  results/synthetic $(DEMO_FLAGS)

test: setup $(TEST_REQUIREMENTS_STAMP)
	$(PYTHON) -m pytest tests

# tests/commands/ runs the commands end to end; everything else is a unit test.
test-quick: setup $(TEST_REQUIREMENTS_STAMP)
	$(PYTHON) -m pytest tests --ignore=tests/commands
