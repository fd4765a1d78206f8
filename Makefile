# The commands behind the README. `make book` sets up from nothing and builds the site;
# `make test` runs every test (and is all that .ci/run calls).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
JB     := $(VENV)/bin/jupyter-book
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
HTML   := _build/html
# Every command that runs a notebook or a test runs under the reference numeric environment
# (tools/numeric_env.py: OpenBLAS kernel and thread count); its pins win over the caller's.
PIN    := $(PY) tools/numeric_env.py run --
KERNEL := $(VENV)/share/jupyter/kernels/dropout-book/kernel.json
NBVAL  := --nbval --nbval-kernel-name=dropout-book

.PHONY: help setup lock book site test unit nbval browser chromium execute lab bench student grade clean \
        assignment autograde feedback gradebook check bench-grading pdf

help:
	@echo "make book     set up .venv from nothing and build the site into $(HTML), with the PDF"
	@echo "make pdf      build the site and print the whole book into $(HTML)/dropout-book.pdf"
	@echo "make test     set up if needed, build the site (warnings are errors), run every test"
	@echo "make browser  build the site and test it in headless Chromium"
	@echo "make execute  re-run notebooks in place (all, or NB=book/quickstart.ipynb)"
	@echo "make lab      open JupyterLab on book/"
	@echo "make student  write the student edition (no solutions) into student/"
	@echo "make grade    the same as make check (kept for old instructions)"
	@echo "make assignment CH=01_masks   write the nbgrader release notebook into nbgrader/release/"
	@echo "make autograde CH=01_masks SUBMISSIONS=dir/ [LIMITS='--deadline 600'] [DUE='2026-12-01 23:59'] [UNSAFE=1]"
	@echo "make feedback   one HTML feedback report per student (nbgrader/feedback/)"
	@echo "make gradebook [ROSTER=roster.csv]  gradebook.csv: a row per student, points, total, status"
	@echo "make bench-grading CH=01_masks N=6   seconds per submission of synthetic students"
	@echo "make check NB=my.ipynb   a student's own check of their work (visible checks)"
	@echo "make lock     re-resolve requirements.txt into requirements.lock (exact versions, hashes)"
	@echo "make bench    run the speed benchmarks (prints ratios, asserts nothing)"
	@echo "make clean    remove _build, caches and .venv"

# (Re)install whenever the lock or pyproject.toml change. The lock (requirements.lock,
# made from requirements.txt by `make lock`) gives every package's exact version and
# hashes; the book's own package is then installed editable, without dependencies.
$(STAMP): requirements.lock pyproject.toml
	@echo "==> setting up $(VENV) (Python: $$($(PYTHON) --version))"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
		-r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-*
	touch $@

# Re-resolve requirements.txt into requirements.lock (the newest versions it allows);
# then run `make test` and commit both. `make test` fails while the two disagree.
lock: $(STAMP)
	$(PY) tools/lock.py refresh

# The notebooks' kernel, with the pins in its env (it wins over the caller's environment).
$(KERNEL): $(STAMP) tools/numeric_env.py
	$(PY) tools/numeric_env.py install-kernel
	@$(PY) tools/numeric_env.py status

setup: $(STAMP) $(KERNEL)
	@tools/ensure_bwrap.sh

# Build the site. Notebooks are not executed (execute_notebooks: "off"): the site shows the
# committed outputs, which `make test` re-checks with nbval.
site: setup
	$(JB) build . --builder html -W -n --keep-going

book: site pdf
	@echo
	@echo "The book is built. Open this page in a browser (it works offline):"
	@echo "    file://$(CURDIR)/$(HTML)/index.html"
	@echo "and the whole book as one PDF: $(HTML)/dropout-book.pdf"

# The whole book as one PDF (tools/make_pdf.py): headless Chromium prints the built site,
# offline, into $(HTML)/dropout-book.pdf. The site is then built again: a page links to
# the PDF (download menu, the intro) only when the file exists (_ext/book_pdf.py), and
# that second build writes every page again with the link.
pdf: site chromium
	$(PY) tools/make_pdf.py --html $(HTML)
	$(JB) build . --builder html -W -n --keep-going

# The browser tests (tests/browser) drive Debian's Chromium; this installs it if missing.
chromium:
	tools/ensure_chromium.sh

# Every test: the site build with warnings as errors, the unit and property tests of
# dropout_lib, the notebook hygiene tests, nbval's full comparison of every chapter, and the
# built site in headless Chromium.
test: site chromium
	BOOK_REQUIRE_SOLUTIONS=1 COURSEWARE_REQUIRE_BWRAP=1 $(PIN) $(PY) -m pytest tests book $(NBVAL) \
		-p no:cacheprovider

unit: setup
	$(PIN) $(PY) -m pytest tests/lib tests/experiments -m 'not slow' -p no:cacheprovider

nbval: setup
	$(PIN) $(PY) -m pytest book $(NBVAL) -p no:cacheprovider

browser: site chromium
	BOOK_REQUIRE_SOLUTIONS=1 $(PY) -m pytest tests/browser -p no:cacheprovider

execute: setup
	$(PIN) $(PY) tools/execute_notebooks.py $(NB)

lab: setup
	$(PIN) $(VENV)/bin/jupyter lab --notebook-dir=book

student: setup
	$(PY) -m courseware.student --out student

# One grader: `make grade` is `make check` (the student's check of the whole notebook).
grade: check

# Assignments for credit (book/instructors.md): nbgrader's course folder is $(COURSE)/.
COURSE := nbgrader

assignment: setup
	@test -n "$(CH)" || { echo "usage: make assignment CH=01_masks"; exit 2; }
	$(PIN) $(PY) -m courseware.assignment $(CH) --course $(COURSE)

# Limits per submission (courseware/limits.py): LIMITS='--deadline 600 --memory 4096'.
# DUE='YYYY-MM-DD HH:MM' (UTC) flags late submissions; UNSAFE=1 grades without bubblewrap.
autograde: setup
	@test -n "$(CH)" -a -n "$(SUBMISSIONS)" || { echo "usage: make autograde CH=01_masks SUBMISSIONS=dir/"; exit 2; }
	$(PIN) $(PY) -m courseware.autograde --course $(COURSE) autograde $(CH) $(SUBMISSIONS) \
		$(LIMITS) $(if $(DUE),--due "$(DUE)") $(if $(UNSAFE),--unsafe-no-sandbox)

feedback: setup
	$(PIN) $(PY) -m courseware.autograde --course $(COURSE) feedback $(CH)

gradebook: setup
	$(PIN) $(PY) -m courseware.autograde --course $(COURSE) gradebook --out gradebook.csv \
		$(if $(ROSTER),--roster $(ROSTER))

check: setup
	@test -n "$(NB)" || { echo "usage: make check NB=my.ipynb"; exit 2; }
	$(PIN) $(PY) -m courseware.autograde check $(NB)

bench-grading: setup
	$(PIN) $(PY) benchmarks/bench_grading.py --chapter $(or $(CH),01_masks) --n $(or $(N),6)

bench: setup
	$(PY) benchmarks/bench_dropout.py
	$(PY) benchmarks/bench_training.py
	$(PY) benchmarks/bench_book.py

clean:
	rm -rf _build .pytest_cache .hypothesis $(VENV) student
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name .ipynb_checkpoints -type d -prune -exec rm -rf {} +
