"""One registry of studies, one command line, one versioned JSON format."""

import importlib
import json
import os
import pkgutil
from pathlib import Path

import pytest

import dropout_lib.experiments as experiments
from dropout_lib.experiments import registry

ROOT = Path(__file__).resolve().parents[2]


def test_every_module_with_a_study_is_registered():
    names = {s.module.__name__ for s in registry.studies().values()}
    for info in pkgutil.iter_modules(experiments.__path__):
        if info.name == "__main__":  # the command line itself
            continue
        mod = importlib.import_module(f"dropout_lib.experiments.{info.name}")
        if hasattr(mod, "run_study"):
            assert mod.__name__ in names, f"{info.name} is not registered"
            assert not hasattr(mod, "main"), (
                f"{info.name} has its own command line; use the registry's")


def test_there_is_one_command_line():
    assert not list(ROOT.glob("dropout_lib/experiments/_cli.py"))
    for path in (ROOT / "dropout_lib" / "experiments").glob("*.py"):
        if path.name not in ("__main__.py",):
            assert '__name__ == "__main__"' not in path.read_text(), path.name


@pytest.mark.parametrize("name", sorted(registry.studies()))
def test_every_saved_study_records_its_splits_and_provenance(name, monkeypatch):
    monkeypatch.chdir(ROOT)
    res = registry.load(name)
    assert res["study"] == name
    assert res["scale"] == "full"
    for key in ("library", "numpy", "numeric_env", "seeds", "split_seeds",
                "config"):
        assert key in res, f"{name}: no {key!r}"
    assert len(res["split_seeds"]) >= 1
    for cname, rec in res.get("comparisons", {}).items():
        assert rec["name"] == cname
        assert len(rec["effects"]) >= 3, f"{name}:{cname} rests on one split"
        assert len(rec["effects"]) == len(res["split_seeds"]) or \
            rec["dataset"] != "digits"


def test_load_refuses_another_format(tmp_path):
    name = next(iter(registry.studies()))
    bad = tmp_path / "old.json"
    bad.write_text(json.dumps({"format": -1}))
    with pytest.raises(ValueError, match="re-run python -m dropout_lib"):
        registry.load(name, bad)
    with pytest.raises(ValueError, match="name must be one of"):
        registry.load("no-such-study")


def test_list_names_every_study(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert registry.main(["list"]) == 0
    out = capsys.readouterr().out
    for name, st in registry.studies().items():
        line = next(ln for ln in out.splitlines() if ln.startswith(name + " "))
        assert str(st.cache_file) in line and "not run" not in line


def test_run_refuses_small_into_the_books_file_and_unknown_names(capsys):
    name = next(iter(registry.studies()))
    with pytest.raises(SystemExit):
        registry.main(["run", name, "--scale", "small"])
    assert "needs --out" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        registry.main(["run", "no-such-study", "--scale", "small",
                       "--out", os.devnull])
    assert "name must be one of" in capsys.readouterr().err


def test_envelope_fields():
    name = next(iter(registry.studies()))
    env = registry.envelope(name, "small", split_seeds=[0, 1, 2],
                            seeds=range(5), config={"epochs": 3})
    assert env["study"] == name and env["split_seeds"] == [0, 1, 2]
    assert env["seeds"] == [0, 1, 2, 3, 4]
    assert env["format"] == registry.studies()[name].format
    assert env["rerun"].endswith(f"run {name} --scale small")
