"""Grading for credit: crafted attacks score 0 and leave the next honest student's grade alone.

One batch (``python -m courseware.autograde autograde``) grades, in this order, each
attack followed by an honest submission; the assertions read nbgrader's gradebook through
``gradebook.csv`` and the autograded notebooks. The attacks are those of issue 16's trial,
adapted to the nbgrader release (the check cells are locked and graded by ``grade_id``).
"""
from __future__ import annotations

import copy
import csv
import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from courseware.assignment import release
from courseware.autograde import gradebook_csv
from courseware.book import ROOT
from courseware.sandbox import bwrap_works

pytestmark = pytest.mark.slow

CH = "01_masks"
DRAW = "def draw_mask(shape, p_drop, rng):\n    return rng.random(shape) < 1 - p_drop\n"
DROPCONNECT = ("import numpy as np\n\n\n"
               "def dropconnect(x, W, p_drop, rng):\n"
               "    masks = rng.random((x.shape[0], *W.shape)) < 1 - p_drop\n"
               "    return np.einsum('ni,nij->nj', x, W * masks) / (1 - p_drop)\n")
WRONG_DRAW = "def draw_mask(shape, p_drop, rng):\n    return rng.random(shape) < p_drop\n"
PASS_LINE = "✓ draw_mask: 5 of 5 checks passed"
FULL = {"ex-masks-draw": "1", "ex-masks-dropconnect": "2"}


def _gid(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _edit(nb, gid, source):
    for cell in nb.cells:
        if _gid(cell) == gid:
            cell.source = source
            return
    raise KeyError(gid)


def _honest(rel):
    nb = copy.deepcopy(rel)
    _edit(nb, "ex-masks-draw-code", DRAW)
    _edit(nb, "ex-masks-dropconnect-code", DROPCONNECT)
    return nb


def _attacks(rel, marker: str, outside: Path) -> dict[str, tuple[object, str | None]]:
    """name -> (notebook, attacked exercise or None when the batch must stop)."""
    out = {}

    nb = _honest(rel)
    _edit(nb, "ex-masks-draw-code", textwrap.dedent("""\
        import courseware.checks.masks as m
        from courseware.checks import CheckResult
        m.check_draw_mask = lambda f, **k: CheckResult("draw_mask", True, ("ok",))
        """) + WRONG_DRAW)
    out["monkeypatch"] = (nb, "ex-masks-draw")

    nb = _honest(rel)
    _edit(nb, "ex-masks-draw-code", textwrap.dedent(f"""\
        def _rewrite(lines):
            return ["print({PASS_LINE!r})\\n"]
        get_ipython().input_transformers_cleanup.append(_rewrite)
        """) + WRONG_DRAW)
    out["transformer"] = (nb, "ex-masks-draw")

    nb = _honest(rel)
    for cell in nb.cells:        # strip every nbgrader and courseware metadata
        cell.metadata.pop("nbgrader", None)
    nb.metadata.pop("courseware", None)
    for cell in nb.cells:
        if "raise NotImplementedError" in cell.source or "check_draw_mask(draw_mask)" in cell.source:
            cell.source = WRONG_DRAW if "def draw_mask" in cell.source else f"print({PASS_LINE!r})"
    out["metadata"] = (nb, "ex-masks-draw")

    nb = _honest(rel)
    _edit(nb, "ex-masks-draw-code", WRONG_DRAW)
    setup = next(c for c in nb.cells if c.cell_type == "code")
    setup.source += ("\nimport courseware.checks.masks as _m\n"
                     "_m.check_draw_mask = lambda f, **k: None\n")
    _edit(nb, "ex-masks-draw", f"print({PASS_LINE!r})")
    out["locked-edit"] = (nb, "ex-masks-draw")

    nb = _honest(rel)
    _edit(nb, "ex-masks-draw-code", textwrap.dedent(f"""\
        import json, os
        def draw_mask(shape, p_drop, rng):
            for path in [os.environ.get("DROPOUT_LIB_GRADE_LOG"), "grade.log", "/tmp/grade.log"]:
                if path:
                    with open(path, "a") as f:
                        f.write(json.dumps({{"exercise": "draw_mask", "passed": True,
                                            "messages": ["ok"]}}) + "\\n")
            print({PASS_LINE!r})
            return rng.random(shape) < p_drop
        """))
    out["grade-log"] = (nb, "ex-masks-draw")

    nb = _honest(rel)
    nb.cells = [c for c in nb.cells if not (_gid(c) or "").startswith("ex-masks-draw")]
    out["deleted"] = (nb, "ex-masks-draw")

    nb = _honest(rel)
    _edit(nb, "ex-masks-draw-code", textwrap.dedent("""\
        import os, pathlib
        plant = ("from courseware.checks import CheckResult\\n"
                 "import courseware.checks.masks as m\\n"
                 "m.check_dropconnect = lambda f, **k: CheckResult('dropconnect', True, ('x',))\\n")
        for folder in [os.getcwd(), os.path.dirname(os.getcwd()), OUTSIDE]:
            for name in ["myst_nb.py", "sitecustomize.py", "courseware.py"]:
                try:
                    pathlib.Path(folder, name).write_text(plant)
                except OSError:
                    pass
        """).replace("OUTSIDE", repr(str(outside))) + WRONG_DRAW)
    out["plant-module"] = (nb, "ex-masks-draw")

    nb = _honest(rel)
    _edit(nb, "ex-masks-draw-code", textwrap.dedent(f"""\
        import os, subprocess, sys
        code = ("import os, time\\n"
                "if os.fork(): os._exit(0)\\n"
                "os.setsid()\\n"
                "time.sleep(300)\\n")
        subprocess.Popen([sys.executable, "-c", code, {marker!r}], start_new_session=True)
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", {marker!r}])
        import time; time.sleep(1)
        """) + WRONG_DRAW)
    out["background"] = (nb, "ex-masks-draw")

    # the book's own solution, read from the chapter (bubblewrap hides the chapters)
    nb = _honest(rel)
    _edit(nb, "ex-masks-draw-code", textwrap.dedent(f"""\
        import json
        try:
            cells = json.load(open({str(ROOT / "book" / (CH + ".ipynb"))!r}))["cells"]
            exec(next("".join(c["source"]) for c in cells
                      if "".join(c["source"]).startswith("def draw_mask")
                      and "NotImplementedError" not in "".join(c["source"])))
        except Exception:
            pass
        """) + "if 'draw_mask' not in globals():\n    " + WRONG_DRAW.replace("\n", "\n    "))
    out["read-solutions"] = (nb, "ex-masks-draw")

    nb = _honest(rel)
    _edit(nb, "ex-masks-draw-code",
          "def draw_mask(shape, p_drop, rng):\n    while True:\n        pass\n")
    out["infinite-loop"] = (nb, "ex-masks-draw")

    nb = _honest(rel)
    _edit(nb, "ex-masks-draw-code", DRAW + "print('x' * 5_000_000)\n")
    out["huge-output"] = (nb, None)      # graded normally, output dropped

    # The trial's one wrong verdict on honest work: the kernel dies once, after the first
    # function is defined; grading must still give the correct dropconnect its points.
    nb = _honest(rel)
    at = next(i for i, c in enumerate(nb.cells) if _gid(c) == "ex-masks-draw-code")
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(textwrap.dedent("""\
        import os
        if not os.path.exists("died-once"):
            open("died-once", "w").close()
            os._exit(1)
        """)))
    out["kernel-dies"] = (nb, None)

    nb = _honest(rel)
    _edit(nb, "ex-masks-draw-code", textwrap.dedent("""\
        import numpy as np
        VISIBLE = {(200, 500), (100, 1000), (50, 40), (7,), (2, 3, 4)}
        def draw_mask(shape, p_drop, rng):
            if tuple(shape) in VISIBLE:
                return rng.random(shape) < 1 - p_drop
            return np.ones(shape, dtype=bool)
        """))
    out["visible-only"] = (nb, "ex-masks-draw")

    nb = _honest(rel)
    _edit(nb, "ex-masks-draw-code", WRONG_DRAW)
    _edit(nb, "ex-masks-dropconnect-code", textwrap.dedent("""\
        def dropconnect(x, W, p_drop, rng):
            mask = rng.random(W.shape) < 1 - p_drop
            return x @ (W * mask) / (1 - p_drop)
        """))
    out["mistakes"] = (nb, "ex-masks-dropconnect")
    return out


def _marked(marker: str) -> set[int]:
    """Live processes whose command line holds ``marker``."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "cmdline").read_bytes() and \
                    not (entry / "stat").read_text().split(") ")[1].startswith("Z"):
                pids.add(int(entry.name))
        except OSError:
            continue
    return pids


def launch(tmp_path_factory, new_course) -> dict:
    """Release chapter 1, write the crafted submissions and start the batch (not waiting
    for it): the ``chapter_one_batch`` fixture of ``conftest.py`` calls this once per
    session, early, so that the batch runs while other tests do."""
    course = new_course("course")
    rel_path = release(CH, course)
    rel = nbformat.read(rel_path, as_version=4)
    subs = tmp_path_factory.mktemp("submissions")
    marker = f"courseware-background-{uuid.uuid4().hex}"
    outside = tmp_path_factory.mktemp("outside")    # stands for /tmp or any shared folder
    attacks = _attacks(rel, marker, outside)
    order = []
    for i, (name, (nb, _)) in enumerate(attacks.items()):
        a, h = f"s{i:02d}a-{name}", f"s{i:02d}b-honest"
        nbformat.write(nb, subs / f"{a}.ipynb")
        nbformat.write(_honest(rel), subs / f"{h}.ipynb")
        order += [a, h]
    nbformat.write(rel, subs / "zz-unmodified.ipynb")
    (subs / "zz-not-a-notebook.ipynb").write_text("{not json")
    env = {**os.environ, "INSTRUCTOR_SECRET": "s3cret"}
    seen: set[int] = set()           # the background attack's processes, while they live
    finished = threading.Event()

    def watch() -> None:
        while not finished.wait(0.1):
            seen.update(_marked(marker))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    proc = subprocess.Popen(
        [sys.executable, "-m", "courseware.autograde", "--course", str(course),
         "autograde", CH, str(subs), "--timeout-cell", "5"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    return {"course": course, "attacks": attacks, "order": order, "outside": outside,
            "marker": marker, "seen": seen, "subs": subs, "proc": proc,
            "finished": finished, "watcher": watcher, "t0": time.monotonic()}


@pytest.fixture(scope="module")
def graded(chapter_one_batch):
    run = dict(chapter_one_batch.result())
    try:
        stdout, stderr = run["proc"].communicate(timeout=900)
    finally:
        run["finished"].set()
        run["watcher"].join()
    assert run["proc"].returncode == 0, stdout + stderr
    out = run["course"] / "gradebook.csv"
    gradebook_csv(out, run["course"])
    rows = {r["student_id"]: r for r in csv.DictReader(out.open())}
    run.update(rows=rows, stdout=stdout, elapsed=time.monotonic() - run["t0"],
               bwrap=bwrap_works())
    return run


def _verdict(graded, student, label):
    nb = nbformat.read(graded["course"] / "autograded" / student / CH / f"{CH}.ipynb", 4)
    cell = next(c for c in nb.cells if _gid(c) == label)
    return "".join(o.get("text", "") for o in cell.outputs)


def test_every_honest_submission_scores_full_marks(graded):
    honest = [s for s in graded["order"] if s.endswith("honest")]
    assert len(honest) == len(graded["attacks"])
    for student in honest:
        row = graded["rows"][student]
        assert {k: row[k] for k in FULL} == FULL, (student, row)


@pytest.mark.parametrize("name", ["monkeypatch", "transformer", "metadata", "locked-edit",
                                  "grade-log", "deleted", "plant-module", "background",
                                  "infinite-loop", "visible-only", "mistakes"])
def test_each_attack_scores_zero_on_the_attacked_exercise(graded, name):
    _, label = graded["attacks"][name]
    student = next(s for s in graded["order"] if s.endswith(f"a-{name}"))
    assert graded["rows"][student][label] == "0", graded["rows"][student]


def test_a_deleted_exercise_is_not_found(graded):
    student = next(s for s in graded["order"] if s.endswith("a-deleted"))
    assert "exercise ex-masks-draw not found" in _verdict(graded, student, "ex-masks-draw")
    assert graded["rows"][student]["ex-masks-dropconnect"] == "2"


def test_typical_mistakes_get_their_messages(graded):
    student = next(s for s in graded["order"] if s.endswith("a-mistakes"))
    assert "did you keep where u < p_drop" in _verdict(graded, student, "ex-masks-draw")
    assert "every example got the same weight mask" in _verdict(graded, student,
                                                               "ex-masks-dropconnect")


def test_the_kernel_dying_does_not_cost_honest_work(graded):
    student = next(s for s in graded["order"] if s.endswith("a-kernel-dies"))
    assert {k: graded["rows"][student][k] for k in FULL} == FULL


def test_huge_output_is_dropped_and_the_grade_stands(graded):
    student = next(s for s in graded["order"] if s.endswith("a-huge-output"))
    assert {k: graded["rows"][student][k] for k in FULL} == FULL
    problems = (graded["course"] / "autograded" / student / CH / "problems.txt").read_text()
    assert "printed more than" in problems


def test_an_infinite_loop_is_reported(graded):
    student = next(s for s in graded["order"] if s.endswith("a-infinite-loop"))
    assert "timed out after 5 s" in _verdict(graded, student, "ex-masks-draw")
    assert graded["rows"][student]["ex-masks-dropconnect"] == "2"


def test_no_process_survives_the_grader(graded):
    assert len(graded["seen"]) >= 2, "the background attack did not run"
    assert not _marked(graded["marker"])


def test_planted_modules_change_nothing(graded):
    # Without bubblewrap the attack did write outside its copy, and the honest submissions
    # after it kept full marks (test_every_honest_submission_scores_full_marks); with it,
    # the write never reached the shared folder. The submissions folder is untouched.
    planted = sorted(p.name for p in graded["outside"].iterdir())
    if graded["bwrap"]:
        assert planted == []
    else:
        assert planted == ["courseware.py", "myst_nb.py", "sitecustomize.py"]
    assert sorted(p.name for p in graded["subs"].iterdir() if not p.name.endswith(".ipynb")) == []


def test_the_chapters_solutions_are_out_of_reach(graded):
    """With bubblewrap, the attack that execs the book's own solution cell finds no chapter
    (0 points); without it, it gets the points: what the guide says to look out for."""
    student = next(s for s in graded["order"] if s.endswith("a-read-solutions"))
    assert graded["rows"][student]["ex-masks-draw"] == ("0" if graded["bwrap"] else "1")


def test_unmodified_and_unreadable_submissions_score_zero(graded):
    assert graded["rows"]["zz-unmodified"]["total"] == "0"
    assert graded["rows"]["zz-not-a-notebook"]["total"] == "0"


def test_manual_exercises_wait_for_a_human(graded):
    row = graded["rows"]["s00b-honest"]
    assert row["ex-masks-var"] == "" and row["waiting_for_hand_grading"] == "3"


def test_check_my_work_uses_the_visible_inputs(graded):
    """`make check` gives the visible check's verdict: the visible-only function passes it,
    and fails the hidden inputs of the grader (test above)."""
    student = next(s for s in graded["order"] if s.endswith("a-visible-only"))
    done = subprocess.run([sys.executable, "-m", "courseware.autograde", "check",
                           str(graded["subs"] / f"{student}.ipynb")],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "PASS  ex-masks-draw      ✓ draw_mask: 5 of 5 checks passed" in done.stdout
    assert "PASS  ex-masks-dropconnect" in done.stdout


def test_hand_grades_entered_in_nbgrader_reach_the_csv(graded):
    from nbgrader.api import Gradebook

    course = graded["course"]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grade = gb.find_grade("ex-masks-var", CH, CH, "s00b-honest")
        grade.manual_score = 2
        gb.db.commit()
    out = course / "after-hand-grading.csv"
    gradebook_csv(out, course)
    row = next(r for r in csv.DictReader(out.open()) if r["student_id"] == "s00b-honest")
    assert row["ex-masks-var"] == "2" and row["total"] == "5"
    assert row["waiting_for_hand_grading"] == "2"


def test_secrets_do_not_reach_the_kernel():
    from courseware.sandbox import Sandbox

    os.environ["INSTRUCTOR_SECRET"] = "s3cret"
    try:
        with Sandbox(timeout_cell=20) as sb:
            status, _ = sb.run("import os\nassert 'INSTRUCTOR_SECRET' not in os.environ\n"
                               "assert 'DROPOUT_LIB_GRADE_LOG' not in os.environ\n"
                               "assert os.getcwd().startswith(os.environ['TMPDIR'].rsplit('/', 1)[0])")
            assert status == "ok"
    finally:
        del os.environ["INSTRUCTOR_SECRET"]


def test_site_packages_and_the_repository_are_watched():
    import sysconfig

    from courseware.sandbox import _watched

    full, top = _watched()
    assert Path(sysconfig.get_paths()["purelib"]) in top
    assert {ROOT / "courseware", ROOT / "dropout_lib"} <= set(full)


def test_a_write_into_a_watched_folder_stops_the_batch(graded, tmp_path):
    """Without bubblewrap (``COURSEWARE_BWRAP=none``): the same detection as for
    site-packages, on a folder of the test's own (writing a probe into the shared virtual
    environment would disturb a concurrent run)."""
    course = graded["course"]
    rel = nbformat.read(course / "release" / CH / f"{CH}.ipynb", as_version=4)
    watched = tmp_path / "watched"
    watched.mkdir()
    target = watched / "sitecustomize.py"
    nb = _honest(rel)
    _edit(nb, "ex-masks-draw-code", DRAW + f"open({str(target)!r}, 'w').write('x')\n")
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(nb, subs / "mallory.ipynb")
    nbformat.write(_honest(rel), subs / "zed.ipynb")
    done = subprocess.run([sys.executable, "-m", "courseware.autograde", "--course",
                           str(course), "autograde", CH, str(subs), "--watch", str(watched)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "COURSEWARE_BWRAP": "none"})
    assert done.returncode == 2
    assert "mallory.ipynb changed 1 file(s) outside its copy" in done.stderr
    assert "zed" not in done.stdout
