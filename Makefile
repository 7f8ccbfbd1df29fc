# The project's only entry points. On a fresh Debian/Ubuntu machine, as root:
#   make demo      set up everything, bring the lab up, run site.yml and a failover drill
#   make test      set up everything and run every check and test (what CI runs)
#   make lab-down  remove everything the lab started
# Set-up steps (venv, Docker engine, lab image) are idempotent and cached.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
PYTHON ?= python3
COLLECTIONS := $(CURDIR)/build/collections
COLLECTION := $(COLLECTIONS)/ansible_collections/havip/tencentcloud

export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_FORCE_COLOR := 0
export PY_COLORS := 0

.PHONY: help setup venv engine image host-tools collection lint ruff ansible-lint sanity unit compat integration bench \
	molecule awx ship test demo lab-up lab-down clean

help:
	@echo "make demo | test | lab-up | lab-down | lint | unit | integration | molecule | clean"

# --- set-up ---------------------------------------------------------------------------------
$(BIN)/.installed: requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt -c constraints.txt
	touch $@

venv: $(BIN)/.installed

engine:
	lab/engine.sh

# The image tags are hashes of their recipes: built once, then reused. The EL-like node (molecule/el)
# is the lab image plus the RedHat family's dnf, rpm, release files and firewalld.
image: engine
	@mkdir -p build
	lab/image/build.sh > build/lab-image
	@echo "lab image: $$(cat build/lab-image)"
	lab/image/build-el.sh "$$(cat build/lab-image)" > build/lab-image-el
	@echo "EL-like lab image: $$(cat build/lab-image-el)"

# Keepalived on the controller, for the unit test that runs `keepalived -t` on the guide's
# configuration (installed without starting any service).
host-tools:
	lab/host-tools.sh

# ansible-test and Ansible need the collection under ansible_collections/havip/tencentcloud.
collection:
	@mkdir -p $(dir $(COLLECTION))
	@[ -L $(COLLECTION) ] || ln -sfn $(CURDIR) $(COLLECTION)

setup: venv engine image host-tools collection

# --- checks ---------------------------------------------------------------------------------
ruff: venv
	ruff check .

ansible-lint: venv collection
	ansible-lint --profile production

sanity: venv collection
	lab/sanity.sh

unit: venv host-tools collection
	pytest -q -n 2 tests/unit

# The same unit tests and ansible-test sanity under the oldest ansible-core meta/runtime.yml claims
# (its own venv, build/venv-ansible-VERSION, made once); the targets above run the newest.
compat: venv host-tools collection
	lab/compat.sh

# ansible-test integration targets (tests/integration/targets) against the VPC emulator, which
# lab/integration.sh starts on a free loopback port with throwaway keys and stops afterwards.
integration: venv collection
	lab/integration.sh

# What Galaxy, the docs site and AWX check before the collection ships (lab/ship-checks.sh):
# galaxy build + install + ansible-doc + syntax-check from the install, galaxy-importer,
# antsibull-docs lint, ansible-builder create, antsibull-changelog lint.
ship: venv
	lab/ship-checks.sh

lint: ruff ansible-lint sanity

# Every scenario, with -vvv and --diff; the log must hold no secret and no skipped step
# (lab/molecule.sh). The source scenario builds upstream's tarballs (fetched once, verified); the
# el scenario installs RPMs built from them (lab/rpm/build.sh, once, cached under build/rpm).
molecule: venv image collection
	lab/molecule.sh

# site.yml as an AWX job template runs it: ansible-runner on a private data directory laid out as AWX
# lays it out, the collection from its tarball, the credential type of extensions/awx injected as AWX
# injects it; checked through the emulator, and no secret in the job's output (lab/awx.sh, own lab).
awx: venv image collection
	HAVIP_LAB_IMAGE=$$(cat build/lab-image) lab/awx.sh

# Static checks and unit tests run side by side; Molecule (then the AWX job, on its own lab) runs
# alone afterwards, so that the failover timings it asserts are not disturbed by a loaded CPU.
# Each phase prints its wall time: the budget is 60 minutes on CI's 2 cores.
timed = start=$$(date +%s); $(2) && echo "make test: $(1) took $$(( $$(date +%s) - start )) s"
test: setup
	@$(call timed,static checks and unit tests,$(MAKE) -j3 --output-sync=target ruff ansible-lint sanity unit integration ship compat)
	@$(call timed,Molecule,$(MAKE) molecule)
	@$(call timed,the AWX job,$(MAKE) awx)

# --- benchmarks (not part of `make test`: timings are measured, not asserted) ---------------------
# Failover outage per daemon, advert_int and failure kind, and converge times, on a fresh lab; first,
# without the lab, the idle cost of both daemons side by side and the health drill (lab/bench/__main__.py):
# build/bench/report.json, report.md, outage.png. BENCH_ARGS="--reps 1 --kinds stop" for a quick run.
bench: venv image collection
	python3 -m lab.bench $(BENCH_ARGS)

# --- the lab ---------------------------------------------------------------------------------
lab-up: venv image collection
	HAVIP_LAB_IMAGE=$$(cat build/lab-image) lab/lab.sh up

lab-down:
	lab/lab.sh down

demo: lab-up
	lab/demo.sh

clean: lab-down
	rm -rf build .pytest_cache .ruff_cache
