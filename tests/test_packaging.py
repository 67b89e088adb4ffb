"""The project runs wherever its users start it: a fresh machine (`make test` installs Chromium), a
folder with no PYTHONPATH, a downloaded notebook, Colab, Binder, the bare command line."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tools import gpu_check, student_notebooks

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("*.ipynb"))


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _first_code_cells(chapter: str, n: int) -> list[dict]:
    nb = json.loads((ROOT / "chapters" / f"{chapter}.ipynb").read_text())
    return [c for c in nb["cells"] if c["cell_type"] == "code"][:n]


def _pins(text: str) -> dict[str, str]:
    """name -> the whole requirement line, for every requirement of a requirements file's lines."""
    pins = {}
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            pins[re.split(r"[=<>!~ ]", line)[0].lower()] = line
    return pins


# -- the install cell: every chapter's first code cell --------------------------------------------

@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_first_code_cell_is_the_install_cell(chapter):
    first = _first_code_cells(chapter, 1)[0]
    assert student_notebooks.INSTALL_TAG in first["metadata"].get("tags", [])
    assert _source(first) == student_notebooks.install_cell_source(*student_notebooks.repository())


def test_chapters_and_student_versions_are_up_to_date():
    assert [str(p.relative_to(ROOT)) for p in student_notebooks.stale()] == [], "run `make student` and commit"


def _run_install_cell(monkeypatch, hide_cnnbook: bool) -> list:
    calls = []
    monkeypatch.setattr(subprocess, "check_call", lambda args, **kw: calls.append(args))
    if hide_cnnbook:
        real = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "cnnbook" else real(name, *a))
    exec(_source(_first_code_cells(CHAPTERS[0], 1)[0]), {})
    return calls


def test_the_install_cell_does_nothing_where_the_package_is_installed(monkeypatch, capsys):
    assert _run_install_cell(monkeypatch, hide_cnnbook=False) == []
    assert capsys.readouterr().out == ""


def test_the_install_cell_installs_the_package_from_the_repository_and_says_so(monkeypatch, capsys):
    url, branch = student_notebooks.repository()
    calls = _run_install_cell(monkeypatch, hide_cnnbook=True)
    assert calls == [[sys.executable, "-m", "pip", "install", "--quiet", f"cnn-course-book @ git+{url}@{branch}"]]
    said = capsys.readouterr().out.strip().splitlines()
    assert len(said) == 1 and url in said[0]
    # the package name it installs is the project's, and the URL is _config.yml's
    project = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    assert url == project.rstrip("/")
    assert 'name = "cnn-course-book"' in (ROOT / "pyproject.toml").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_a_chapters_first_cells_run_in_an_empty_folder_without_pythonpath(chapter, tmp_path):
    # the install cell and the setup cell, as a student's own Jupyter runs them: any folder, no PYTHONPATH
    code = "\n".join(_source(c) for c in _first_code_cells(chapter, 2) if not _source(c).startswith("%"))
    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith("%"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["MPLBACKEND"] = "Agg"
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Installing" not in result.stdout  # the package is installed: nothing to do


# -- Binder and the package -------------------------------------------------------------------------

def test_binder_uses_the_same_pins_as_requirements_with_a_cpu_torch():
    required = _pins((ROOT / "requirements.txt").read_text())
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    binder = _pins("\n".join(pip))
    assert set(binder) == set(required)
    for name, line in required.items():
        expected = f"{line}+cpu" if name == "torch" else line
        assert binder[name] == expected, name
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in pip  # no CUDA build on Binder
    post_build = (ROOT / "postBuild").read_text()
    assert "pip install --no-deps -e ." in post_build and os.access(ROOT / "postBuild", os.X_OK)


def test_the_package_holds_what_the_notebooks_import():
    project = (ROOT / "pyproject.toml").read_text()
    assert 'packages = ["cnnbook", "cnnbook.widgets", "solutions"]' in project
    assert '"cnnbook.widgets" = ["*.js", "*.css"]' in project


@pytest.mark.slow
def test_the_package_builds_a_wheel_with_the_widgets_javascript(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                             "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    import zipfile

    names = zipfile.ZipFile(next(tmp_path.glob("*.whl"))).namelist()
    assert "cnnbook/widgets/playground.js" in names and "solutions/__init__.py" in names
    assert not any(n.startswith(("autograder/", "tests/", "chapters/")) for n in names)


# -- the command line, with nothing but the venv's interpreter ----------------------------------------

@pytest.mark.slow
def test_release_works_with_a_bare_path(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    result = subprocess.run([sys.executable, "-m", "autograder", "release", "--out", str(tmp_path / "rel"),
                             "03_conv1d"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-1000:] + result.stderr[-2000:]
    assert (tmp_path / "rel" / "03_conv1d" / "03_conv1d.ipynb").exists()


def test_the_grader_finds_its_own_tools_on_path(monkeypatch):
    from autograder import use_own_tools

    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    use_own_tools()
    assert os.environ["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable)
    use_own_tools()  # idempotent
    assert os.environ["PATH"].count(os.path.dirname(sys.executable)) == 1


# -- Chromium for the browser tests ------------------------------------------------------------------

def _fake_bin(tmp_path: Path, **scripts: str) -> dict:
    folder = tmp_path / "bin"
    folder.mkdir()
    for name, body in scripts.items():
        path = folder / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    return {"PATH": f"{folder}:/usr/bin:/bin", "HOME": str(tmp_path)}


def test_chromium_setup_does_nothing_when_chromium_is_there(tmp_path):
    env = dict(_fake_bin(tmp_path), CNNBOOK_CHROMIUM="/bin/sh")
    result = subprocess.run([ROOT / "tools" / "ensure_chromium"], env=env, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout == ""


MISSING = "/nonexistent/chromium"  # the binary the script is asked for: not there yet


def test_chromium_setup_says_what_to_run_without_root_or_sudo(tmp_path):
    env = _fake_bin(tmp_path, id="echo 1000", sudo="exit 1", **{"apt-get": "echo apt-get was called; exit 9"})
    result = subprocess.run([ROOT / "tools" / "ensure_chromium", MISSING], env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert "sudo apt-get update && sudo apt-get install -y -qq --no-install-recommends chromium" in result.stderr
    assert "apt-get was called" not in result.stdout


SUDO = '[ "$1" = -n ] && shift; exec "$@"'  # a sudo that needs no password


@pytest.mark.parametrize("uid, sudo", [("0", "exit 1"), ("1000", SUDO)], ids=["root", "sudo"])
def test_chromium_setup_installs_it_from_debian(tmp_path, uid, sudo):
    env = _fake_bin(tmp_path, id=f"echo {uid}", sudo=sudo, **{"apt-get": f'echo "$@" >> {tmp_path}/apt.log'})
    result = subprocess.run([ROOT / "tools" / "ensure_chromium", MISSING], env=env, capture_output=True, text=True)
    log = (tmp_path / "apt.log").read_text().splitlines()
    assert log == ["update -qq", "install -y -qq --no-install-recommends chromium"]
    assert result.returncode == 1 and "still missing" in result.stderr  # the fake apt-get installed nothing


def test_chromium_setup_refuses_a_wrong_cnnbook_chromium(tmp_path):
    env = dict(_fake_bin(tmp_path), CNNBOOK_CHROMIUM=MISSING)
    result = subprocess.run([ROOT / "tools" / "ensure_chromium"], env=env, capture_output=True, text=True)
    assert result.returncode == 1 and "not an executable file" in result.stderr


# -- the GPU check ---------------------------------------------------------------------------------

def test_gpu_check_says_when_there_is_no_gpu(capsys):
    if gpu_check.torch.cuda.is_available():
        pytest.skip("there is a GPU here: `make gpu-check` checks it")
    assert gpu_check.main([]) == 2
    assert "No CUDA device" in capsys.readouterr().out


@pytest.mark.slow
def test_gpu_check_runs_its_comparisons_on_the_cpu(capsys):
    assert gpu_check.main(["--device", "cpu", "--quick", "--skip-tests", "--skip-chapters"]) == 0
    out = capsys.readouterr().out
    assert "Conv2dFunction (hand-written backward)" in out and "gpu-check: all good" in out
