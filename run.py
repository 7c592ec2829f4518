#!/usr/bin/env python3
"""The newcomer's entry point: needs only Python 3.11+ and access to the package index.

    python3 run.py            start the bot (polls Telegram; settings from .env)
    python3 run.py test       run the whole test suite (pytest arguments may follow)
    python3 run.py migrate    any other `python -m bot` command

It creates `.venv` on first use and installs the project into it again whenever `pyproject.toml`
changes, then hands over to the virtualenv's Python.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed"


def say(message: str) -> None:
    print(f"run.py: {message}", file=sys.stderr, flush=True)


def ensure_environment() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"run.py: Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not PYTHON.exists():
        say(f"creating the virtual environment in {VENV.name}/")
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    say("installing the project and its dependencies (first run, or pyproject.toml changed)")
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[test]"],
        cwd=ROOT, check=True,
    )
    STAMP.write_text(wanted)


def main() -> int:
    args = sys.argv[1:] or ["run"]
    try:
        ensure_environment()
    except subprocess.CalledProcessError as exc:
        say(f"installing failed (exit status {exc.returncode}); see pip's message above")
        return exc.returncode
    if args[0] == "test":
        command = [str(PYTHON), "-m", "pytest", *args[1:]]
    else:
        command = [str(PYTHON), "-m", "bot", *args]
    os.chdir(ROOT)
    if os.name == "nt":
        return subprocess.call(command)
    os.execv(command[0], command)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
