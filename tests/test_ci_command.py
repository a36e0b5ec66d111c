"""CI runs the README's test command verbatim, so the two cannot drift apart."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_test_command() -> str:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("# 2. install with the test extras and run the test suite")
    return lines[start + 1].strip()


def test_ci_runs_the_readme_test_command_with_the_static_checks_first():
    command = readme_test_command()
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci_lines[-1].strip() == command
    checks = ["ruff check .", "ruff format --check .", "mypy", "lint-imports"]
    positions = [command.index(check) for check in checks]
    assert positions == sorted(positions) and positions[-1] < command.index("pytest")
