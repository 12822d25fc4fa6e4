"""Packaging: Python 3.10 compatibility, the CLI registry, the README's two commands."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("agent", "sensors", "planner", "controllers", "bench2drive_routes", "launch", "sim")


def _sources() -> list[Path]:
    return [p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")]


def test_sources_parse_as_python_310():
    for path in _sources():
        ast.parse(path.read_text(), filename=str(path), feature_version=(3, 10))


def _python310() -> str | None:
    for candidate in ("python3.10", str(Path.home() / ".pyenv/versions/3.10.13/bin/python3.10")):
        found = shutil.which(candidate)
        if found:
            probe = subprocess.run([found, "-c", "import sys; print(sys.version_info[:2])"],
                                   capture_output=True, text=True)
            if probe.returncode == 0 and "(3, 10)" in probe.stdout:
                return found
    return None


def test_sources_compile_under_a_real_python_310():
    python310 = _python310()
    if python310 is None:
        pytest.skip("no Python 3.10 interpreter on this machine")
    result = subprocess.run([python310, "-m", "compileall", "-q", *PACKAGES], cwd=REPO, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cli_lists_its_subcommands():
    result = subprocess.run([sys.executable, "-m", "launch.cli", "--help"], cwd=REPO, capture_output=True,
                            text=True, check=True)
    assert "smoke" in result.stdout


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    readme = (REPO / "README.md").read_text().splitlines()
    blocks = [line for line in readme[:30] if line.startswith("bash scripts/")]
    assert blocks[:2] == ["bash scripts/run.sh", "bash scripts/test.sh"]
    assert "bash scripts/test.sh" in (REPO / ".ci" / "run").read_text()


def test_config_command_checks_files(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("schedular: {}\n")
    result = subprocess.run([sys.executable, "-m", "launch.cli", "config", str(bad), "--check"], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 1 and "Did you mean 'scheduler'" in result.stdout


def test_shipped_default_config_matches_the_dataclass_defaults():
    from agent.automot_config import AgentConfig, load_agent_config

    assert load_agent_config(REPO / "configs" / "default.yaml") == AgentConfig()
