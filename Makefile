# Fresh machine: `make run` (set up, then the offline demo) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv sysdeps run test bench clean

venv: $(STAMP)

# System packages (CJK font, chromium for the browser test): apt when root or with sudo, else one clear message.
sysdeps:
	@scripts/system_packages.sh

# Re-install only when the dependency list changes; the stamp marks a completed install.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: sysdeps venv
	$(BIN)/jixiao demo

# pytest exits 5 when it collected nothing: an empty suite is a failure, not a pass.
test: sysdeps venv
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: no tests were collected" >&2; exit 1; fi; \
	exit $$rc

bench: venv
	$(BIN)/python scripts/bench_ingest.py

clean:
	rm -rf $(VENV) .pytest_cache
