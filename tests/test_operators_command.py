"""`python -m bot operators`: a coordinator adds, lists and removes front-office operators from the
command line; ADMIN_IDS are coordinators from the start; a mistake is one clear line."""

from __future__ import annotations

import pytest
from tests.support.bot import run_bot


@pytest.fixture
def operators(tmp_path, database_url):
    def run(*args: str, **env: str):
        return run_bot(tmp_path, "operators", *args, DATABASE_URL=database_url.replace("+asyncpg", ""), **env)

    return run


def rows(result) -> list[list[str]]:
    assert result.returncode == 0, result.stderr
    return [line.split("\t") for line in result.stdout.splitlines()]


def test_a_coordinator_adds_lists_moves_and_removes_operators(operators):
    assert operators("list").stdout.strip() == "no operators yet: add one with `python -m bot operators add`"

    added = operators("add", "--telegram-id", "5001", "--name", "Асель  Нұрланқызы", "--region", "Almaty")
    assert rows(added) == [["added: 5001", "almaty", "operator", "on duty", "Асель Нұрланқызы"]]
    operators("add", "--telegram-id", "5002", "--name", "Marat", "--region", "national", "--role", "coordinator")
    assert rows(operators("list")) == [
        ["5001", "almaty", "operator", "on duty", "Асель Нұрланқызы"],
        ["5002", "national", "coordinator", "on duty", "Marat"],
    ]

    # An active operator is not added twice; removing keeps the record, inactive.
    again = operators("add", "--telegram-id", "5001", "--name", "Asel", "--region", "akmola")
    assert again.returncode == 2
    assert again.stderr.strip() == "Cannot add the operator: 5001 is already an active operator; remove or move them instead"
    assert rows(operators("remove", "--telegram-id", "5001")) == [["removed: 5001", "almaty", "operator", "removed", "Асель Нұрланқызы"]]
    assert [row[0] for row in rows(operators("list"))] == ["5002"]
    assert rows(operators("list", "--all"))[0] == ["5001", "almaty", "operator", "removed", "Асель Нұрланқызы"]

    # Added again: back, in the front-office given now.
    assert rows(operators("add", "--telegram-id", "5001", "--name", "Asel", "--region", "akmola"))[0][1] == "akmola"


MISTAKES = [
    (["add", "--telegram-id", "7", "--name", "X", "--region", "mars"],
     "Cannot add the operator: unknown front-office 'mars'; one of: astana almaty shymkent abai akmola"),
    (["add", "--telegram-id", "7", "--name", "   ", "--region", "astana"],
     "Cannot add the operator: a name of 1 to 64 characters is needed"),
    (["add", "--telegram-id", "7", "--name", "x" * 65, "--region", "astana"],
     "Cannot add the operator: a name of 1 to 64 characters is needed"),
    (["add", "--telegram-id", "-7", "--name", "X", "--region", "astana"],
     "Cannot add the operator: a Telegram id is a positive number"),
    (["remove", "--telegram-id", "404"], "Cannot remove the operator: 404 is not an active operator"),
]


def test_a_mistake_is_one_clear_line_and_changes_nothing(operators):
    for args, line in MISTAKES:
        result = operators(*args)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().startswith(line), result.stderr
    assert operators("list", "--all").stdout.strip().startswith("no operators yet")


def test_admin_ids_are_coordinators_from_the_start(operators):
    listed = rows(operators("list", ADMIN_IDS="424242,77"))
    assert listed == [
        ["424242", "national", "coordinator", "on duty", "Coordinator 424242"],
        ["77", "national", "coordinator", "on duty", "Coordinator 77"],
    ]
