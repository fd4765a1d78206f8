"""Chapter 1 in JupyterLab, started as `make lab` starts it, read in headless Chromium.

The server is the Makefile's `lab` command line (`make -n lab`: the numeric pins of
tools/numeric_env.py, the venv's `jupyter lab`), with only what a test needs added: a free
port on 127.0.0.1, a token, no browser, no news, update check or extension manager
(nothing goes to the network), no kernel, and throw-away settings in which autosave is
off (the test never writes the chapter). The browser may fetch nothing but the server.

It asserts that the chapter reads as on the website: jupyterlab-myst renders the prose
(no raw directive, role or target), every number shows its value and no glue name is
seen, math is typeset (jupyterlab-myst typesets with KaTeX), and the cells the site folds
are collapsed.

LAB_NOTEBOOK=path/to/a.ipynb opens another notebook (its folder becomes the notebook
folder): e.g. a copy of a chapter from before its numbers were written in, on which this
test fails.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from courseware import lab_view

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = Path(os.environ.get("LAB_NOTEBOOK") or ROOT / "book" / "01_masks.ipynb").resolve()
START_S = 60        # at most, for the server to answer
RENDER_MS = 60_000  # at most, for the notebook to render

# MyST (and the comments around a number) that a reader must never see as text, and a
# target line such as "(masks-stats)=".
RAW_MYST = [":::{", "```{", "{numref}", "{cite", "{glue", "{ref}", "{term}", "{doc}", "<!--"]
TARGET = re.compile(r"^\([\w:-]+\)=\s*$", re.MULTILINE)


def make_lab_command() -> list[str]:
    """The command line of the Makefile's `lab` target, as `make -n` prints it."""
    out = subprocess.run(["make", "-s", "-n", "lab"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    lines = [ln for ln in out.splitlines() if re.search(r"\bjupyter lab\b", ln)]
    assert len(lines) == 1, f"`make -n lab` prints no single `jupyter lab` line:\n{out}"
    return shlex.split(lines[0])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A running JupyterLab on NOTEBOOK's folder: (base URL, token). Shut down after."""
    tmp = tmp_path_factory.mktemp("lab")
    settings = tmp / "settings"
    for plugin, values in {
            "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
            "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                             "checkForUpdates": False}}.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port, token = free_port(), secrets.token_hex(16)
    cmd = [f"--notebook-dir={NOTEBOOK.parent}" if a.startswith("--notebook-dir=") else a
           for a in make_lab_command()]
    assert any(a.startswith("--notebook-dir=") for a in cmd), cmd
    cmd += ["--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
            "--LabApp.notebook_starts_kernel=False"]      # nothing runs: reading only
    if os.geteuid() == 0:
        cmd.append("--allow-root")      # Jupyter refuses root without it (containers, CI)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
               JUPYTERLAB_SETTINGS_DIR=str(settings))
    log = (tmp / "lab.log").open("w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_S
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start: {(tmp / 'lab.log').read_text()}")
                time.sleep(0.2)
        yield base, token
    finally:
        try:          # the server's own shutdown: it stops the kernels it started
            req = urllib.request.Request(f"{base}/api/shutdown", method="POST",
                                         headers={"Authorization": f"token {token}"})
            urllib.request.urlopen(req, timeout=5).close()
            proc.wait(timeout=15)
        except (OSError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


# One record per cell, in order. jupyterlab-myst renders a markdown cell into a widget of
# class "myst" (JupyterLab's own renderer: "jp-RenderedMarkdown"), and math with KaTeX.
# A cell's text is what a reader sees: without KaTeX's MathML copy (which holds the TeX).
_JS_CELLS = """() => [...document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell')]
  .map(c => {
    const md = c.classList.contains('jp-MarkdownCell');
    const myst = md ? c.querySelector('.jp-InputArea .myst') : null;
    let text = '';
    if (myst) {
      const copy = myst.cloneNode(true);
      copy.querySelectorAll('.katex-mathml, mjx-assistive-mml').forEach(e => e.remove());
      text = copy.textContent;
    }
    return {
      markdown: md,
      myst: !!myst,
      plain_renderer: md && !!c.querySelector('.jp-RenderedMarkdown'),
      text: text,
      math: myst ? myst.querySelectorAll('.katex, mjx-container').length : 0,
      admonitions: myst ? myst.querySelectorAll('.myst-admonition').length : 0,
      input_collapsed: !!c.querySelector('.jp-InputPlaceholder'),
      output_collapsed: !!c.querySelector('.jp-OutputPlaceholder'),
    };
  })"""


@pytest.fixture(scope="module")
def shown(lab, browser):
    """What JupyterLab shows of NOTEBOOK: one record per cell, and the page's config."""
    base, token = lab
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  service_workers="block")
    outside: list[str] = []

    def route(r):
        if r.request.url.startswith((base + "/", "data:", "blob:")):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort("blockedbyclient")

    context.route("**/*", route)
    page = context.new_page()
    try:
        page.goto(f"{base}/lab/tree/{NOTEBOOK.name}?token={token}", wait_until="load",
                  timeout=RENDER_MS)
        n_cells = len(nbformat.read(NOTEBOOK, as_version=4).cells)
        page.wait_for_function(       # every cell is there, and no more appear or render
            """n => new Promise(ok => { let last = '', same = 0;
                 const t = setInterval(() => {
                   const q = s => document.querySelectorAll(s).length;
                   const now = [q('.jp-NotebookPanel .jp-Cell'), q('.jp-MarkdownCell .myst'),
                                q('.jp-MarkdownCell .jp-RenderedMarkdown'),
                                q('.jp-Notebook .katex, .jp-Notebook mjx-container')].join();
                   same = now === last && q('.jp-NotebookPanel .jp-Cell') >= n ? same + 1 : 0;
                   last = now;
                   if (same >= 4) { clearInterval(t); ok(true); } }, 250); })""",
            arg=n_cells, timeout=RENDER_MS)
        cells = page.evaluate(_JS_CELLS)
        config = json.loads(page.evaluate(
            "() => document.getElementById('jupyter-config-data').textContent"))
        yield {"cells": cells, "config": config, "outside": outside}
    finally:
        context.close()


@pytest.fixture(scope="module")
def notebook():
    return nbformat.read(NOTEBOOK, as_version=4)


def test_every_cell_is_shown_in_order(shown, notebook):
    kinds = [c["markdown"] for c in shown["cells"]]
    assert kinds == [c.cell_type == "markdown" for c in notebook.cells]
    assert not shown["outside"], f"requests that left the machine: {shown['outside'][:5]}"


def test_the_myst_renderer_is_active(shown):
    names = {e.get("name") for e in shown["config"].get("federated_extensions", [])}
    assert "jupyterlab-myst" in names, sorted(names)
    disabled = shown["config"].get("disabledExtensions") or []
    assert not [d for d in disabled if "jupyterlab-myst" in str(d)], disabled
    markdown = [c for c in shown["cells"] if c["markdown"]]
    assert markdown and all(c["myst"] and not c["plain_renderer"] for c in markdown)
    # MyST only jupyterlab-myst renders: the chapter's notes as admonitions.
    assert sum(c["admonitions"] for c in shown["cells"]) > 0


def test_no_raw_myst_is_visible(shown):
    problems = []
    for i, cell in enumerate(shown["cells"]):
        found = [m for m in RAW_MYST if m in cell["text"]] + TARGET.findall(cell["text"])
        if found:
            problems.append(f"cell {i}: {found} in {cell['text'][:120]!r}")
    assert not problems, "\n".join(problems)


def test_numbers_show_their_values_not_their_names(shown, notebook):
    names = set(lab_view.glued(notebook))
    assert names, "the chapter glues no number"
    problems = []
    n_values = 0
    for i, (cell, source) in enumerate(zip(shown["cells"], notebook.cells)):
        if source.cell_type != "markdown":
            continue
        text = cell["text"]
        problems += [f"cell {i}: the name {n} is shown" for n in names
                     if re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", text)]
        for m in lab_view.MARKED.finditer(source.source):
            n_values += 1
            value = re.sub(r"\\(.)", r"\1", m.group("value"))
            if value not in text:
                problems.append(f"cell {i}: {m.group('ref')}'s value {value!r} is not shown")
    assert not problems, "\n".join(problems[:20])
    assert n_values >= 10, f"only {n_values} marked values in the chapter"


def test_math_is_typeset(shown, notebook):
    with_math = [i for i, c in enumerate(notebook.cells)
                 if c.cell_type == "markdown" and re.search(r"\$[^$\n]+\$", c.source)]
    assert with_math
    untypeset = [i for i in with_math if shown["cells"][i]["math"] == 0]
    assert not untypeset, f"cells with $...$ but no typeset math: {untypeset}"
    texts = "".join(c["text"] for c in shown["cells"])
    assert not re.search(r"\$p_\{|\\(text|frac|sqrt|mathrm|left|right)\b", texts)


def test_folded_cells_are_collapsed(shown, notebook):
    problems = []
    for i, (cell, source) in enumerate(zip(shown["cells"], notebook.cells)):
        tags = set(source.metadata.get("tags", []))
        want_input = bool(tags & {"hide-input", "remove-input", "hide-cell", "remove-cell"})
        want_output = bool(tags & {"hide-output", "remove-output", "hide-cell", "remove-cell"}
                           ) and source.cell_type == "code"
        if cell["input_collapsed"] != want_input or (want_output and not cell["output_collapsed"]):
            problems.append(f"cell {i} (tags {sorted(tags)}): input collapsed "
                            f"{cell['input_collapsed']}, output collapsed "
                            f"{cell['output_collapsed']}")
    assert not problems, "\n".join(problems)
    assert sum(c["input_collapsed"] for c in shown["cells"]) >= 5
