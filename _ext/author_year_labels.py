"""The reference list labelled the way the chapters cite: "Srivastava et al., 2014".

The chapters cite author-year ({cite:p} and {cite:t}): "[Srivastava et al., 2014]",
"Baldi and Sadowski [2013]". With pybtex's plain style the references page numbered its
entries [1] to [43], numbers that no citation uses, so a reader looking up "Gal and
Ghahramani, 2016" had to read down the list.

Two plugins, named in _config.yml:

- the pybtex formatting style `plain_author_year` (`bibtex_default_style`): pybtex's
  plain style (same entries, same alphabetical order), each entry labelled by the text
  its citations show: the last name of a sole author, both names of two ("Baldi and
  Sadowski"), the first name and "et al." of three or more, then the year. Two entries
  with the same authors and year get "a", "b", ... after the year, in the list's order
  ("Gal and Ghahramani, 2016a" and "2016b"; the same label twice is a build error);
- the citation style `author_year_label` (`bibtex_reference_style`): sphinxcontrib-
  bibtex's author_year, except that the year it prints is the one in the entry's label,
  so those two papers are cited as 2016a and 2016b, as the list labels them.

book/_static/reader.css sets each label on a line of its own above its entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from string import ascii_lowercase

import pybtex.plugin
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from sphinxcontrib.bibtex.plugin import register_plugin
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle
from sphinxcontrib.bibtex.style.referencing.basic_author_year import (
    BasicAuthorYearParentheticalReferenceStyle,
    BasicAuthorYearTextualReferenceStyle,
)
from sphinxcontrib.bibtex.style.template import join, join2, node, post_text, pre_text, reference

FORMATTING = "plain_author_year"
REFERENCING = "author_year_label"


def _last_names(persons) -> list[str]:
    names = pybtex.plugin.find_plugin("pybtex.style.names", "last")()
    return [names.format(person, True).format().render_as("text") for person in persons]


def author_year(entry) -> str:
    """"Srivastava et al., 2014", as the author_year citations write it (in plain text)."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    last = _last_names(people)
    if not last:
        who = entry.fields.get("title", entry.key)
    elif len(last) == 1:
        who = last[0]
    elif len(last) == 2:
        who = f"{last[0]} and {last[1]}"
    else:
        who = f"{last[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


def author_year_labels(sorted_entries) -> list[str]:
    """The label of each entry, in order; equal labels get a, b, ... after the year."""
    labels = [author_year(entry) for entry in sorted_entries]
    count = {label: labels.count(label) for label in labels}
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        if count[label] > 1:
            n = seen.get(label, 0)
            seen[label] = n + 1
            label += ascii_lowercase[n]
        out.append(label)
    return out


class AuthorYearLabelStyle(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        yield from author_year_labels(list(sorted_entries))


class PlainAuthorYearStyle(PlainStyle):
    default_label_style = AuthorYearLabelStyle


@node
def label_year(children, data):
    """The year as the entry's label writes it ("2016a")."""
    assert not children
    return Text(data["formatted_entry"].label.rsplit(", ", 1)[-1])


@dataclass
class _Parenthetical(BasicAuthorYearParentheticalReferenceStyle):
    def inner(self, role_name: str):
        return join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[
            pre_text,
            reference[join(sep=self.author_year_sep)[
                self.person.author_or_editor_or_title(full="s" in role_name), label_year]],
            post_text,
        ]


@dataclass
class _Textual(BasicAuthorYearTextualReferenceStyle):
    def inner(self, role_name: str):
        return join(sep=self.text_reference_sep)[
            self.person.author_or_editor_or_title(full="s" in role_name),
            join[
                self.bracket.left,
                join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[
                    pre_text, reference[label_year], post_text],
                self.bracket.right,
            ],
        ]


@dataclass
class AuthorYearLabelReferenceStyle(AuthorYearReferenceStyle):
    def __post_init__(self):
        super().__post_init__()
        for i, style in enumerate(self.styles):
            if type(style) is BasicAuthorYearParentheticalReferenceStyle:
                self.styles[i] = _Parenthetical(
                    bracket=style.bracket, person=style.person,
                    author_year_sep=style.author_year_sep, pre_text_sep=style.pre_text_sep,
                    post_text_sep=style.post_text_sep)
            elif type(style) is BasicAuthorYearTextualReferenceStyle:
                self.styles[i] = _Textual(
                    bracket=style.bracket, person=style.person,
                    text_reference_sep=style.text_reference_sep,
                    pre_text_sep=style.pre_text_sep, post_text_sep=style.post_text_sep)
        # GroupReferenceStyle mapped each role to its style when it was set up: redo that.
        self.role_style.update(
            (role, style) for style in self.styles for role in style.role_names())


def setup(app):
    pybtex.plugin.register_plugin("pybtex.style.labels", "author_year_text",
                                  AuthorYearLabelStyle)
    pybtex.plugin.register_plugin("pybtex.style.formatting", FORMATTING, PlainAuthorYearStyle)
    register_plugin("sphinxcontrib.bibtex.style.referencing", REFERENCING,
                    AuthorYearLabelReferenceStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
