#!/usr/bin/env python3
"""Compile the lock files from pyproject.toml's ranges, with every file's sha256.

    python3 tools/update_lock.py             after editing pyproject.toml: keeps every pin still allowed
    python3 tools/update_lock.py --upgrade   the newest versions pyproject.toml allows

`requirements.lock` is what the bot runs (the Dockerfile installs it); `requirements-test.lock` is
the same pins plus the test extra (run.py installs it). Both are universal: one file serves
Python 3.11 to 3.13 on every platform, with environment markers where a version differs.
pip and the build backend are locked too, so `pip install --no-build-isolation` builds the project
with a hashed setuptools instead of fetching an unpinned one. Needs uv (`pip install uv`, or set UV).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_LOCK = "requirements.lock"
TEST_LOCK = "requirements-test.lock"
OLDEST_PYTHON = "3.11"


def uv_command() -> list[str]:
    configured = os.environ.get("UV")
    if configured:
        return [configured]
    found = shutil.which("uv")
    if found:
        return [found]
    sys.exit("update_lock.py: uv is needed: pip install uv (into any virtualenv), or set UV=/path/to/uv")


def compile_lock(uv: list[str], output: str, extra_args: list[str], tools: str) -> None:
    command = [
        *uv, "pip", "compile", "pyproject.toml", "-",
        "--universal", "--python-version", OLDEST_PYTHON, "--generate-hashes",
        "--custom-compile-command", "python3 tools/update_lock.py",
        "--output-file", output, "--quiet", *extra_args,
    ]
    # The tools come on standard input so that pyproject.toml stays the one source of versions.
    subprocess.run(command, input=tools, text=True, cwd=ROOT, check=True)


def main() -> int:
    upgrade = ["--upgrade"] if "--upgrade" in sys.argv[1:] else []
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    tools = "\n".join([*pyproject["build-system"]["requires"], "pip"]) + "\n"
    uv = uv_command()
    compile_lock(uv, RUNTIME_LOCK, upgrade, tools)
    # The test lock is held to the runtime pins, so the tests run exactly what is deployed.
    compile_lock(uv, TEST_LOCK, ["--extra", "test", "--constraint", RUNTIME_LOCK, *upgrade], tools)
    print(f"update_lock.py: wrote {RUNTIME_LOCK} and {TEST_LOCK}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
