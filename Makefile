# The two set-up commands: `make demo` (a stack + app pair with default answers) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEST ?= demo
SLUG ?= igny8
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: demo test lint bench bench-deploy bench-front-door lock api-client release clean

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

# Seconds of `make deploy` (new frontend and backend code, to both served) in a deployment of
# the default pair on the stand-in images, and each container's memory before and at its peak.
bench-deploy: $(BIN)/copier
	$(BIN)/python bench/deploy.py $(BENCH_ARGS)

# Requests per second through the stack's Caddy against a bare one (tls internal, reverse_proxy)
# in front of the same backend of a demo deployment; needs Docker, ab (apache2-utils) and root.
bench-front-door: $(BIN)/copier
	$(BIN)/python bench/front_door.py $(BENCH_ARGS)

# The stack's backend/requirements.lock of each requirements.txt variant (uv, from PyPI).
lock: $(BIN)/copier
	$(BIN)/python scripts/lock.py

# The app template's API schema and its generated client, after a change to what they describe
# (Node 24 of .ci/provision-node.sh runs the generator).
NODE_BIN ?= $(or $(TEMPLATE_CI_ROOT),/opt/template-ci)/node-24/bin
api-client: $(BIN)/copier
	bash .ci/provision-node.sh
	PATH="$(NODE_BIN):$$PATH" $(BIN)/python scripts/api_client.py

# Tag a release: the CHANGELOG has its `## [VERSION]` heading, committed, and the tree is clean.
# Then publish the tag: git push --tags (a clone without tags sees only development versions).
release:
	@case "$(VERSION)" in \
		[0-9]*.[0-9]*.[0-9]*) ;; \
		*) echo "error: give the version as VERSION=x.y.z, e.g. make release VERSION=0.3.0" >&2; exit 1 ;; \
	esac
	@grep -q '^## \[$(VERSION)\]' CHANGELOG.md || { \
		echo "error: CHANGELOG.md has no '## [$(VERSION)]' heading: rename '## [Unreleased]' to '## [$(VERSION)] - $$(date +%Y-%m-%d)', add a new empty Unreleased, commit" >&2; exit 1; }
	@test -z "$$(git status --porcelain)" || { \
		echo "error: the working tree has uncommitted changes: commit or stash them first (git status)" >&2; exit 1; }
	@! git rev-parse -q --verify "refs/tags/$(VERSION)" >/dev/null || { \
		echo "error: tag $(VERSION) exists already: pick the next version" >&2; exit 1; }
	git tag -a "$(VERSION)" -m "Release $(VERSION)"
	@echo "Tagged $(VERSION). Publish it: git push --tags"

clean:
	rm -rf $(VENV) demo
