"""Prose for notebooks read outside the website (student edition, assignments).

The chapters are written in MyST for Jupyter Book. The handouts are plain notebooks, read
in JupyterLab (with or without ``jupyterlab-myst``) or in any other editor, so
:func:`plain` rewrites the MyST the chapters use into CommonMark: an exercise becomes a
bold title line, an admonition a quoted block, targets ``(label)=`` disappear,
``{term}`` and ``{ref}`` keep their text, citations become ``(key)``. The prose's numbers
are written as bare values by :func:`courseware.lab_view.plain_numbers`
(``courseware.assignment.handout``).
"""
from __future__ import annotations

import re

__all__ = ["plain"]


_EXERCISE = re.compile(r"^(?P<fence>`{3,}|~{3,})[ \t]*\{exercise\}[ \t]*(?P<title>[^\n]*)\n"
                       r"(?P<body>.*?)^(?P=fence)[ \t]*$", re.MULTILINE | re.DOTALL)
_OPTION = re.compile(r"^:(?P<key>[\w-]+):[ \t]*(?P<value>.*)$", re.MULTILINE)
_TARGET = re.compile(r"^\([\w:-]+\)=[ \t]*\n", re.MULTILINE)
_ROLE = re.compile(r"\{(?P<role>term|ref|numref|doc|cite:p|cite:t|cite)\}`(?P<arg>[^`]+)`")


def _exercise(m: re.Match) -> str:
    body = m.group("body")
    options = {o.group("key"): o.group("value") for o in _OPTION.finditer(body)}
    body = _OPTION.sub("", body).strip("\n")
    label = options.get("label")
    title = m.group("title").strip() or "Exercise"
    head = f"**Exercise: {title}**" + (f" (`{label}`)" if label else "")
    return f"{head}\n\n{body}"


def _role(m: re.Match) -> str:
    role, arg = m.group("role"), m.group("arg")
    text = re.match(r"(?s)(.*?)\s*<[^<>]+>$", arg)
    if role.startswith("cite"):
        keys = ", ".join(k.strip() for k in arg.split(","))
        return keys if role == "cite:t" else f"({keys})"
    if role == "numref" and not text:
        return "the figure on the book's site"
    return (text.group(1) if text else arg).replace("%s", "").strip()


_ADMONITION = re.compile(
    r"^(?P<fence>`{3,}|~{3,}|:{3,})[ \t]*\{(?P<kind>admonition|note|tip|warning|important)\}"
    r"[ \t]*(?P<title>[^\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.MULTILINE | re.DOTALL)


def _admonition(m: re.Match) -> str:
    body = _OPTION.sub("", m.group("body")).strip("\n")
    title = m.group("title").strip() or m.group("kind").capitalize()
    quoted = "\n".join(f"> {line}" if line else ">" for line in body.splitlines())
    return f"> **{title}**\n>\n{quoted}"


def plain(text: str) -> str:
    """CommonMark for the MyST that the chapters use (exercises, admonitions, targets,
    roles)."""
    text = _EXERCISE.sub(_exercise, text)
    text = _ADMONITION.sub(_admonition, text)
    text = _TARGET.sub("", text)
    return _ROLE.sub(_role, text)
