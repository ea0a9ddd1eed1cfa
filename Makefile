# Two commands set everything up on a fresh Debian 12 machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Debian packages the tests and the demo use: stap is the oracle, pahole the layout peer,
# sdt.h builds marker fixtures, gcc builds the small C fixtures, dwz compresses some of them.
# neovim, emacs-nox and elpa-eglot are the real editors the language server is tested in.
APT_PACKAGES := systemtap systemtap-sdt-dev linux-headers-amd64 kmod dwarves gcc make binutils dwz neovim emacs-nox elpa-eglot
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps venv demo test test-fast lint tapsets clean ext

all: venv

deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	    | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:" $$missing; \
	    $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BIN)/tapkit: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(BIN)/tapkit

demo: deps venv
	$(BIN)/python scripts/demo.py

lint: venv
	$(BIN)/ruff check tapkit lsp tests bench scripts
	$(BIN)/mypy

test: deps venv lint ext
	$(BIN)/pytest -q

# Regenerate the generated parts of tapsets/ with tapkit gen: openafs from the real openafs.ko (built once
# by scripts/build-openafs-ko.sh). Each file's header names its command. tapsets/vfs is hand-written.
OPENAFS_DIR ?= $(HOME)/.cache/tapkit/fixtures/openafs
GEN_OPENAFS = $(BIN)/tapkit gen --module openafs --debuginfo openafs=$(OPENAFS_DIR)/openafs.ko -I tapsets/openafs
tapsets: deps venv
	scripts/build-openafs-ko.sh $(OPENAFS_DIR)
	$(GEN_OPENAFS) vcache dcache fcache afs_lock VenusFid -o tapsets/openafs/
	$(GEN_OPENAFS) probes 'afs_linux_*' afs_GetDCache afs_PutDCache afs_dir_GetVerifiedBlob --prefix openafs \
	    -o tapsets/openafs/probes.stp

# The quick loop while developing: no slow (real-world fixture) tests.
test-fast: venv
	$(BIN)/pytest -q -m "not slow"

# The VS Code extension (vscode-ext/): npm ci from its lock file, tsc, node tests (grammar scopes,
# the tapset library, settings, packaging, the tapkit lsp contract), then the .vsix. Debian's
# nodejs/npm are installed only when no npm is on PATH (NodeSource's nodejs bundles its own npm).
ext:
	@command -v npm >/dev/null || { echo "installing Debian packages: nodejs npm"; \
	    $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    $(SUDO) apt-get install -y -qq --no-install-recommends nodejs npm; }
	cd vscode-ext && npm ci --no-audit --no-fund && npm run build && npm test && npm run package

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache vscode-ext/node_modules vscode-ext/out vscode-ext/*.vsix
