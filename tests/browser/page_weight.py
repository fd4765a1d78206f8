"""The transfer weight of each page of the built site, as Chromium loads it.

    .venv/bin/python tests/browser/page_weight.py [SITE_DIR] [--json]

SITE_DIR defaults to $BOOK_HTML or _build/html. Each toc page is served from SITE_DIR on
127.0.0.1 and opened once at 1280 px (math typeset, every image loaded); every file the
page fetched is then looked up in SITE_DIR and counted with its size on disk and its
gzip size (what a web server that compresses sends). Images are counted apart: the
"boilerplate" is everything else, i.e. HTML, CSS, JavaScript and fonts.
"""
from __future__ import annotations

import gzip
import http.server
import json
import os
import sys
import threading
from functools import partial
from pathlib import Path
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from toc import toc_entries  # noqa: E402

ROOT = HERE.parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
KINDS = {".html": "html", ".css": "css", ".js": "js", ".woff": "font", ".woff2": "font",
         ".ttf": "font", ".png": "image", ".svg": "image", ".jpg": "image", ".gif": "image"}


def kind(path: str) -> str:
    return KINDS.get(Path(path).suffix.lower(), "other")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def measure(site: Path) -> dict:
    from playwright.sync_api import sync_playwright

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            partial(_Quiet, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{httpd.server_address[1]}"
    out = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM,
                                         args=["--headless", "--no-sandbox"])
            ctx = browser.new_context(viewport={"width": 1280, "height": 900})
            ctx.route("**/*",
                      lambda r: r.continue_() if r.request.url.startswith(origin)
                      else r.abort())
            for entry in toc_entries():
                page = ctx.new_page()
                urls: list[str] = []
                page.on("requestfinished", lambda r, urls=urls: urls.append(r.url))
                page.goto(f"{origin}/{entry}.html", wait_until="load")
                page.evaluate("""async () => {
                  document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; });
                  if (window.MathJax && MathJax.startup && MathJax.startup.promise)
                    await MathJax.startup.promise;
                  await document.fonts.ready;
                }""")
                page.wait_for_timeout(300)
                files = {}
                for url in urls:
                    path = unquote(urlsplit(url).path).lstrip("/")
                    f = site / path
                    if f.is_file() and path not in files:
                        data = f.read_bytes()
                        files[path] = (len(data), len(gzip.compress(data, 6)))
                totals: dict = {}
                for path, (raw, gz) in files.items():
                    k = kind(path)
                    t = totals.setdefault(k, [0, 0, 0])
                    t[0] += 1
                    t[1] += raw
                    t[2] += gz
                out[entry] = {"totals": totals, "files": files}
                page.close()
            browser.close()
    finally:
        httpd.shutdown()
    return out


def boilerplate(totals: dict) -> tuple[int, int, int]:
    keys = [k for k in totals if k != "image"]
    return (sum(totals[k][0] for k in keys), sum(totals[k][1] for k in keys),
            sum(totals[k][2] for k in keys))


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    site = Path(args[0] if args else os.environ.get("BOOK_HTML") or ROOT / "_build" / "html")
    result = measure(site.resolve())
    if "--json" in argv:
        print(json.dumps(result, indent=1))
        return 0
    mb = 1e6
    print(f"{'page':28} {'files':>5} {'HTML+CSS+JS+fonts':>18} {'gzip':>8} "
          f"{'images':>8} {'total':>8}")
    for entry, r in result.items():
        n, raw, gz = boilerplate(r["totals"])
        img = r["totals"].get("image", [0, 0, 0])[1]
        print(f"{entry:28} {n:5d} {raw / mb:15.2f} MB {gz / mb:5.2f} MB "
              f"{img / mb:5.2f} MB {(raw + img) / mb:5.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
