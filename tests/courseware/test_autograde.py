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
DRAW = ("def draw_mask(shape, p_drop, rng, shared_axes=()):\n"
        "    shape = tuple(1 if a in shared_axes else n for a, n in enumerate(shape))\n"
        "    return rng.random(shape) < 1 - p_drop\n")
DROPCONNECT = ("import numpy as np\n\n\n"
               "def dropconnect(x, W, p_drop, rng):\n"
               "    masks = rng.random((x.shape[0], *W.shape)) < 1 - p_drop\n"
               "    return np.einsum('ni,nij->nj', x, W * masks) / (1 - p_drop)\n")
WRONG_DRAW = ("def draw_mask(shape, p_drop, rng, shared_axes=()):\n"
              "    shape = tuple(1 if a in shared_axes else n for a, n in enumerate(shape))\n"
              "    return rng.random(shape) < p_drop\n")
PASS_LINE = "✓ draw_mask: 5 of 5 checks passed"
#: exercise -> full points, as gradebook.csv shows them (from the release: see ``_full``)
FULL: dict[str, str] = {}


def _full(rel) -> dict[str, str]:
    return {k: f"{e['points']:g}" for k, e in rel.metadata["courseware"]["exercises"].items()
            if e["auto"]}


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


def _attacks(rel, marker: str, outside: Path, host: Path
             ) -> dict[str, tuple[object, str | None]]:
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
        def draw_mask(shape, p_drop, rng, shared_axes=()):
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
          "def draw_mask(shape, p_drop, rng, shared_axes=()):\n    while True:\n        pass\n")
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
        VISIBLE = {(200, 500), (100, 1000), (50, 40), (7,), (2, 3, 4), (40, 30, 50),
                   (64, 12, 5, 7)}
        def draw_mask(shape, p_drop, rng, shared_axes=()):
            if tuple(shape) in VISIBLE:
                return rng.random(tuple(1 if a in shared_axes else n
                                        for a, n in enumerate(shape))) < 1 - p_drop
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

    # ---- issue 25: crashing, stalling, hungry, reading, writing, library-calling students
    nb = _honest(rel)       # 200,000 nested brackets: the grader's JSON parser recurses
    # (the exchange's own json.dumps is taken before student code runs: this student digs
    # out the exchange function itself and rewrites each answer after it)
    _edit(nb, "ex-masks-draw-code", textwrap.dedent("""\
        import sys
        def _wrap(call):
            def inner(name, request_path, answer_path):
                call(name, request_path, answer_path)
                if answer_path:
                    with open(answer_path, "w") as f:
                        f.write("[" * 200000 + "]" * 200000)
            return inner
        for _k in [k for k in sys.modules if k.startswith("_courseware_")]:
            sys.modules[_k] = _wrap(sys.modules[_k])
        """) + DRAW)
    out["nested-json"] = (nb, "ex-masks-draw")

    nb = _honest(rel)       # right, but 4.5 s per call: past the submission's deadline
    _edit(nb, "ex-masks-draw-code", "import time\n" + DRAW.replace(
        "    return", "    time.sleep(4.5)\n    return"))
    out["slow"] = (nb, "ex-masks-draw")

    nb = _honest(rel)       # 3 GiB per call
    _edit(nb, "ex-masks-draw-code", "import numpy as np\n" + DRAW.replace(
        "    return", "    hog = np.ones(3 * 2**30 // 8)\n    return"))
    out["memory"] = (nb, "ex-masks-draw")

    nb = _honest(rel)       # fills its /tmp and its folder
    _edit(nb, "ex-masks-draw-code", DRAW.replace("    return", textwrap.indent(
        textwrap.dedent("""\
            for i in range(8):
                with open(f"/tmp/fill-{i}", "wb") as f:
                    f.write(b"x" * 200 * 2**20)
            """), "    ") + "    return"))
    out["disk"] = (nb, "ex-masks-draw")

    nb = _honest(rel)       # a fork bomb whose children stay
    _edit(nb, "ex-masks-draw-code", textwrap.dedent(f"""\
        import os, time
        for _ in range(400):
            try:
                if os.fork() == 0:
                    time.sleep(120)
                    os._exit(0)
            except OSError:
                break
        """) + WRONG_DRAW)
    out["fork-bomb"] = (nb, "ex-masks-draw")

    nb = _honest(rel)       # reads secrets, the repository's history, a classmate's work
    _edit(nb, "ex-masks-draw-code", textwrap.dedent(f"""\
        import os, subprocess
        def _try(f):
            try:
                return bool(f())
            except Exception:
                return False
        LEAK = [
            _try(lambda: open("/etc/shadow").read()),
            _try(lambda: subprocess.run(["git", "-C", {str(ROOT)!r}, "show",
                                         "HEAD:book/01_masks.ipynb"], capture_output=True,
                                        check=True).stdout),
            _try(lambda: open("@SUBS@/s00b-honest.ipynb").read()),
            _try(lambda: os.listdir({str(ROOT / "book")!r})),
            _try(lambda: os.listdir({str(ROOT / ".git")!r})),
            _try(lambda: os.getuid() == 0),
        ]
        def draw_mask(shape, p_drop, rng, shared_axes=()):
            raise RuntimeError(f"LEAK{{LEAK}}")
        """))
    out["read-secrets"] = (nb, "ex-masks-draw")

    nb = _honest(rel)       # appends to packages the next kernel and the grader import
    _edit(nb, "ex-masks-draw-code", textwrap.dedent("""\
        import os, traitlets, numpy
        WROTE = []
        for mod in (traitlets, numpy):
            try:
                with open(mod.__file__, "a") as f:
                    f.write("\\nraise SystemExit('planted')\\n")
                WROTE.append(True)
            except OSError:
                WROTE.append(False)
        def draw_mask(shape, p_drop, rng, shared_axes=()):
            raise RuntimeError(f"WROTE{WROTE}")
        """))
    out["site-packages"] = (nb, "ex-masks-draw")

    nb = _honest(rel)       # the library's own function, its name built at run time
    _edit(nb, "ex-masks-draw-code", textwrap.dedent("""\
        from importlib import import_module
        _lib = import_module("drop" + "out_lib")
        def draw_mask(shape, p_drop, rng, shared_axes=()):
            return getattr(_lib, "bernoulli" + "_mask")(shape, p_drop, rng,
                                                        shared_axes=shared_axes)
        """))
    out["library"] = (nb, "ex-masks-draw")

    nb = _honest(rel)       # changes W in place, and hides it from the kernel's comparison
    _edit(nb, "ex-masks-dropconnect-code", DROPCONNECT.replace(
        "    return np.einsum", "    out = np.einsum").rstrip("\n") + textwrap.dedent("""
            W[...] = 0
            return out
        np.array_equal = lambda *a, **k: True
        """))
    out["inplace-hidden"] = (nb, "ex-masks-dropconnect")

    nb = _honest(rel)       # NumPy's global generator, hidden by a forged get_state
    _edit(nb, "ex-masks-draw-code", textwrap.dedent("""\
        import numpy as np
        _state = np.random.get_state()
        np.random.get_state = lambda: _state
        def draw_mask(shape, p_drop, rng, shared_axes=()):
            np.random.seed(int(rng.integers(2**31)))
            shape = tuple(1 if a in shared_axes else n for a, n in enumerate(shape))
            return np.random.random_sample(shape) < 1 - p_drop
        """))
    out["global-rng-hidden"] = (nb, "ex-masks-draw")

    nb = _honest(rel)       # the assignment of another chapter
    nb.metadata["courseware"]["chapter"] = "02_inverted_dropout"
    out["wrong-chapter"] = (nb, "ex-masks-draw")

    # ---- the referee of issue 25
    forged = host / "forged.json"          # a host file the kernel cannot see
    forged.write_text('{"raised": "RuntimeError", "message": "HOSTFILE-READ"}')
    nb = _honest(rel)       # the answer file replaced by a link to a host file
    _edit(nb, "ex-masks-draw-code", textwrap.dedent(f"""\
        import os, sys
        def draw_mask(shape, p_drop, rng, shared_axes=()):
            os.symlink({str(forged)!r}, sys._getframe(1).f_locals["answer_path"])
            shape = tuple(1 if a in shared_axes else n for a, n in enumerate(shape))
            return rng.random(shape) < 1 - p_drop
        """))
    out["answer-link"] = (nb, "ex-masks-draw")

    nb = _honest(rel)       # ... by a pipe the kernel keeps open (the grader's read blocked)
    _edit(nb, "ex-masks-draw-code", textwrap.dedent("""\
        import os, sys, threading
        def _drain(fd):
            while True:
                os.read(fd, 65536)
        def draw_mask(shape, p_drop, rng, shared_axes=()):
            path = sys._getframe(1).f_locals["answer_path"]
            os.mkfifo(path)
            fd = os.open(path, os.O_RDWR)
            threading.Thread(target=_drain, args=(fd,), daemon=True).start()
            shape = tuple(1 if a in shared_axes else n for a, n in enumerate(shape))
            return rng.random(shape) < 1 - p_drop
        """))
    out["answer-fifo"] = (nb, "ex-masks-draw")

    nb = _honest(rel)       # 700 MiB into a sub-folder of the exchange folder, in a cell
    _edit(nb, "ex-masks-draw-code", textwrap.dedent("""\
        import os
        from ipykernel import get_connection_file
        HOARD = os.path.join(os.path.dirname(get_connection_file()), "hoard")
        os.makedirs(HOARD, exist_ok=True)
        WROTE = 0
        try:
            for i in range(14):
                with open(os.path.join(HOARD, str(i)), "wb") as f:
                    f.write(b"x" * 50 * 2**20)
                WROTE += 50
        except OSError:
            pass
        def draw_mask(shape, p_drop, rng, shared_axes=()):
            raise RuntimeError(f"HOARD{WROTE}")
        """))
    out["io-hoard"] = (nb, "ex-masks-draw")

    nb = _honest(rel)       # NumPy's global generator swapped for a decoy
    _edit(nb, "ex-masks-draw-code", textwrap.dedent("""\
        import numpy as np
        _real = np.random.mtrand._rand
        np.random.mtrand._rand = np.random.RandomState(0)
        def draw_mask(shape, p_drop, rng, shared_axes=()):
            _real.seed(int(rng.integers(2**31)))
            shape = tuple(1 if a in shared_axes else n for a, n in enumerate(shape))
            return _real.random_sample(shape) < 1 - p_drop
        """))
    out["rng-decoy"] = (nb, "ex-masks-draw")

    nb = _honest(rel)       # W changed in place, hidden by a patched np.save
    _edit(nb, "ex-masks-dropconnect-code", DROPCONNECT.replace(
        "    return np.einsum", "    out = np.einsum").rstrip("\n") + textwrap.dedent("""
            _SEEN[id(W)] = W.copy()
            W[...] = 0
            return out
        _SEEN, _save = {}, np.save
        def _fake_save(file, arr, *a, **k):
            return _save(file, _SEEN.get(id(arr), arr), *a, **k)
        np.save = _fake_save
        """))
    out["save-hidden"] = (nb, "ex-masks-dropconnect")

    nb = _honest(rel)       # HTML of its own in a cell it added
    nb.cells.append(nbformat.v4.new_markdown_cell(
        '<script>alert("xss-courseware")</script>\n\nMy notes.'))
    extra = nbformat.v4.new_code_cell("1")
    extra.outputs = [nbformat.v4.new_output("display_data", data={
        "text/html": '<img src=x onerror="alert(\'xss-output\')">', "text/plain": "1"})]
    nb.cells.append(extra)
    out["script"] = (nb, None)
    return out


def _old_student_edition():
    """The student edition as `make student` wrote it before issue 25 (metadata
    ``dropout_lib``, no nbgrader cells), with right answers."""
    from courseware.student import student_notebook

    nb, _ = student_notebook(nbformat.read(ROOT / "book" / f"{CH}.ipynb", 4), CH)
    nb.metadata.pop("courseware", None)
    nb.metadata["dropout_lib"] = {"edition": "student", "chapter": CH}
    for cell in nb.cells:
        if cell.cell_type == "code" and "NotImplementedError" in cell.source:
            cell.source = DRAW if "def draw_mask" in cell.source else DROPCONNECT
        cell.metadata.pop("nbgrader", None)
    return nb


def _student_edition_solved():
    """The student edition of `make student`, completed with the book's solutions (the
    code of nbgrader's source notebook in each answer cell), handed in unchanged else."""
    from courseware.assignment import source_notebook
    from courseware.student import student_notebook

    book = ROOT / "book" / f"{CH}.ipynb"
    nb, _ = student_notebook(nbformat.read(book, 4), CH)
    solved = {_gid(c): c.source for c in source_notebook(book)[0].cells
              if _gid(c) and _gid(c).endswith("-code")}
    assert solved
    for cell in nb.cells:
        if _gid(cell) in solved:
            cell.source = solved.pop(_gid(cell))
    assert solved == {}, f"answer cells missing from the student edition: {sorted(solved)}"
    return nb


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
    FULL.update(_full(rel))
    subs = tmp_path_factory.mktemp("submissions")
    marker = f"courseware-background-{uuid.uuid4().hex}"
    outside = tmp_path_factory.mktemp("outside")    # stands for /tmp or any shared folder
    host = tmp_path_factory.mktemp("host")          # a file of the grader's machine
    attacks = _attacks(rel, marker, outside, host)
    attacks["student-edition"] = (_old_student_edition(), "ex-masks-draw")
    order = []
    for i, (name, (nb, _)) in enumerate(attacks.items()):
        a, h = f"s{i:02d}a-{name}", f"s{i:02d}b-honest"
        text = nbformat.writes(nb).replace("@SUBS@", str(subs))
        (subs / f"{a}.ipynb").write_text(text, encoding="utf-8")
        # the honest ones as an LMS downloads them (Canvas: login_[LATE_]userid_subid_file)
        late = "LATE_" if i == 1 else ""
        nbformat.write(_honest(rel), subs / f"{h}_{late}4242_{i:04d}_{CH}.ipynb")
        order += [a, h]
    nbformat.write(rel, subs / "zz-unmodified.ipynb")
    nbformat.write(_student_edition_solved(), subs / "zz-student-edition-solved.ipynb")
    (subs / "zz-not-a-notebook.ipynb").write_text("{not json")
    (subs / "zz-empty.ipynb").write_bytes(b"")
    nbformat.write(_honest(rel), subs / "...ipynb")      # its id would be ".."
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
         "autograde", CH, str(subs), "--timeout-cell", "5", "--deadline", "25",
         "--due", "2000-01-01 00:00"],
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
                                  "infinite-loop", "visible-only", "mistakes",
                                  "nested-json", "slow", "memory", "disk", "fork-bomb",
                                  "read-secrets", "site-packages", "library",
                                  "inplace-hidden", "global-rng-hidden", "wrong-chapter",
                                  "student-edition", "answer-link", "answer-fifo",
                                  "io-hoard", "rng-decoy", "save-hidden"])
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
    assert "probability of DROPPING a unit" in _verdict(graded, student, "ex-masks-draw")
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
    assert graded["rows"][student]["ex-masks-draw"] == ("0" if graded["bwrap"]
                                                        else FULL["ex-masks-draw"])


def test_the_student_edition_completed_with_the_solutions_scores_full_marks(graded):
    """`make student`'s notebook is the handout: graded as the release, no note."""
    row = graded["rows"]["zz-student-edition-solved"]
    assert {k: row[k] for k in FULL} == FULL, row
    assert row["status"] == "pending hand grading", row
    problems = (graded["course"] / "autograded" / "zz-student-edition-solved" / CH
                / "problems.txt").read_text()
    assert problems.strip() == "", problems


def test_unmodified_and_unreadable_submissions_score_zero(graded):
    assert graded["rows"]["zz-unmodified"]["total"] == "0"
    for student in ("zz-not-a-notebook", "zz-empty"):
        assert graded["rows"][student]["total"] == "0"
        assert graded["rows"][student]["status"] == "unreadable", graded["rows"][student]
    assert graded["rows"]["zz-unmodified"]["status"] == "pending hand grading"


def test_manual_exercises_wait_for_a_human(graded):
    row = graded["rows"]["s00b-honest"]
    assert row["ex-masks-var"] == "pending" and row["waiting_for_hand_grading"] == "3"
    assert row["status"] == "pending hand grading"
    notes = nbformat.read(graded["course"] / "autograded" / "s00b-honest" / CH / f"{CH}.ipynb",
                          4).cells[0].source
    assert "Pending hand grading" in notes and "ex-masks-var" in notes


def test_check_my_work_uses_the_visible_inputs(graded):
    """`make check` gives the visible check's verdict: the visible-only function passes it,
    and fails the hidden inputs of the grader (test above)."""
    student = next(s for s in graded["order"] if s.endswith("a-visible-only"))
    done = subprocess.run([sys.executable, "-m", "courseware.autograde", "check",
                           str(graded["subs"] / f"{student}.ipynb")],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "PASS  ex-masks-draw      ✓ draw_mask:" in done.stdout
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
    total = sum(float(v) for v in FULL.values()) + 2
    assert row["ex-masks-var"] == "2" and row["total"] == f"{total:g}"
    assert row["waiting_for_hand_grading"] == "2"


def test_secrets_do_not_reach_the_kernel():
    from courseware.sandbox import Sandbox

    os.environ["INSTRUCTOR_SECRET"] = "s3cret"
    try:
        with Sandbox(timeout_cell=20) as sb:
            status, _ = sb.run("import os\nassert 'INSTRUCTOR_SECRET' not in os.environ\n"
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
                           str(course), "autograde", CH, str(subs), "--watch", str(watched),
                           "--unsafe-no-sandbox"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "COURSEWARE_BWRAP": "none"})
    assert done.returncode == 2
    assert "mallory.ipynb changed 1 file(s) outside its copy" in done.stderr
    assert "zed" not in done.stdout


# --------------------------------------------------------------------------- issue 25


def _student(graded, name):
    return next(s for s in graded["order"] if s.endswith(f"a-{name}"))


def _record(graded, student):
    import json

    return json.loads((graded["course"] / "records" / CH / f"{student}.json").read_text())


def test_the_batch_completes_with_a_row_and_a_log_line_per_submission(graded):
    everyone = [*graded["order"], "zz-unmodified", "zz-not-a-notebook", "zz-empty",
                "zz-student-edition-solved"]
    assert set(graded["rows"]) == set(everyone)
    for student in everyone:
        assert f"{student}: " in graded["stdout"], student
    assert "Traceback" not in graded["stdout"]


def test_a_nested_answer_is_not_understood_and_stops_nothing(graded):
    student = _student(graded, "nested-json")
    assert "not understood (RecursionError)" in _verdict(graded, student, "ex-masks-draw")


@pytest.mark.parametrize("name, limit", [("slow", "time limit of 25 s"),
                                         ("memory", "memory limit of 2048 MiB"),
                                         ("disk", "limit of")])
def test_a_limit_hit_scores_zero_and_is_named(graded, name, limit):
    student = _student(graded, name)
    assert limit in _verdict(graded, student, "ex-masks-draw")
    if name != "slow":          # the deadline covers the whole submission
        assert graded["rows"][student]["ex-masks-dropconnect"] == "2"


def test_the_kernel_sees_no_secret_no_history_no_classmate_and_is_not_root(graded):
    assert "LEAK[False, False, False, False, False, False]" in _verdict(
        graded, _student(graded, "read-secrets"), "ex-masks-draw")


def test_packages_cannot_be_written(graded):
    assert "WROTE[False, False]" in _verdict(graded, _student(graded, "site-packages"),
                                            "ex-masks-draw")


def test_the_librarys_own_function_scores_zero_by_name(graded):
    student = _student(graded, "library")
    assert "matches dropout_lib.bernoulli_mask" in _verdict(graded, student, "ex-masks-draw")
    assert graded["rows"][student]["ex-masks-dropconnect"] == "2"
    # the instructor's review hint, kept out of the student's notes
    assert any("ex-masks-draw-code" in h and "import_module" in h
               for h in _record(graded, student)["review"])
    assert _record(graded, "s00b-honest")["review"] == []
    problems = (graded["course"] / "autograded" / student / CH / "problems.txt").read_text()
    assert "import_module" not in problems


def test_the_kernels_word_does_not_count(graded):
    assert "in place" in _verdict(graded, _student(graded, "inplace-hidden"),
                                  "ex-masks-dropconnect")
    student = _student(graded, "global-rng-hidden")
    assert "global random state" in _verdict(graded, student, "ex-masks-draw")
    assert graded["rows"][student]["ex-masks-dropconnect"] == "2"


def test_a_notebook_of_the_wrong_format_is_refused_by_name(graded):
    problems = (graded["course"] / "autograded" / _student(graded, "student-edition") / CH
                / "problems.txt").read_text()
    assert "old student edition" in problems
    problems = (graded["course"] / "autograded" / _student(graded, "wrong-chapter") / CH
                / "problems.txt").read_text()
    assert "chapter 02_inverted_dropout, not of 01_masks" in problems


def test_lms_names_and_the_late_flag_not_file_times(graded):
    """Canvas's LATE_ flag decides; a file whose only time is its modification time (reset
    by copying) is "unknown", with a warning, never late by its copy time."""
    row = graded["rows"]["s00b-honest"]          # from s00b-honest_4242_0000_01_masks
    assert row["late"] == "no" and row["seconds_late"] == "", row
    assert graded["rows"]["s01b-honest"]["late"] == "yes"        # ..._LATE_4242_0001_...
    record = _record(graded, "s00b-honest")
    assert record["file"].startswith("s00b-honest_4242_") and record["late"] == "no"
    plain = graded["rows"][_student(graded, "mistakes")]
    assert plain["late"] == "unknown" and plain["seconds_late"] == "", plain
    assert "warning: --due given" in graded["stdout"]


def test_an_id_that_is_no_folder_name_is_skipped(graded):
    """``...ipynb`` would be student ``..``, its results written beside autograded/."""
    assert "skipped ...ipynb" in graded["stdout"]
    assert ".." not in graded["rows"]
    assert not (graded["course"] / CH).exists()


def test_the_answer_file_is_read_as_a_regular_file_only(graded):
    for name in ("answer-link", "answer-fifo"):
        student = _student(graded, name)
        verdict = _verdict(graded, student, "ex-masks-draw")
        assert "not a regular file" in verdict and "HOSTFILE" not in verdict, verdict
        assert graded["rows"][student]["ex-masks-dropconnect"] == "2"
        assert float(_record(graded, student)["elapsed_s"]) < 25


def test_the_exchange_folder_is_bounded_and_checked_during_cells(graded):
    import re

    student = _student(graded, "io-hoard")
    wrote = int(re.search(r"HOARD(\d+)", _verdict(graded, student, "ex-masks-draw"))[1])
    problems = (graded["course"] / "autograded" / student / CH / "problems.txt").read_text()
    assert "/tmp limit of 512 MiB" in problems, problems
    if graded["bwrap"] and os.geteuid() == 0:      # a tmpfs of the /tmp limit's size
        assert wrote <= 512, wrote


def test_replacing_numpys_functions_hides_nothing(graded):
    student = _student(graded, "rng-decoy")
    assert "global random state" in _verdict(graded, student, "ex-masks-draw")
    assert "in place" in _verdict(graded, _student(graded, "save-hidden"),
                                  "ex-masks-dropconnect")


def test_records_and_seeds_stay_out_of_the_students_feedback(graded):
    """Feedback of the student with a <script> of its own: sanitised, and neither its
    record nor its hidden seeds are among the files nbgrader hands back."""
    from courseware.autograde import feedback

    course = graded["course"]
    student = _student(graded, "script")
    pages = feedback(CH, course, student=student)
    assert pages and all(p.parent.parent.name == student for p in pages)
    html = pages[0].read_text(encoding="utf-8")
    assert "My notes." in html and '<script>alert("xss-courseware")' not in html
    assert "xss-output" not in html
    back = [p for p in (course / "feedback").rglob("*") if p.is_file()]
    assert not [p for p in back if p.suffix == ".json"], back
    assert not list((course / "autograded").rglob("record.json"))
    seed = str(next(iter(v["seed"] for v in _record(graded, student)["exercises"].values()
                         if "seed" in v)))
    assert all(seed not in p.read_text(errors="replace") for p in back)


def test_check_without_bubblewrap_says_so(monkeypatch, capsys, tmp_path):
    import courseware.autograde as ag

    monkeypatch.setattr(ag, "bwrap_works", lambda: False)
    monkeypatch.setattr(ag, "bwrap_problem", lambda: "bwrap is not installed")
    assert ag.main(["check", str(tmp_path / "missing.ipynb")]) == 2
    err = capsys.readouterr().err
    assert "warning: no bubblewrap sandbox" in err and "unsandboxed" in err


def test_seeds_are_recorded_and_a_regrade_judges_the_same_inputs(graded, tmp_path):
    from courseware.autograde import _judging
    from courseware.judge import hidden_inputs

    seeds = {k: v["seed"] for k, v in _record(graded, "s00b-honest")["exercises"].items()
             if v["auto"]}
    assert set(seeds) == set(FULL)
    for label, seed in seeds.items():
        with _judging(seed):
            first = repr(hidden_inputs(CH, label))
        with _judging(seed):
            assert repr(hidden_inputs(CH, label)) == first
    subs = tmp_path / "again"
    subs.mkdir()
    src = next(graded["subs"].glob("s00b-honest_*.ipynb"))
    (subs / "s00b-honest.ipynb").write_bytes(src.read_bytes())
    done = subprocess.run([sys.executable, "-m", "courseware.autograde", "--course",
                           str(graded["course"]), "autograde", CH, str(subs),
                           "--reuse-seeds"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    again = _record(graded, "s00b-honest")["exercises"]
    assert {k: again[k]["seed"] for k in seeds} == seeds


def test_a_roster_marks_who_did_not_submit(graded, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name\ns00b-honest,A\nghost,B\n")
    out = tmp_path / "g.csv"
    gradebook_csv(out, graded["course"], roster)
    rows = {r["student_id"]: r for r in csv.DictReader(out.open())}
    assert rows["ghost"]["status"] == "not submitted" and rows["ghost"]["total"] == "0"
    assert rows["s00b-honest"]["status"].startswith("pending hand grading")
    assert rows["zz-unmodified"]["status"].endswith("(not on the roster)")


def test_nbgraders_own_autograde_refuses(graded):
    course = graded["course"]
    target = course / "submitted" / "s00b-honest" / CH
    target.mkdir(parents=True)
    (target / f"{CH}.ipynb").write_bytes(
        next(graded["subs"].glob("s00a-*.ipynb")).read_bytes())
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", CH, "--force"],
                          cwd=course, capture_output=True, text=True, timeout=120,
                          check=False, env=env)
    assert done.returncode != 0 and "make autograde" in done.stderr
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    result = NbGraderAPI(config=config).autograde(CH, "s00b-honest", force=True)
    assert not result["success"] and "make autograde" in result["error"]
    out = course / "after-nbgrader.csv"
    gradebook_csv(out, course)
    row = next(r for r in csv.DictReader(out.open()) if r["student_id"] == "s00b-honest")
    assert {k: row[k] for k in FULL} == FULL


def test_without_bubblewrap_grading_refuses_unless_told(graded, tmp_path):
    subs = tmp_path / "s"
    subs.mkdir()
    nbformat.write(graded["attacks"]["mistakes"][0], subs / "x.ipynb")
    done = subprocess.run([sys.executable, "-m", "courseware.autograde", "--course",
                           str(graded["course"]), "autograde", CH, str(subs)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "COURSEWARE_BWRAP": "none"})
    assert done.returncode == 2 and "--unsafe-no-sandbox" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_grader_failure_or_a_dead_grading_process_is_a_row(graded, tmp_path, monkeypatch):
    """The grader itself fails on one submission (an exception, a process that dies): that
    submission is a "grader error" with 0 points and the reason, the others are graded
    and stored."""
    import shutil

    import courseware.autograde as ag

    course = tmp_path / "course"
    shutil.copytree(graded["course"], course)
    real = ag.grade_notebook

    def flaky(sub, release, *, student="student", **kw):
        if student == "boom":
            raise RuntimeError("the grader tripped")
        if student == "die":
            os._exit(3)
        return real(sub, release, student=student, **kw)

    monkeypatch.setattr(ag, "grade_notebook", flaky)
    subs = tmp_path / "subs"
    subs.mkdir()
    rel = nbformat.read(course / "release" / CH / f"{CH}.ipynb", 4)
    for name in ("boom", "die", "fine"):
        nbformat.write(_honest(rel), subs / f"{name}.ipynb")
    lines = []
    results = {r.student: r for r in ag.autograde(CH, subs, course, log=lines.append,
                                                  unsafe=True)}
    assert "RuntimeError: the grader tripped" in results["boom"].grader_error
    assert "exit code 3" in results["die"].grader_error
    assert not results["fine"].grader_error
    total = sum(float(v) for v in FULL.values())
    assert sum(s.score for s in results["fine"].scores.values() if s.auto) == total
    assert any(line.startswith(f"boom: 0 of {total:g}") and "grader error" in line
               for line in lines)
    out = tmp_path / "g.csv"
    gradebook_csv(out, course)
    rows = {r["student_id"]: r for r in csv.DictReader(out.open())}
    assert rows["boom"]["status"] == "grader error" and rows["boom"]["total"] == "0"
    assert rows["die"]["status"] == "grader error"
