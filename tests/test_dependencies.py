"""The lock files pin every dependency of pyproject.toml, with hashes, for Python 3.11-3.13 on Linux.

run.py installs requirements-test.lock and the Dockerfile requirements.lock, both with
`pip install --require-hashes`, so what a deploy runs is what the tests ran. After editing
pyproject.toml run `python3 tools/update_lock.py` (README, "Dependencies").
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from bot.config import PROJECT_ROOT

RUNTIME_LOCK = "requirements.lock"
TEST_LOCK = "requirements-test.lock"
SHA256 = re.compile(r"sha256:[0-9a-f]{64}")
SUPPORTED_PYTHONS = ("3.11", "3.12", "3.13")

# The first release that fixed each advisory; the lock may pin nothing older.
FIXED_IN = {
    # aiohttp comes in through aiogram (aiohttp<3.15): GHSA-2g87-pp6c-29x5 (unbounded memory and
    # CPU), GHSA-5wr8-gcqf-gqf3 (no server-side header timeout), GHSA-494j-54xm-rwp3 (Secure not
    # enforced for shared cookies), all fixed in 3.14.4; the CVE-2026-34513..34525 batch in 3.13.4.
    "aiohttp": "3.14.4",
    "pydantic-settings": "2.14.2",  # GHSA-4xgf-cpjx-pc3j
    "pip": "26.1",  # GHSA-58qw-9mgm-455v (run.py's and the image's pip come from the lock)
    "setuptools": "78.1.1",  # CVE-2025-47273: it builds the project in the image
    "idna": "3.7",  # CVE-2024-3651
    "certifi": "2024.7.4",  # CVE-2024-39689: GLOBALTRUST roots removed
}


@dataclass(frozen=True)
class Pin:
    name: str
    version: Version
    marker: Marker | None
    hashes: tuple[str, ...]

    def applies(self, python: str) -> bool:
        return self.marker is None or self.marker.evaluate(linux(python))


def linux(python: str) -> dict[str, str]:
    return {
        "python_version": python, "python_full_version": f"{python}.0", "sys_platform": "linux",
        "platform_system": "Linux", "os_name": "posix", "platform_machine": "x86_64",
        "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": "",
    }


def read_lock(name: str) -> dict[str, list[Pin]]:
    text = (PROJECT_ROOT / name).read_text(encoding="utf-8")
    pins: dict[str, list[Pin]] = {}
    for line in text.replace("\\\n", " ").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        requirement_text, *hashes = line.split("--hash=")
        requirement = Requirement(requirement_text.strip())
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", f"{name}: not pinned: {line[:80]}"
        pin = Pin(
            canonicalize_name(requirement.name), Version(specifiers[0].version), requirement.marker,
            tuple(h.strip() for h in hashes),
        )
        pins.setdefault(pin.name, []).append(pin)
    return pins


def pyproject() -> dict:
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def wanted(lock: str) -> list[Requirement]:
    """What pyproject.toml asks of a lock: the runtime dependencies, the build backend and pip,
    and for the test lock the test extra as well."""
    project = pyproject()
    names = [*project["project"]["dependencies"], *project["build-system"]["requires"], "pip"]
    if lock == TEST_LOCK:
        names += project["project"]["optional-dependencies"]["test"]
    return [Requirement(n) for n in names]


CASES = [(lock, str(r)) for lock in (RUNTIME_LOCK, TEST_LOCK) for r in wanted(lock)]


@pytest.mark.parametrize(("lock", "requirement"), CASES)
def test_every_dependency_of_pyproject_is_pinned_in_range_with_hashes(lock, requirement):
    requirement = Requirement(requirement)
    pins = read_lock(lock).get(canonicalize_name(requirement.name))
    assert pins, f"{requirement.name} is not in {lock}: run python3 tools/update_lock.py"
    for pin in pins:
        assert pin.hashes and all(SHA256.fullmatch(h) for h in pin.hashes), f"{lock}: {pin.name} has no sha256"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"{lock} pins {pin.name}=={pin.version}, outside pyproject's {requirement.specifier}: "
            "run python3 tools/update_lock.py"
        )
    for python in SUPPORTED_PYTHONS:
        if requirement.marker is None or requirement.marker.evaluate(linux(python)):
            chosen = [pin.version for pin in pins if pin.applies(python)]
            assert len(chosen) == 1, f"{lock}: {requirement.name} on Linux, Python {python}: {chosen}"


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, TEST_LOCK])
def test_every_pin_of_a_lock_has_a_hash_and_one_version_per_python(lock):
    for name, pins in read_lock(lock).items():
        for pin in pins:
            assert pin.hashes and all(SHA256.fullmatch(h) for h in pin.hashes), f"{lock}: {name}"
        for python in SUPPORTED_PYTHONS:
            assert sum(pin.applies(python) for pin in pins) <= 1, f"{lock}: {name} twice on {python}"


def test_the_tests_run_exactly_the_runtime_pins():
    runtime, test = read_lock(RUNTIME_LOCK), read_lock(TEST_LOCK)
    for name, pins in runtime.items():
        assert test.get(name) == pins, f"{name}: {TEST_LOCK} differs from {RUNTIME_LOCK}"


@pytest.mark.parametrize(("name", "fixed_in"), sorted(FIXED_IN.items()))
def test_no_pin_is_older_than_the_fix_of_a_published_advisory(name, fixed_in):
    pins = read_lock(TEST_LOCK)[name]
    for pin in pins:
        assert pin.version >= Version(fixed_in), f"{name}=={pin.version} is vulnerable; fixed in {fixed_in}"


def test_aiogram_objects_are_built_with_one_post_init_and_keep_their_bot():
    """bot/telegram/bot_context.py: should an upgrade of aiogram or pydantic change the shape it
    relies on, it would silently stop applying (the bot still works, slower): this says so."""
    import inspect

    import orjson
    from aiogram import Bot
    from aiogram.client.context_controller import BotContextController
    from aiogram.types import Message, Update

    from bot.telegram import bot_context

    bot_context.flatten()
    assert bot_context.flatten() == 0, "every class it applies to was flattened the first time"
    bot = Bot("123:abc")
    update = Update.model_validate_json(orjson.dumps({
        "update_id": 1, "callback_query": {
            "id": "7", "from": {"id": 42, "is_bot": False, "first_name": "A"}, "chat_instance": "1", "data": "x",
            "message": {"message_id": 5, "date": 1, "chat": {"id": 42, "type": "private"}, "text": "hi",
                        "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "x"}]]}},
        },
    }), context={"bot": bot})
    press = update.callback_query
    button = press.message.reply_markup.inline_keyboard[0][0]
    assert press.bot is bot and press.message.bot is bot and press.from_user.bot is bot and button.bot is bot
    assert press.message.model_copy().bot is bot
    assert Message(message_id=1, date=1, chat={"id": 1, "type": "private"}).bot is None  # built without one
    for cls in (Update, Message, type(button)):
        assert cls.model_post_init is bot_context._keep_bot, cls
        assert inspect.unwrap(BotContextController.model_post_init) is bot_context._ORIGINAL
