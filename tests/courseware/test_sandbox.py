"""The bubblewrap sandbox: a submission cannot read the book's solutions, write outside its
copy or reach the network; without the sandbox the same code can (so these tests would
fail if the kernel were not in it)."""
from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest

from courseware.book import ROOT
from courseware.sandbox import Sandbox, bwrap_args, bwrap_works

pytestmark = pytest.mark.slow

SOLUTIONS = ROOT / "book" / "01_masks.ipynb"


def _attempts(sb: Sandbox, outside: Path, shared: Path, port: int) -> dict[str, str]:
    code = {
        "read the chapter": f"open({str(SOLUTIONS)!r}).read(100)",
        "list the course folder": f"import os; assert os.listdir({str(ROOT / 'book')!r})",
        "write to /tmp": f"open({str(outside)!r}, 'w').write('x')",
        "write to a shared folder": f"open({str(shared)!r}, 'w').write('x')",
        "connect to the grader's machine": (
            f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3)"),
        "write in its copy": "open('mine.txt', 'w').write('x')",
    }
    return {what: sb.run(source)[0] for what, source in code.items()}


@pytest.fixture
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()[1]
    server.close()


def test_bubblewrap_is_there_when_required():
    """`make test` requires the sandbox (tools/ensure_bwrap.sh installs it), so the test
    below cannot silently skip there."""
    if os.environ.get("COURSEWARE_REQUIRE_BWRAP") == "1":
        assert bwrap_works(), "bubblewrap cannot make a sandbox: run tools/ensure_bwrap.sh"


@pytest.mark.skipif(not bwrap_works(), reason="bubblewrap cannot make a sandbox here")
def test_in_bubblewrap_only_its_copy_is_reachable(tmp_path, listener):
    outside = Path("/tmp") / f"courseware-probe-{uuid.uuid4().hex}"
    shared = Path("/var/tmp") / f"courseware-probe-{uuid.uuid4().hex}"
    try:
        with Sandbox(timeout_cell=20, bwrap=True) as sb:
            got = _attempts(sb, outside, shared, listener)
            seen = sb.run("import os\n"
                          f"assert not os.path.exists({str(ROOT / 'book')!r})\n"
                          f"assert not os.path.exists({str(ROOT / '.git')!r})\n"
                          f"assert sorted(os.listdir({str(ROOT)!r})) <= "
                          "['.venv', '_toc.yml', 'courseware', 'dropout_lib', 'tests']\n"
                          "assert os.getuid() != 0\n")[0]
            home = sb.run("import os, pathlib\n"
                          f"assert set(os.listdir({str(Path.home())!r})) <= "
                          "{p.name for p in map(pathlib.Path, ['.pyenv', '.local'])}")[0]
        assert got == {"read the chapter": "error", "list the course folder": "error",
                       "write to /tmp": "ok", "write to a shared folder": "error",
                       "connect to the grader's machine": "error",
                       "write in its copy": "ok"}, got
        assert not outside.exists() and not shared.exists()   # /tmp was its own
        assert seen == "ok" and home == "ok"
    finally:
        shared.unlink(missing_ok=True)
        outside.unlink(missing_ok=True)


@pytest.mark.skipif(not bwrap_works(), reason="bubblewrap cannot make a sandbox here")
def test_the_limits_hold_in_the_kernel():
    from courseware.limits import Limits

    limits = Limits(memory=1024, file_size=8, processes=32, tmp=16, cell=20)
    with Sandbox(limits=limits, bwrap=True) as sb:
        memory = sb.run("import numpy as np; a = np.ones(2**30 // 8 * 2)")
        size = sb.run("open('big', 'wb').write(b'x' * 12 * 2**20)")
        tmp = sb.run("for i in range(4):\n    open(f'/tmp/f{i}', 'wb').write(b'x' * 6 * 2**20)")
        procs = sb.run("import os, time\nfor _ in range(100):\n"
                       "    if os.fork() == 0:\n        time.sleep(30); os._exit(0)")
    assert memory[0] == "error" and "MemoryError" in memory[1]
    assert size[0] == "error" and "File too large" in size[1]
    assert tmp[0] == "error" and "No space left" in tmp[1]
    assert procs[0] == "error" and "Resource temporarily unavailable" in procs[1]


def test_without_bubblewrap_the_same_code_gets_through(tmp_path, listener):
    """The control: the attempts above succeed in the fallback sandbox (a kernel running
    as the grader's user), so the test above fails if bubblewrap is not in use."""
    outside = Path("/tmp") / f"courseware-probe-{uuid.uuid4().hex}"
    shared = Path("/var/tmp") / f"courseware-probe-{uuid.uuid4().hex}"
    try:
        with Sandbox(timeout_cell=20, bwrap=False) as sb:
            got = _attempts(sb, outside, shared, listener)
        assert set(got.values()) == {"ok"}, got
        assert outside.exists() and shared.exists()
    finally:
        shared.unlink(missing_ok=True)
        outside.unlink(missing_ok=True)


def test_the_command_line_shows_only_python_the_packages_and_the_exchange_folder(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    (tmp_path / "io").mkdir()
    args = bwrap_args(tmp_path, course)
    binds = {args[i + 1]: args[i] for i in range(len(args) - 2)
             if args[i] in ("--bind", "--ro-bind") and args[i + 1] == args[i + 2]}
    assert "/" not in binds
    assert binds[str((tmp_path / "io").resolve())] == "--bind"
    assert {k for k, v in binds.items() if v == "--bind"} == {str((tmp_path / "io").resolve())}
    for hidden in (ROOT, ROOT / "book", ROOT / ".git", course, Path.home()):
        assert str(hidden.resolve()) not in binds
    assert str(ROOT / "courseware") in binds and str(ROOT / "dropout_lib") in binds
    assert args[args.index("--tmpfs") - 2:args.index("--tmpfs") + 2][0] == "--size"
    assert args[-1] == "--"


def test_a_repository_under_tmp_stays_visible(tmp_path, monkeypatch):
    """/tmp is private in the sandbox; a checkout (and its .venv) under /tmp is bound back
    read-only after it, or the kernel could not even start."""
    import courseware.sandbox as sandbox

    repo = Path("/tmp") / "some-checkout"
    monkeypatch.setattr(sandbox, "ROOT", repo)
    args = bwrap_args(tmp_path)
    tmpfs = args.index("/tmp") if args[args.index("/tmp") - 1] == "--tmpfs" else None
    assert tmpfs is not None
    binds = [i for i in range(len(args) - 2)
             if args[i] == "--ro-bind" and args[i + 1] == str(repo / "courseware")]
    assert binds and binds[0] > tmpfs and args[binds[0] + 2] == str(repo / "courseware")


def test_a_sandbox_leaves_its_callers_other_children_alone():
    """The tests start grading batches from other threads while a sandbox runs in the
    test process: closing the sandbox must neither kill those nor take their exit status
    (a reaped child's ``Popen`` reports 0)."""
    import subprocess
    import sys
    import time

    with Sandbox(timeout_cell=20) as sb:
        running = subprocess.Popen([sys.executable, "-c",
                                    "import time; time.sleep(2); raise SystemExit(7)"])
        ended = subprocess.Popen([sys.executable, "-c", "raise SystemExit(5)"])
        time.sleep(0.5)                 # `ended` has exited and waits to be reaped
        assert sb.run("x = 1")[0] == "ok"
    assert running.poll() is None
    assert running.wait(10) == 7 and ended.wait(10) == 5


def test_a_symlinked_virtual_environment_is_shown_at_its_real_place(tmp_path, monkeypatch):
    """The kernel's Python (the launcher, the kernelspec's argv[0]) is named by its real
    folder, the one the sandbox shows (referee of issue 25: a symlinked venv broke it)."""
    import sys

    from courseware.limits import Limits
    from courseware.sandbox import python_path, visible_paths

    link = tmp_path / "venv-link"
    link.symlink_to(Path(sys.prefix).resolve(), target_is_directory=True)
    exe = link / "bin" / Path(sys.executable).name
    monkeypatch.setattr(sys, "executable", str(exe))
    real = Path(sys.prefix).resolve() / "bin" / exe.name
    assert Limits().launcher(None)[0] == str(real)
    assert python_path(str(exe)) == str(real)
    shown = [Path("/usr"), *visible_paths()]
    assert any(real.is_relative_to(p) for p in shown)


def test_a_kernel_that_does_not_start_leaves_no_folder(monkeypatch):
    made = []

    def fail(self):
        made.append(self.dir)
        raise RuntimeError("no kernel")

    monkeypatch.setattr(Sandbox, "start", fail)
    with pytest.raises(RuntimeError, match="no kernel"):
        with Sandbox(timeout_cell=5):
            pass
    assert made and not made[0].exists()


@pytest.mark.skipif(os.geteuid() != 0 or not bwrap_works(),
                    reason="the exchange folder is a tmpfs when grading as root in bwrap")
def test_the_exchange_folder_is_a_tmpfs_of_the_tmp_limit():
    from courseware.limits import Limits

    with Sandbox(timeout_cell=20, limits=Limits(tmp=64)) as sb:
        status, text = sb.run(
            "import os\nfrom ipykernel import get_connection_file\n"
            "d = os.path.join(os.path.dirname(get_connection_file()), 'a', 'b')\n"
            "os.makedirs(d)\n"
            "with open(os.path.join(d, 'x'), 'wb') as f:\n"
            "    f.write(b'x' * 100 * 2**20)\n")
        assert status == "error" and "No space left" in text, (status, text)
        folder = sb.work
        assert sb.io_bytes() > 60 * 2**20
    assert not folder.exists()
    assert str(folder) not in Path("/proc/self/mounts").read_text()
