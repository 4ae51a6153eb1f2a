"""scripts/setup-venv installs only when pyproject.toml, the Python version or the extras changed (issue 16:
every `scripts/run` reinstalled the package, 26 s), and says what it does on a first run.

The script runs for real in a copy of the repository's layout, with a stand-in Python that records each pip
run instead of installing, so the decision is tested in a fraction of a second.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FAKE_PYTHON = """#!/usr/bin/env bash
# A stand-in for python: makes a venv (a copy of itself), answers the version, records pip runs.
if [[ "$1 $2" == "-m venv" ]]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; exit 0; fi
if [[ "$1" == "-c" ]]; then echo "${FAKE_PYTHON_VERSION:-3.11.7}"; exit 0; fi
if [[ "$1 $2" == "-m compileall" ]]; then echo "$*" >>"$(dirname "$0")/../compile-runs"; exit 0; fi
echo "$*" >>"$(dirname "$0")/../pip-runs"
[[ -z "${FAKE_PIP_FAILS:-}" ]]
"""


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "tellonce"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "setup-venv", root / "scripts" / "setup-venv")
    (root / "pyproject.toml").write_text('[project]\nname = "tellonce"\ndependencies = ["fastapi>=0.110"]\n')
    python = tmp_path / "python3"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    return root


def _setup(root: Path, *extras: str, **env: str) -> tuple[int, str]:
    done = subprocess.run(
        [str(root / "scripts" / "setup-venv"), *extras],
        env={**os.environ, "PYTHON": str(root.parent / "python3"), **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr


def _pip_runs(root: Path) -> list[str]:
    runs = root / ".venv" / "pip-runs"
    return runs.read_text().splitlines() if runs.exists() else []


def test_installs_on_the_first_run_saying_so_then_only_when_something_changed(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    status, said = _setup(root)
    assert status == 0 and "Setting up TellOnce (first run: installing packages" in said
    assert _pip_runs(root) == ["-m pip install --disable-pip-version-check --no-compile -e ."]
    assert "-q" not in _pip_runs(root)[0].split(), "pip's progress shows"
    # pip compiles one file at a time; what it installed is compiled after it, on every core
    assert (root / ".venv" / "compile-runs").read_text().splitlines() == ["-m compileall -q -j 0 .venv/lib"]

    assert _setup(root) == (0, ""), "a warm start installs nothing and says nothing"
    assert len(_pip_runs(root)) == 1

    with (root / "pyproject.toml").open("a") as pyproject:
        pyproject.write('optional-dependencies = {test = ["pytest>=8"]}\n')
    status, said = _setup(root)
    assert status == 0 and "pyproject.toml or Python changed" in said and len(_pip_runs(root)) == 2
    assert _setup(root) == (0, "")

    _setup(root, FAKE_PYTHON_VERSION="3.11.9")  # a new Python under the same venv
    assert len(_pip_runs(root)) == 3


def test_each_set_of_extras_has_its_own_stamp(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    _setup(root)
    status, said = _setup(root, "test")  # scripts/test after scripts/run: the test extra is still installed
    assert status == 0 and "Installing TellOnce's packages (with: test)" in said
    assert _pip_runs(root)[-1].endswith("-e .[test]") and len(_pip_runs(root)) == 2
    assert _setup(root, "test") == (0, "") and _setup(root) == (0, "")
    assert len(_pip_runs(root)) == 2


def test_an_interrupted_install_is_tried_again(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    status, _said = _setup(root, FAKE_PIP_FAILS="1")
    assert status != 0
    status, _said = _setup(root)
    assert status == 0 and len(_pip_runs(root)) == 2
    assert _setup(root) == (0, "")
