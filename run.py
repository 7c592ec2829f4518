#!/usr/bin/env python3
"""The newcomer's entry point: needs only Python 3.11+ and access to the package index.

    python3 run.py            the playground: the bot in a browser, no Telegram account needed
    python3 run.py run        the bot on Telegram (BOT_TOKEN in .env)
    python3 run.py test       run the whole test suite (pytest arguments may follow)
    python3 run.py migrate    any other `python -m bot` command, its options after it

It creates `.venv` on first use and installs into it exactly the versions of
`requirements-test.lock`, each file checked against its sha256 (`pip install --require-hashes`),
then the project itself; again whenever the lock or `pyproject.toml` changes. Then it hands over
to the virtualenv's Python. The test suite drives a real browser: when Chromium is missing it is
installed with apt-get (as root), or one line says what to install.
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
# The runtime pins plus the test extra, with hashes; written by tools/update_lock.py.
LOCK = "requirements-test.lock"
INSTALL_INPUTS = (LOCK, "pyproject.toml")


def say(message: str) -> None:
    print(f"run.py: {message}", file=sys.stderr, flush=True)


def ensure_environment() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"run.py: Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256()
    for name in INSTALL_INPUTS:
        wanted.update(hashlib.sha256((ROOT / name).read_bytes()).digest())
    if not PYTHON.exists():
        say(f"creating the virtual environment in {VENV.name}/")
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text().strip() == wanted.hexdigest():
        return
    say(f"installing the locked dependencies (first run, or {LOCK} or pyproject.toml changed)")
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--require-hashes", "-r", LOCK], cwd=ROOT, check=True)
    # Everything is installed by now: the project adds no dependency, and it is built with the
    # locked setuptools rather than one fetched unpinned into an isolated build environment.
    subprocess.run([*pip, "--no-deps", "--no-build-isolation", "-e", "."], cwd=ROOT, check=True)
    STAMP.write_text(wanted.hexdigest())


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
