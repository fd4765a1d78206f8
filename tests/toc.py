"""The book's table of contents, for the tests (see courseware.book)."""
from courseware.book import ROOT, TOC, resolve, toc_entries, toc_notebooks

__all__ = ["ROOT", "TOC", "resolve", "toc_entries", "toc_notebooks"]
