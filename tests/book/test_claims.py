"""The claims page's verdicts for experiments are computed, never typed.

Every claim that rests on an experiment writes ``{verdict}`file:record` ``;
the site computes the label from ``book/data/<file>.json`` with
``dropout_lib.experiments.evidence.verdict`` (_ext/verdicts.py). These tests
fail when a row that cites an experiment types its own verdict, when a role
names a record that does not exist or rests on fewer than three data
splits, and when the built page shows another label than the evidence gives.
"""
from __future__ import annotations

import importlib.util
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dropout_lib.experiments import evidence

ROOT = Path(__file__).resolve().parents[2]
CLAIMS = ROOT / "book" / "claims.md"
_spec = importlib.util.spec_from_file_location(
    "verdicts", ROOT / "_ext" / "verdicts.py")
verdicts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(verdicts)

ROLE = re.compile(r"\{verdict\}`([^`]+)`")
TYPED = re.compile(r"\*\*(holds|does not hold|within noise|not shown|"
                   r"holds with a caveat|holds only)", re.IGNORECASE)
#: Sections of the book whose evidence is a comparison over data splits: a
#: claims row that cites one of them must compute its verdict.
EXPERIMENTS = ("coad-fair", "coad-trainsize", "coad-claims", "coad-direct",
               "ens-bagging", "mod-gaussian", "mod-batchnorm", "mod-conv",
               "seq-minima", "seq-rnn-evidence")


def rows() -> list[str]:
    return [ln for ln in CLAIMS.read_text(encoding="utf-8").splitlines()
            if ln.startswith("| ") and not ln.startswith("| claim ")
            and not ln.startswith("|---")]


def roles() -> list[str]:
    return ROLE.findall(CLAIMS.read_text(encoding="utf-8"))


def test_rows_that_cite_an_experiment_compute_their_verdict():
    cited = set()
    for row in rows():
        refs = set(re.findall(r"<([a-z0-9-]+)>`", row))
        hits = refs & set(EXPERIMENTS)
        if hits:
            cited |= hits
            assert ROLE.search(row), (
                f"this row cites {sorted(hits)} but types its verdict: "
                f"{row[:120]}")
        if ROLE.search(row):
            verdict_cell = row.split(" | ")[1]
            assert not TYPED.search(verdict_cell), (
                f"a computed verdict beside a typed one: {row[:120]}")
    assert cited == set(EXPERIMENTS), (
        f"no row cites {sorted(set(EXPERIMENTS) - cited)}")


@pytest.mark.parametrize("text", sorted(set(roles())))
def test_every_role_names_evidence_over_three_splits(text):
    recs = verdicts.records(text)
    for rec in recs:
        assert len(rec["effects"]) >= 3, f"{text} rests on fewer than 3 splits"
    assert evidence.verdict(*recs).label in evidence.LABELS


def test_records_must_exist():
    with pytest.raises(ValueError, match="no comparison"):
        verdicts.records("tuned_comparison:no-such-record")
    with pytest.raises(ValueError, match="file:record"):
        verdicts.records("tuned_comparison")


class _Strong(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found, self._in = [], False

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class") or ""
        if tag == "strong" and "verdict" in cls.split():
            self._in = True
            self.found.append("")

    def handle_endtag(self, tag):
        if tag == "strong":
            self._in = False

    def handle_data(self, data):
        if self._in:
            self.found[-1] += data


def test_the_built_page_shows_the_computed_verdicts():
    from test_site_text import site_dir

    page = site_dir() / "book" / "claims.html"
    if not page.is_file():
        pytest.fail(f"no built claims page at {page}: run `make site` first",
                    pytrace=False)
    parser = _Strong()
    parser.feed(page.read_text(encoding="utf-8"))
    expected = [evidence.verdict(*verdicts.records(t)).label for t in roles()]
    assert parser.found == expected
