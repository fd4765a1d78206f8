"""One switch for every link to the book's repository: `repository.url` in _config.yml.

Set it (for example to "https://github.com/<owner>/<repo>") and every page gets the
repository button, and every notebook page Binder and Colab launch buttons that open that
repository's copy of the notebook. Leave it empty (the default, while the book is not
published) and the pages carry no repository, issue, edit or launch link at all, so the
site links to no other host.

Jupyter Book 1 passes `repository.url` and `launch_buttons` on as the theme options
`repository_url` and `launch_buttons` (with `sphinx.recursive_update: true`, so the theme
options of `sphinx.config` do not replace them). This extension then decides the buttons
from the URL alone, at `config-inited`, before the theme reads its options.
"""
from __future__ import annotations

BINDER = "https://mybinder.org"
COLAB = "https://colab.research.google.com"
REPOSITORY_BUTTONS = ("use_repository_button",)
# Buttons that would need more than a URL (an issue tracker, edit rights): kept off.
OTHER_REPOSITORY_BUTTONS = ("use_issues_button", "use_edit_page_button", "use_source_button")
HOSTS = ("binderhub_url", "jupyterhub_url", "colab_url", "deepnote_url")


def repository_options(theme_options: dict) -> dict:
    """The theme options with the repository and launch buttons decided by the URL.

    Returns a new dict; `theme_options` is not changed. With a non-empty
    `repository_url` the repository button is on, and Binder (and, for a GitHub URL,
    Colab) launch buttons are on unless `launch_buttons` names other hosts. With an
    empty one every repository and launch button is off and no host is named.
    """
    options = dict(theme_options)
    launch = dict(options.get("launch_buttons") or {})
    url = str(options.get("repository_url") or "").strip().rstrip("/")
    options["repository_url"] = url
    if url:
        for key in REPOSITORY_BUTTONS:
            options[key] = True
        if not any(launch.get(key) for key in HOSTS):
            launch["binderhub_url"] = BINDER
            if url.startswith("https://github.com/"):
                launch["colab_url"] = COLAB
    else:
        for key in REPOSITORY_BUTTONS + OTHER_REPOSITORY_BUTTONS:
            options[key] = False
        for key in HOSTS:
            launch[key] = ""
        launch["thebe"] = False
    options["launch_buttons"] = launch
    return options


def _apply(app, config):
    config.html_theme_options = repository_options(config.html_theme_options or {})


def setup(app):
    app.connect("config-inited", _apply, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
