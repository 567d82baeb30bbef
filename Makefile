# Voices 8.7 — the two commands are `make run` and `make test`; everything else is a step they use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := requirements-dev.lock
STAMP  := $(VENV)/.installed-$(shell cat $(LOCK) | cksum | cut -d' ' -f1)
BABEL_KEYWORDS := --no-default-keywords -k t:2 -k tn:2,3 -k N_
PIP_COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	--no-emit-find-links

.PHONY: run test install lock lock-upgrade lint typecheck pytest i18n-extract i18n-update i18n-compile flows-extract flows-update \
	flows-merge db-upgrade bench clean

# Everything is installed from the lock file only (exact versions, checked hashes, no resolution at install time).
$(STAMP): $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "Python 3.11 is required (set PYTHON=/path/to/python3.11)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r $(LOCK)
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

## lock: resolve pyproject.toml into the two lock files, keeping every existing pin (after adding a dependency)
lock: install
	$(PIP_COMPILE) -o requirements.lock pyproject.toml
	$(PIP_COMPILE) --extra dev -c requirements.lock -o requirements-dev.lock pyproject.toml

## lock-upgrade: the monthly update: every pin to the newest version pyproject.toml allows (gate: make test)
lock-upgrade: install
	$(PIP_COMPILE) --upgrade -o requirements.lock pyproject.toml
	$(PIP_COMPILE) --upgrade --extra dev -c requirements.lock -o requirements-dev.lock pyproject.toml

## run: set everything up and run the bot (sandbox at http://127.0.0.1:8080/ when TELEGRAM_BOT_TOKEN is unset)
run: install i18n-compile db-upgrade
	$(BIN)/python -m bot run

## test: set everything up, then lint, type-check and run the whole suite
test: install i18n-compile lint typecheck pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest

db-upgrade: install
	$(BIN)/python -m bot db upgrade

i18n-extract: install
	$(BIN)/pybabel extract -F locales/babel.cfg $(BABEL_KEYWORDS) --no-location --sort-output --project "Voices 8.7" \
		--msgid-bugs-address "" -o locales/messages.pot .

i18n-update: i18n-extract
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching

i18n-compile: install
	$(BIN)/pybabel compile -d locales -D messages --statistics

## flows-extract: write each shipped flow's texts to locales/flows/<flow>.pot (templates for translators)
flows-extract: install
	$(BIN)/python -m bot flows extract

## flows-update: extract, then create or update locales/flows/<lang>/<flow>.po (LANGUAGES=sw adds one)
flows-update: install
	$(BIN)/python -m bot flows update $(if $(LANGUAGES),--languages $(LANGUAGES))

## flows-merge: write the translated locales/flows/<lang>/<flow>.po back into the flow files, then lint them
flows-merge: install
	$(BIN)/python -m bot flows merge
	$(BIN)/python -m bot flows lint

bench: install i18n-compile
	$(BIN)/python -m bench.engine
	$(BIN)/python -m bench.summaries
	$(BIN)/python -m bench.live_views
	$(BIN)/python -m bench.e2e --profile
	$(BIN)/python -m bench.e2e_pg
	$(BIN)/python -m bench.imports

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
	find locales -name '*.mo' -delete
