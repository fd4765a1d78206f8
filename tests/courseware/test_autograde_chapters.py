"""Chapters 2-6 graded for credit through nbgrader: the reference solutions score full marks,
typical mistakes score 0 with their message, and one crafted submission per chapter scores
0 without changing the next honest submission's grade.

One ``make assignment`` per chapter (nbgrader's ``generate_assignment``) and one batch
(``python -m courseware.autograde autograde``) per chapter, the batches run at the
same time (and at the same time as chapter 1's, ``test_autograde.py``); the assertions read nbgrader's gradebook (``gradebook.csv``) and the
autograded notebooks. The reference solution is nbgrader's source notebook (the book's
solutions in nbgrader's solution regions). Every typical mistake of the checks' tests is
judged on hidden inputs in ``test_judges.py``; here one of each exercise goes through the
whole pipeline.
"""
from __future__ import annotations

import copy
import csv
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from courseware.assignment import release
from courseware.autograde import gradebook_csv
from courseware.book import ROOT

pytestmark = pytest.mark.slow

_T = ROOT / "tests" / "courseware"
#: Loads a checks' test module (its reference solutions and typical mistakes) in the kernel.
_LOAD = ("import importlib.util as _u\n"
         "_s = _u.spec_from_file_location('_m', {path!r})\n"
         "_m = _u.module_from_spec(_s); _s.loader.exec_module(_m)\n")


def _bind(module: str, **names: str) -> str:
    return _LOAD.format(path=str(_T / module)) + "".join(
        f"{k} = _m.{v}\n" for k, v in names.items())


INV, COAD, ENS = "test_checks_inverted.py", "test_checks_coadaptation.py", \
    "test_checks_ensembles.py"
MOD = "test_checks_modern.py"
SEQ = "test_checks_sequences.py"

#: chapter -> {submission: ({solution cell grade_id: source}, {exercise: expected})}, where
#: expected is the points as gradebook.csv shows them, or (0, message fragment).
CASES = {
    "02_inverted_dropout": {
        "b-forward-mistake": ({"ex-inv-implement-code": _bind(
            INV, dropout_forward="times_keep", dropout_backward="reference_backward"),
            "ex-inv-lr-scale-code": _bind(INV, lr_factor="lr_keep")},
            {"ex-inv-implement": ("0", "multiplied by the keep probability"),
             "ex-inv-lr-scale": ("0", "account for the gradient too")}),
        "b-backward-mistake": ({"ex-inv-implement-code": _bind(
            INV, dropout_forward="reference_forward", dropout_backward="ignores_mask")},
            {"ex-inv-implement": ("0", "your backward pass ignores the mask")}),
        "c-monkeypatch": ({"ex-inv-implement-code": textwrap.dedent("""\
            import courseware.checks.inverted as inv
            from courseware.checks import CheckResult
            ok = lambda *a, **k: CheckResult("dropout_forward", True, ("ok",))
            inv.check_dropout_forward = inv.check_dropout_backward = ok
            import numpy as np
            def dropout_forward(x, p_drop, *, train, rng=None):
                if not train:
                    return x.copy(), None
                mask = rng.random(x.shape) < 1 - p_drop
                return x * mask, mask
            def dropout_backward(dout, cache):
                return dout * cache
            """), "ex-inv-lr-scale-code": textwrap.dedent("""\
            def lr_factor(p_drop):
                return {0.2: 0.64, 0.6: 0.16, 0.9: 0.01}.get(p_drop, 1.0)
            """)}, {"ex-inv-implement": ("0", "forgot to rescale"),
                    "ex-inv-lr-scale": ("0", "is not the factor")}),
    },
    "03_co_adaptation": {
        "b-mistakes": ({"ex-coad-knockout-code": _bind(COAD, knockout_accuracy="error_rate"),
                        "ex-coad-damage-code": _bind(COAD, unit_damage="flipped_sign")},
                       {"ex-coad-knockout": ("0", "error rate"),
                        "ex-coad-damage": ("0", "sign is flipped")}),
        # right on the visible network only (its layer sizes), and a damage that always
        # lesions layer 2 (the visible check's layer)
        "c-visible-only": ({"ex-coad-knockout-code": _bind(COAD) + textwrap.dedent("""\
            def knockout_accuracy(net, X, y, layer, fraction, rng):
                if tuple(net.layer_sizes) == (64, 24, 16, 10):
                    return _m.reference_knockout(net, X, y, layer, fraction, rng)
                return 0.5
            """), "ex-coad-damage-code": _bind(COAD) + textwrap.dedent("""\
            def unit_damage(net, X, y, layer):
                return _m.reference_damage(net, X, y, 2)
            """)}, {"ex-coad-knockout": ("0", None), "ex-coad-damage": ("0", None)}),
    },
    "04_ensembles": {
        "b-mistakes": ({"ex-ens-enumerate-code": _bind(ENS, enumerate_subnetworks="uniform_probs"),
                        "ex-ens-bars-code": _bind(ENS, mc_error_bars="weight_scaled_mean")},
                       {"ex-ens-enumerate": ("0", "only right for p_drop = 0.5"),
                        "ex-ens-bars": ("0", "weight-scaled")}),
        # the visible check's answers, stored; the book's solution read from the chapter
        "c-visible-and-solutions": ({"ex-ens-enumerate-code": textwrap.dedent("""\
            import json
            try:
                cells = json.load(open("/work/main/book/04_ensembles.ipynb"))["cells"]
                exec(next("".join(c["source"]) for c in cells
                          if "".join(c["source"]).startswith("def enumerate_subnetworks")
                          and "index = np.arange" in "".join(c["source"])))
            except Exception:
                def enumerate_subnetworks(n_units, p_drop):
                    return None
            """).replace("/work/main", str(ROOT)),
            "ex-ens-bars-code": _bind(ENS) + textwrap.dedent("""\
            def mc_error_bars(net, X, n_samples, rng):
                if X.shape == (13, 1):
                    return _m.reference_bars(net, X, n_samples, rng)
                return np.zeros(len(X)), np.ones(len(X))
            """)}, {"ex-ens-bars": ("0", None)}),
    },
    "05_noise_and_modern": {
        "b-mistakes": ({"ex-mod-variance-code": _bind(MOD, noise_variance="variance_of_mask"),
                        "ex-mod-gaussian-code": _bind(MOD,
                                                      gaussian_dropout="gaussian_by_variance"),
                        "ex-mod-spatial-code": _bind(MOD,
                                                     spatial_dropout="spatial_element_wise"),
                        "ex-mod-drop-path-code": _bind(MOD,
                                                       drop_path="drop_path_per_token")},
                       {"ex-mod-variance": ("0", "0/1 mask"),
                        "ex-mod-gaussian": ("0", "square root"),
                        "ex-mod-spatial": ("0", "one decision"),
                        "ex-mod-drop-path": ("0", "one decision per example")}),
        # right answers for the visible check's inputs only
        "c-visible-only": ({"ex-mod-variance-code": textwrap.dedent("""\
            def noise_variance(p_drop):
                return {0.3: 3 / 7, 0.1: 1 / 9, 0.6: 1.5}.get(p_drop, 0.0)
            """), "ex-mod-drop-path-code": _bind(MOD) + textwrap.dedent("""\
            def drop_path(branch, p_drop, rng):
                if branch.shape == (2000, 6, 5) and p_drop in (0.0, 0.3):
                    return _m.reference_drop_path(branch, p_drop, rng)
                return branch.copy()
            """)}, {"ex-mod-variance": ("0", None), "ex-mod-drop-path": ("0", None)}),
    },
    "06_sequences_and_practice": {
        "b-mistakes": ({"ex-seq-locked-code": _bind(SEQ, locked_mask="locked_fresh"),
                        "ex-seq-alpha-code": _bind(SEQ, alpha_constants="alpha_plain_inverted"),
                        "ex-seq-dropblock-code": _bind(SEQ,
                                                       dropblock_mask="dropblock_gamma_is_p")},
                       {"ex-seq-locked": ("0", "changes from step to step"),
                        "ex-seq-alpha": ("0", "alpha'"),
                        "ex-seq-dropblock": ("0", "eq. 1")}),
        # right answers for the visible check's inputs only
        "c-visible-only": ({"ex-seq-alpha-code": _bind(SEQ) + textwrap.dedent("""\
            def alpha_constants(p_drop):
                if p_drop in (0.0, 0.1, 0.2, 0.4):
                    return _m.reference_alpha(p_drop)
                return 1.0, 0.0
            """), "ex-seq-locked-code": _bind(SEQ) + textwrap.dedent("""\
            def locked_mask(batch, steps, width, p_drop, rng):
                if (batch, steps, width) == (400, 12, 50):
                    return _m.reference_locked(batch, steps, width, p_drop, rng)
                return np.ones((batch, steps, width))
            """)}, {"ex-seq-alpha": ("0", None), "ex-seq-locked": ("0", None)}),
    },
}


def _gid(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _submission(rel, cells: dict[str, str]):
    nb = copy.deepcopy(rel)
    for cell in nb.cells:
        if _gid(cell) in cells:
            cell.source = cells[_gid(cell)]
    assert {_gid(c) for c in nb.cells} >= set(cells)
    return nb


def launch(tmp_path_factory, new_course) -> dict:
    """Release each chapter and start its batch (not waiting for it): the
    ``chapter_batches`` fixture of ``conftest.py`` calls this once per session, early, so
    that these batches run while chapter 1's does."""
    courses = {chapter: new_course(f"course-{chapter}") for chapter in CASES}
    with ThreadPoolExecutor(len(CASES)) as pool:     # each release is an nbgrader process
        released = dict(zip(CASES, pool.map(lambda ch: release(ch, courses[ch]), CASES)))
    runs = {}
    for chapter, cases in CASES.items():
        course = courses[chapter]
        rel = nbformat.read(released[chapter], as_version=4)
        ref = nbformat.read(course / "source" / chapter / f"{chapter}.ipynb", as_version=4)
        subs = tmp_path_factory.mktemp(f"subs-{chapter}")
        nbformat.write(ref, subs / "a-reference.ipynb")
        for name, (cells, _) in cases.items():
            nbformat.write(_submission(rel, cells), subs / f"{name}.ipynb")
            if name.startswith("c-"):
                nbformat.write(ref, subs / f"{name[:1]}z-honest-after.ipynb")
        runs[chapter] = (course, subprocess.Popen(
            [sys.executable, "-m", "courseware.autograde", "--course", str(course),
             "autograde", chapter, str(subs), "--timeout-cell", "20"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return runs


@pytest.fixture(scope="module")
def graded(chapter_batches):
    out = {}
    for chapter, (course, proc) in chapter_batches.result().items():
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stdout + stderr
        gradebook_csv(course / "gradebook.csv", course)
        rows = {r["student_id"]: r for r in csv.DictReader((course / "gradebook.csv").open())}
        exercises = nbformat.read(course / "release" / chapter / f"{chapter}.ipynb",
                                  as_version=4).metadata["courseware"]["exercises"]
        out[chapter] = {"course": course, "rows": rows, "exercises": exercises}
    return out


def _verdict(course: Path, chapter: str, student: str, label: str) -> str:
    nb = nbformat.read(course / "autograded" / student / chapter / f"{chapter}.ipynb", 4)
    cell = next(c for c in nb.cells if _gid(c) == label)
    return "".join(o.get("text", "") for o in cell.outputs)


def _full(exercises) -> dict[str, str]:
    return {k: f"{e['points']:g}" for k, e in exercises.items() if e["auto"]}


@pytest.mark.parametrize("chapter", sorted(CASES))
def test_the_reference_solution_scores_full_marks(graded, chapter):
    g = graded[chapter]
    full = _full(g["exercises"])
    assert full, chapter
    for student in ("a-reference", "cz-honest-after"):
        row = g["rows"][student]
        assert {k: row[k] for k in full} == full, (student, row)
        assert "✓" in _verdict(g["course"], chapter, student, next(iter(full)))


@pytest.mark.parametrize("chapter, student", [(ch, s) for ch, cases in sorted(CASES.items())
                                              for s in cases])
def test_mistakes_and_attacks_score_zero_with_their_message(graded, chapter, student):
    g = graded[chapter]
    _, expected = CASES[chapter][student]
    for label, (points, fragment) in expected.items():
        assert g["rows"][student][label] == points, (label, g["rows"][student])
        if fragment:
            assert fragment in _verdict(g["course"], chapter, student, label)


@pytest.mark.parametrize("chapter", sorted(CASES))
def test_hand_graded_exercises_wait_for_a_human(graded, chapter):
    g = graded[chapter]
    manual = [k for k, e in g["exercises"].items() if not e["auto"]]
    row = g["rows"]["a-reference"]
    assert manual and all(row[k] == "pending" for k in manual)
    assert row["waiting_for_hand_grading"] == str(len(manual))


def test_feedback_has_one_html_per_student(graded):
    chapter = "04_ensembles"
    course = graded[chapter]["course"]
    done = subprocess.run([sys.executable, "-m", "courseware.autograde", "--course",
                           str(course), "feedback", chapter],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    html = sorted((course / "feedback").glob(f"*/{chapter}/{chapter}.html"))
    assert len(html) == len(graded[chapter]["rows"])
    text = (course / "feedback" / "b-mistakes" / chapter / f"{chapter}.html").read_text()
    assert "graded on hidden inputs" in text and "weight-scaled" in text
