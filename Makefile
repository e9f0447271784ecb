# Two commands, each creating its own virtual environment on a machine with Python 3.11:
#   make demo   set up and run the Porto Alegre demo (maps/poa_schools, maps/poa_clinics (with assumed BRL
#               costs and a robustness batch on a local Dask cluster),
#               maps/poa_clinics_equity, maps/poa_clinics_median, maps/poa_clinics_kolm_pollak: four
#               plans for the same 10 clinics, compared with their EDE in maps/compare, and
#               maps/poa_shared_budget: clinics and schools sharing one budget,
#               maps/helsinki_raster: an OSM extract and a population GeoTIFF only,
#               maps/poa_counters: service desks sized for waiting times, and
#               maps/poa_clinics_sweep: clinics for p = 1..20 on a local Dask cluster, and
#               maps/phased: the ten clinics built over three budget years, compared with the one-shot plan, and
#               maps/poa_clinics_transit: the clinics by bus, metro and walking)
#   make test   set up and run the whole test suite (whole scenarios on real data included), on 2 processes
#               (pytest-xdist: -n 2)
# For contributors (same .venv, each installs its extra once):
#   make test-fast  the fast lane, under a minute: every test not marked slow
#                   (pytest -m "not slow"; `slow` is described in pyproject.toml)
#   make lint   ruff and mypy (mypy's files come from [tool.mypy] in pyproject.toml)
#   make docs   build the documentation (mkdocs-material, strict) into .venv/site
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
SITE   := $(VENV)/site
# Real data is read from a local mirror when there is one (CI: ../shared/data);
# otherwise allocator downloads each file once into ~/.cache/allocator and checks its sha256.
ALLOCATOR_DATA_MIRROR ?= $(if $(wildcard ../shared/data/README.md),$(abspath ../shared/data),)
ifneq ($(ALLOCATOR_DATA_MIRROR),)
export ALLOCATOR_DATA_MIRROR
endif

.PHONY: demo test test-fast lint docs bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

# Extras on top of the base install (the same venv as demo and test).
$(BIN)/.installed-lint: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test,lint]"
	touch $@

$(BIN)/.installed-docs: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test,docs]"
	touch $@

demo: $(BIN)/.installed
	$(BIN)/python run_scenario.py scenarios/poa_schools.yaml
	$(BIN)/python run_scenario.py --compare scenarios/poa_clinics.yaml scenarios/poa_clinics_equity.yaml scenarios/poa_clinics_median.yaml scenarios/poa_clinics_kolm_pollak.yaml
	$(BIN)/python run_scenario.py scenarios/poa_shared_budget.yaml
	$(BIN)/python tools/population_raster.py catalog:helsinki/helsinki_population_grid_2020.gpkg maps/inputs/helsinki_population_250m.tif --crs EPSG:3879 --resolution 250 && $(BIN)/python run_scenario.py scenarios/helsinki_raster.yaml
	$(BIN)/python run_scenario.py scenarios/poa_counters.yaml
	$(BIN)/python run_scenario.py scenarios/poa_clinics_sweep.yaml
	$(BIN)/python run_scenario.py --compare scenarios/poa_clinics_phased.yaml scenarios/poa_clinics.yaml --out maps/phased
	$(BIN)/python run_scenario.py scenarios/poa_clinics_transit.yaml

test: $(BIN)/.installed
	$(BIN)/python -m pytest -q -n 2

test-fast: $(BIN)/.installed
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(BIN)/.installed-lint
	$(BIN)/ruff check allocator tests benchmarks tools run_scenario.py
	$(BIN)/mypy

docs: $(BIN)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir $(SITE)
	@echo "documentation: $(SITE)/index.html"

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache .mypy_cache site
