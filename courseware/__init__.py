"""courseware: the teaching machinery around the book, kept apart from the library.

- :mod:`courseware.checks`: the exercises' checks (the chapters' check cells and the grader).
- :mod:`courseware.student`: writes the student edition (``python -m courseware.student``).
- :mod:`courseware.assignment`, :mod:`courseware.autograde`: assignments for credit with
  nbgrader underneath (``make assignment``, ``make autograde``, ``make check``), judged
  out of the kernel (:mod:`courseware.judge`, :mod:`courseware.remote`) in a sandbox with
  limits (:mod:`courseware.sandbox`, :mod:`courseware.limits`).
- :mod:`courseware.book`: the reader of ``_toc.yml`` (for the tests, tools and the above).

It runs from a clone of the repository (``pip install -e .[courseware]``; ``make`` does
it) and depends on nbformat, nbclient and pyyaml, and on :mod:`dropout_lib`. The
dependency goes one way only: ``dropout_lib`` depends on numpy alone and never imports
courseware.
"""
