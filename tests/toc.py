"""The book's table of contents, for the tests and tools (see dropout_lib.book)."""
from dropout_lib.book import ROOT, TOC, resolve, toc_entries, toc_notebooks

__all__ = ["ROOT", "TOC", "resolve", "toc_entries", "toc_notebooks"]
