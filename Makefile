# Every target sets up its own virtual environment first; nothing else needs installing by hand.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# The course budget: 10 trials of up to 100 epochs. With TIME= and no MAX_TRIALS=, as many
# trials as the time buys.
MAX_TRIALS ?=
TRIALS := $(if $(MAX_TRIALS),--max-trials $(MAX_TRIALS))
MAX_EPOCHS ?= 100
ARGS ?=
# TIME=45m (or 2h, 1h30m, seconds): a time budget for the search, summed over resumes.
TIME ?=
BUDGET := $(if $(TIME),--time-budget $(TIME))
# WORKERS=N: a distributed search, this machine's N workers served by `tune` as the chief.
WORKERS ?=
DIST := $(if $(WORKERS),--workers $(WORKERS))
# `make tensorboard` serves the logs of `tune --tensorboard` for this dataset.
DATASET ?= mnist
# The smoke budget: a complete real search, kept to a few minutes on 2 cores.
SMOKE := --max-trials 2 --max-epochs 1 --train-limit 2000 --top-n 2 --results-dir results/smoke

.PHONY: help install tune-mnist tune-fashion tensorboard ablate-mnist ablate-fashion \
	confirm-mnist confirm-fashion test smoke bench lint clean

help:
	@echo "make tune-mnist | tune-fashion  [MAX_TRIALS=10] [MAX_EPOCHS=100] [TIME=45m] [WORKERS=N] [ARGS='--set dropout=0.5 ...']"
	@echo "make tensorboard [DATASET=fashion-mnist]"
	@echo "make ablate-mnist | ablate-fashion | confirm-mnist | confirm-fashion  [ARGS='--max-epochs 5 ...']"
	@echo "make install [INSTALLER=pip]"
	@echo "make test | smoke | bench [ARGS='--epochs 2 --rounds 3'] | lint | clean"

# uv installs the same packages as pip in about a third of the time. It reads no pip
# configuration (pip.conf, PIP_INDEX_URL): INSTALLER=pip installs with pip, as does any
# machine where uv cannot be fetched or fails. --compile-bytecode is pip's default, which
# every later import needs where PYTHONDONTWRITEBYTECODE is set.
INSTALLER ?= uv
EXTRAS := '.[tensorflow,test]'

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	{ [ "$(INSTALLER)" = uv ] && $(PY) -m pip install --quiet uv \
		&& $(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -e $(EXTRAS); } \
		|| $(PY) -m pip install --quiet -e $(EXTRAS)
	touch $(STAMP)

install: $(STAMP)

tune-mnist: $(STAMP)
	$(PY) -m tuning tune --dataset mnist $(TRIALS) --max-epochs $(MAX_EPOCHS) $(BUDGET) $(DIST) $(ARGS)

tune-fashion: $(STAMP)
	$(PY) -m tuning tune --dataset fashion-mnist $(TRIALS) --max-epochs $(MAX_EPOCHS) $(BUDGET) $(DIST) $(ARGS)

tensorboard: $(STAMP)
	$(PY) -m tensorboard.main --logdir results/$(DATASET)/tensorboard

# After a search: retrain its best trial with each technique off, or with other seeds.
ablate-mnist: $(STAMP)
	$(PY) -m tuning ablate results/mnist $(ARGS)

ablate-fashion: $(STAMP)
	$(PY) -m tuning ablate results/fashion-mnist $(ARGS)

confirm-mnist: $(STAMP)
	$(PY) -m tuning confirm results/mnist $(ARGS)

confirm-fashion: $(STAMP)
	$(PY) -m tuning confirm results/fashion-mnist $(ARGS)

test: $(STAMP)
	$(PY) -m ruff check tuning hypermodels tests benchmarks
	$(PY) -m ruff format --check tuning hypermodels tests benchmarks
	$(PY) -m pytest

smoke: $(STAMP)
	$(PY) -m tuning tune --dataset mnist $(SMOKE)/mnist --overwrite $(ARGS)
	$(PY) -m tuning tune --dataset fashion-mnist $(SMOKE)/fashion-mnist --overwrite $(ARGS)

# Speed of the training path tune uses against the plain one; figures in README, "Speed".
bench: $(STAMP)
	$(PY) -m tuning bench $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check --fix tuning hypermodels tests benchmarks
	$(PY) -m ruff format tuning hypermodels tests benchmarks

clean:
	# Real search results are work, not build output: clean leaves results/<dataset>/ alone.
	rm -rf $(VENV) results/smoke .pytest_cache .ruff_cache *.egg-info
