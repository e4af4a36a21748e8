# Two commands from a fresh clone:  `make demo`  and  `make test`.
# Both create .venv and install the kit into it; nothing is installed outside the folder.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PERIOD ?= 2025-Q4

.PHONY: install demo test sample ingest bench simulate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

data/sample/truth.json: $(STAMP)
	$(BIN)/qakit sample --out data/sample

data/archive/ingest_report.json: data/sample/truth.json config/sources.yml
	$(BIN)/qakit ingest --raw data/sample --archive data/archive

sample: data/sample/truth.json
ingest: data/archive/ingest_report.json

demo: data/archive/ingest_report.json
	$(BIN)/qakit run --period $(PERIOD) --teams all --out reports

test: $(STAMP)
	$(BIN)/python -m pytest tests notebooks --nbval-lax -p no:cacheprovider

# the kit's modules compiled first, as a regular install has them: with PYTHONDONTWRITEBYTECODE set (as on
# this machine) an editable install is compiled again by every kernel, 0.15 s of each notebook's start
bench: $(STAMP)
	$(BIN)/python -m compileall -q qa_helpers
	$(BIN)/python benchmarks/run.py $(if $(QUICK),--quick,)

# issue-13 simulations: false alarms of every verdict-bearing before/after row (>= 1,000 null runs
# with agent effects and team-week shocks) and power at the reported MDE; RUNS=200 for a quick look
simulate: $(STAMP)
	nice -n 10 $(BIN)/python benchmarks/simulate_stats.py --runs $(or $(RUNS),1000)

clean:
	rm -rf data/sample data/archive data/.archive.* data/*.key reports/20*
