"""The two ways to install (pip and conda) must ask for the same things, and the README's commands must be
the ones CI runs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(spec: str) -> str:
    return re.split(r"[<>=!~ \[]", spec, maxsplit=1)[0].lower()


def test_environment_yml_equals_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d): d for d in env["dependencies"] if isinstance(d, str)}
    pip = {_name(d): d for d in project["dependencies"]}
    renamed = {"torch": "pytorch"}  # conda-forge's name for the same package
    for name, spec in pip.items():
        conda_name = renamed.get(name, name)
        assert conda_name in conda, f"{name} is in pyproject.toml but not in environment.yml"
        assert spec[len(name):] == conda[conda_name][len(conda_name):], f"{name}: versions differ"
    assert set(conda) - {renamed.get(n, n) for n in pip} == {"python", "pip"}
    assert any('-e ".[test]"' in d for d in env["dependencies"][-1]["pip"])


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"## Test\s+```bash\n(.+?)\n```", readme).group(1)
    install, test = [part.strip() for part in command.split("&&")]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert any(line.replace("--quiet ", "").strip().endswith(install.removeprefix("pip ")) for line in ci), install
    assert test in [line.strip() for line in ci]


def test_wheel_ships_subpackages_and_weights(tmp_path):
    """A non-editable install must carry srkit.models, the registry and the shipped weights."""
    import subprocess
    import sys
    import zipfile

    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True)
    names = zipfile.ZipFile(next(tmp_path.glob("srkit-*.whl"))).namelist()
    for want in ["srkit/models/espcn.py", "srkit/registry.tsv", "srkit/weights/sparse_x3.safetensors",
                 "srkit/weights/sparse_x3.json"]:
        assert want in names, f"{want} missing from the wheel"
