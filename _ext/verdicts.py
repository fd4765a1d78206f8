"""The ``{verdict}`` role: a claim's verdict, computed from the saved studies.

In a page, ``{verdict}`tuned_comparison:tuned-test-loss-digits``` writes the
verdict of that comparison record in bold (``holds``, ``holds with a caveat``,
``within noise`` or ``does not hold``), computed when the site is built by
``dropout_lib.experiments.evidence.verdict`` from ``book/data/<file>.json``.
Several records (the same claim on several data sets) are separated by
commas. A page that uses the role is rebuilt when one of its files changes.
"""
from __future__ import annotations

import json
from pathlib import Path

from docutils import nodes

DATA = Path(__file__).resolve().parent.parent / "book" / "data"


def records(text: str) -> list[dict]:
    """The comparison records named by a role's text ``file:name, ...``."""
    out = []
    for item in text.split(","):
        file, sep, name = item.strip().partition(":")
        if not sep or not file or not name:
            raise ValueError(f"verdict {text!r}: write file:record[, ...]")
        study = json.loads((DATA / f"{file}.json").read_text(encoding="utf-8"))
        found = study.get("comparisons", {}).get(name)
        if found is None:
            raise ValueError(f"verdict {text!r}: {file}.json has no "
                             f"comparison {name!r}")
        out.append(found)
    return out


def verdict_role(name, rawtext, text, lineno, inliner, options=None,
                 content=None):
    from dropout_lib.experiments.evidence import verdict

    env = inliner.document.settings.env
    try:
        recs = records(text)
    except (OSError, ValueError) as err:
        msg = inliner.reporter.error(str(err), line=lineno)
        return [inliner.problematic(rawtext, rawtext, msg)], [msg]
    for item in text.split(","):
        env.note_dependency(str(DATA / f"{item.strip().partition(':')[0]}.json"))
    v = verdict(*recs)
    node = nodes.strong(v.label, v.label, classes=["verdict"])
    return [node], []


def setup(app):
    app.add_role("verdict", verdict_role)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
