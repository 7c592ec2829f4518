#!/usr/bin/env python3
"""The newcomer's entry point: needs only Python 3.11+ and access to the package index.

    python3 run.py            the playground: the bot in a browser, no Telegram account needed
    python3 run.py run        the bot on Telegram (BOT_TOKEN in .env)
    python3 run.py test       run the whole test suite (pytest arguments may follow)
    python3 run.py migrate    any other `python -m bot` command, its options after it

It creates `.venv` on first use and installs the project into it again whenever `pyproject.toml`
changes, then hands over to the virtualenv's Python. The test suite drives a real browser: when
Chromium is missing it is installed with apt-get (as root), or one line says what to install.
"""

from __future__ import annotations

import hashlib
import os
import shutil
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


CHROMIUM_NAMES = ("chromium", "chromium-browser")
# Chromium, and a colour emoji font so the screenshots show emoji as a person sees them.
BROWSER_PACKAGES = ("chromium", "fonts-noto-color-emoji")


def find_chromium() -> str | None:
    configured = os.environ.get("CHROMIUM")
    if configured:
        return configured
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def ensure_chromium() -> str:
    """The browser the page tests drive (Playwright's own download is not used)."""
    found = find_chromium()
    if found:
        return found
    if os.name == "posix" and os.geteuid() == 0 and shutil.which("apt-get"):
        say("installing Chromium for the browser tests (apt-get install chromium)")
        quiet = {"stdout": subprocess.DEVNULL, "env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}}
        subprocess.run(["apt-get", "update", "-qq"], check=True, **quiet)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *BROWSER_PACKAGES], check=True, **quiet)
        found = find_chromium()
    if not found:
        raise SystemExit(
            "run.py: the browser tests need Chromium: install it (Debian/Ubuntu: sudo apt-get install chromium) "
            "or set CHROMIUM to its path"
        )
    return found


def main() -> int:
    args = sys.argv[1:] or ["playground"]
    try:
        ensure_environment()
    except subprocess.CalledProcessError as exc:
        say(f"installing failed (exit status {exc.returncode}); see pip's message above")
        return exc.returncode
    if args[0] == "test":
        try:
            os.environ["CHROMIUM"] = ensure_chromium()
        except subprocess.CalledProcessError as exc:
            say(f"installing Chromium failed (exit status {exc.returncode}); install it by hand: apt-get install chromium")
            return exc.returncode
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
