# Xianfeng — two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/xianfeng
HOST ?= 127.0.0.1
PORT ?= 8000
export DJANGO_SETTINGS_MODULE := xianfeng.settings

.PHONY: demo test test-pg lint bench setup assets runtime-deps system-deps messages serve worker clean

## make demo: virtualenv, pinned dependencies, front-end assets, migrations, the demo county, the server.
demo: setup runtime-deps
	$(BIN)/xianfeng migrate --no-input -v0
	$(BIN)/xianfeng demo --if-absent
	$(BIN)/xianfeng serve --host $(HOST) --port $(PORT) --with-worker

## make test: the whole suite on SQLite (browser journeys included).
test: setup system-deps
	$(BIN)/python -m pytest -q

## make test-pg: the whole suite again on PostgreSQL (127.0.0.1:5432).
test-pg: setup system-deps
	DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest -q

## make lint: ruff, Django's system checks (and --deploy in a production environment), no missing migrations, the
## apps' layers and no import cycles between apps (import-linter, contracts in pyproject.toml), mypy. Every check
## runs and prints its time; the target fails if any failed (`make lint LINT_STOP=1` stops at the first).
LINT_CHECKS := lint-ruff lint-check lint-deploy lint-migrations lint-imports lint-mypy
.PHONY: $(LINT_CHECKS)
# Production: DEBUG off, a random SECRET_KEY, a real host name, HTTPS (secure cookies, HSTS); a throw-away var dir.
LINT_PROD_ENV = DEBUG=0 SECRET_KEY=$$(head -c 64 /dev/urandom | base64 -w0 | tr -dc A-Za-z0-9) \
	ALLOWED_HOSTS=xianfeng.example.org CSRF_TRUSTED_ORIGINS=https://xianfeng.example.org SITE_URL=https://xianfeng.example.org \
	SECURE_COOKIES=1 SECURE_HSTS_INCLUDE_SUBDOMAINS=1 SECURE_HSTS_PRELOAD=1
# $(call timed,NAME,COMMAND): run COMMAND with a throw-away XIANFENG_VAR, print its exit status and time.
define timed
@var=$$(mktemp -d); start=$$(date +%s%N); echo '--- lint $(1): $(2)'; \
	XIANFENG_VAR=$$var $(2); rc=$$?; rm -rf $$var; \
	echo "--- lint $(1): $$([ $$rc = 0 ] && echo ok || echo "FAILED (exit $$rc)") in $$(( ($$(date +%s%N) - start) / 1000000 )) ms"; \
	exit $$rc
endef

lint: setup
	@$(MAKE) --no-print-directory $(if $(LINT_STOP),,-k) $(LINT_CHECKS) || { echo "--- lint: FAILED (see above)"; exit 1; }
	@echo "--- lint: all checks passed"

lint-ruff:
	$(call timed,ruff,$(BIN)/ruff check .)
lint-check:
	$(call timed,check,$(BIN)/xianfeng check --fail-level WARNING)
lint-deploy:
	$(call timed,deploy,env $(LINT_PROD_ENV) $(BIN)/xianfeng check --deploy --fail-level WARNING)
lint-migrations:
	$(call timed,migrations,$(BIN)/xianfeng makemigrations --check --dry-run)
lint-imports:
	$(call timed,imports,$(BIN)/lint-imports --no-cache)
lint-mypy:
	$(call timed,mypy,$(BIN)/mypy xianfeng)

bench: setup
	$(BIN)/python -m bench

setup: $(VENV)/.installed xianfeng/static/vendor/.copied

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

xianfeng/static/vendor/.copied: package.json package-lock.json scripts/copy_assets.sh
	npm ci --no-audit --no-fund --loglevel=error
	sh scripts/copy_assets.sh
	touch $@

assets: xianfeng/static/vendor/.copied

## Debian packages: runtime-deps for documents (CJK fonts, pango for WeasyPrint), system-deps adds chromium for the
## browser tests and LibreOffice + poppler-utils to check that the report's .docx is set as a 公文. Installed with
## apt-get when missing (needs root).
RUNTIME_PKGS := fonts-wqy-microhei texlive-lang-chinese libpango-1.0-0 libpangoft2-1.0-0
runtime-deps:
	@missing=""; for p in $(RUNTIME_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing from Debian:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi
	@command -v pg_dump >/dev/null || { echo "installing postgresql-client from Debian (xianfeng backup on PostgreSQL)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-client >/dev/null; }

DOC_CHECK_PKGS := libreoffice-writer-nogui poppler-utils
system-deps: runtime-deps
	@if [ ! -x /usr/bin/chromium ]; then echo "installing chromium from Debian"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi
	@missing=""; for p in $(DOC_CHECK_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing from Debian:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi

messages: setup
	bash scripts/messages.sh

serve: setup
	$(BIN)/xianfeng serve --host $(HOST) --port $(PORT)

clean:
	rm -rf $(VENV) node_modules xianfeng/static/vendor staticfiles var
