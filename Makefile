# The two set-up commands: `make demo` (a stack + app pair with default answers) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEST ?= demo
SLUG ?= igny8
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: demo test lint bench clean

$(BIN)/copier: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet '.[dev]'
	touch $@

demo: $(BIN)/copier
	@if [ -n "$$(ls -A "$(DEST)" 2>/dev/null)" ]; then \
		echo "error: $(DEST) is not empty; remove it or choose another folder with DEST=path" >&2; \
		exit 1; \
	fi
	$(BIN)/copier copy --trust --defaults --vcs-ref=HEAD -d repo=app -d stack_path=../../stack/$(SLUG)-stack \
		"$(CURDIR)" "$(DEST)/app/$(SLUG)"
	@echo "Demo pair: $(DEST)/stack/$(SLUG)-stack and $(DEST)/app/$(SLUG)"

test: $(BIN)/copier
	bash .ci/provision-tools.sh
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(BIN)/copier
	$(BIN)/pre-commit run --all-files

# Median seconds of generating the pair (and the stack alone) against a one-file copier template.
bench: $(BIN)/copier
	$(BIN)/python bench/generate.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) demo
