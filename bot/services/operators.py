"""The people who answer escalated requests: operators of the front-offices, and coordinators.
Knows nothing of Telegram.

An operator belongs to one office: a region's front-office or the national one (`national`).
Coordinators manage operators; those named in ADMIN_IDS exist from the bot's start. Removing an
operator deactivates them: the tickets they answered keep their name.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Interval, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import SUPPORTED_LANGUAGES
from bot.db.driver import Statement
from bot.db.models import Operator as OperatorRow
from bot.db.models import is_row_id
from bot.db.models import OperatorInvite
from bot.services import access
from bot.services.access import Act, Denied, Refusal, Scope
from bot.services.directory import NATIONAL, Directory
from bot.services.personal_data import Action, audit
from bot.services.staff import COLUMNS, Operator, Role

MAX_NAME_LENGTH = 64


class OperatorError(ValueError):
    """A request about operators that cannot be carried out; the message says why, for a person."""


_operators = OperatorRow.__table__

_new = insert(_operators).values(
    telegram_id=bindparam("telegram_id"), name=bindparam("name"), office=bindparam("office"), role=bindparam("role"),
    language=bindparam("language"),
)
# Adding someone who was removed brings them back, in the office and role given now.
_ADD = _new.on_conflict_do_update(
    index_elements=[_operators.c.telegram_id],
    set_={"name": _new.excluded.name, "office": _new.excluded.office, "role": _new.excluded.role,
          "language": _new.excluded.language, "active": True},
    where=_operators.c.active.is_(False),
).returning(*COLUMNS)
_ENSURE_COORDINATOR = _new.on_conflict_do_update(
    index_elements=[_operators.c.telegram_id],
    set_={"role": Role.COORDINATOR.value, "active": True},
).returning(*COLUMNS)
_DEACTIVATE = (
    update(_operators).where(_operators.c.telegram_id == bindparam("operator_id"), _operators.c.active)
    .values(active=False, on_duty=False).returning(*COLUMNS)
)
_BY_ID = select(*COLUMNS).where(_operators.c.telegram_id == bindparam("telegram_id"))
_BY_ID_LOCKED = _BY_ID.with_for_update()
# Read for every card a request's path sends: on the transaction's own connection (`bot/db/driver.py`).
_BY_ID_ON_DRIVER = Statement(_BY_ID)
_BY_ID_LOCKED_ON_DRIVER = Statement(_BY_ID_LOCKED)
_MOVE = (
    update(_operators).where(_operators.c.telegram_id == bindparam("operator_id"), _operators.c.active)
    .values(office=bindparam("office")).returning(*COLUMNS)
)
_TOGGLE_DUTY = (
    update(_operators).where(_operators.c.telegram_id == bindparam("operator_id"), _operators.c.active)
    .values(on_duty=~_operators.c.on_duty).returning(*COLUMNS)
)


# Telegram refuses to deliver to them: taken off duty, once (a second refusal finds them off duty).
_OFF_DUTY_UNREACHABLE = (
    update(_operators)
    .where(_operators.c.telegram_id == bindparam("operator_id"), _operators.c.active, _operators.c.on_duty)
    .values(on_duty=False).returning(*COLUMNS)
)
# Who hears that a colleague is unreachable: the coordinators of their office, and the national
# ones (who answer for every office, and are the only ones where an office has no coordinator).
_COORDINATORS_OF = (
    select(_operators.c.telegram_id)
    .where(_operators.c.active, _operators.c.role == Role.COORDINATOR.value,
           _operators.c.office.in_([bindparam("office"), NATIONAL]),
           _operators.c.telegram_id != bindparam("operator_id"))
    .order_by(_operators.c.telegram_id)
)


def _check_office(directory: Directory, office: str) -> str:
    office = office.strip().lower()
    if directory.get(office) is None:
        slugs = " ".join([*(o.slug for o in directory.regions), NATIONAL])
        raise OperatorError(f"unknown front-office {office!r}; one of: {slugs}")
    return office


def _check_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise OperatorError(f"a name of 1 to {MAX_NAME_LENGTH} characters is needed")
    return name


async def add_operator(
    session: AsyncSession, directory: Directory, telegram_id: int, name: str, office: str, role: Role = Role.OPERATOR,
    language: str = "kk",
) -> Operator:
    """A new operator (or a removed one back); an active one is refused, to be moved instead.
    `language` is that of their cards while they have no citizen record (whose language wins)."""
    if telegram_id <= 0:
        raise OperatorError("a Telegram id is a positive number")
    if language not in SUPPORTED_LANGUAGES:
        raise OperatorError(f"the language is one of {', '.join(SUPPORTED_LANGUAGES)}")
    params = {"telegram_id": telegram_id, "name": _check_name(name), "office": _check_office(directory, office),
              "role": Role(role).value, "language": language}
    row = (await session.execute(_ADD, params)).mappings().first()
    if row is None:
        raise OperatorError(f"{telegram_id} is already an active operator; remove or move them instead")
    return Operator.from_row(row)


async def _change_active(session: AsyncSession, statement: Any, telegram_id: int, **values: Any) -> Operator:
    """Run one of the updates that apply to an active operator only; refused for anyone else."""
    row = (await session.execute(statement, {"operator_id": telegram_id, **values})).mappings().first()
    if row is None:
        raise OperatorError(f"{telegram_id} is not an active operator")
    return Operator.from_row(row)


# Who did it, in the audit log: a coordinator in the bot, or whoever runs `python -m bot operators`
# on the server (`by` None: they hold the database already).
COMMAND_LINE = "command line"
TELEGRAM = "Telegram"  # the bot itself, on what Telegram answered


async def _record(session: AsyncSession, by: Operator | None, action: str, subject: dict[str, Any]) -> None:
    await audit(
        session, action, subject, actor_id=by.telegram_id if by else None, actor=by.name if by else COMMAND_LINE
    )


async def _target(session: AsyncSession, by: Operator, act: Act, telegram_id: int) -> Operator:
    """The active operator `by` wants to change, locked, if `by` may: a regional coordinator only
    their own office's operators, and no coordinator."""
    target = await get_operator(session, telegram_id, lock=True)
    if target is None or not target.active:
        await access.current(session, by, act)  # a removed coordinator learns that first
        raise OperatorError(f"{telegram_id} is not an active operator")
    await access.require(session, by, act, (target.office,))
    if target.role is Role.COORDINATOR and access.scope(by, act) is not Scope.ALL:
        raise Denied(act, Refusal.NOT_ALLOWED)
    return target


async def add_from_command_line(
    session: AsyncSession, directory: Directory, telegram_id: int, name: str, office: str, role: Role = Role.OPERATOR,
    language: str = "kk",
) -> Operator:
    added = await add_operator(session, directory, telegram_id, name, office, role, language)
    await _record(session, None, Action.OPERATOR_ADDED, {"operator": telegram_id, "office": added.office, "role": added.role.value})
    return added


async def remove_operator(session: AsyncSession, telegram_id: int, by: Operator | None = None) -> Operator:
    if by is not None:
        await _target(session, by, Act.REMOVE_OPERATOR, telegram_id)
    removed = await _change_active(session, _DEACTIVATE, telegram_id)
    await _record(session, by, Action.OPERATOR_REMOVED, {"operator": telegram_id, "office": removed.office})
    return removed


async def move_operator(
    session: AsyncSession, directory: Directory, telegram_id: int, office: str, by: Operator | None = None
) -> Operator:
    """An active operator now belongs to `office` (national coordinators only, in the bot)."""
    office = _check_office(directory, office)
    if by is not None:
        await _target(session, by, Act.MOVE_OPERATOR, telegram_id)
    moved = await _change_active(session, _MOVE, telegram_id, office=office)
    await _record(session, by, Action.OPERATOR_MOVED, {"operator": telegram_id, "office": office})
    return moved


async def toggle_duty(session: AsyncSession, operator: Operator) -> Operator:
    """On duty (new requests of the office reach them) becomes off duty, and back; for staff still
    active in the office they arrived with (access.Denied otherwise)."""
    await access.require(session, operator, Act.DUTY)
    return await _change_active(session, _TOGGLE_DUTY, operator.telegram_id)


async def unreachable(session: AsyncSession, telegram_id: int) -> tuple[Operator, list[int]] | None:
    """Telegram refused a message to this person because they never opened the bot or blocked it.
    A staff member on duty is taken off duty, so that new requests go to colleagues who can read
    them; returns them and the coordinators to tell (they can go on duty again once they open the
    bot). None for anyone else, or someone already off duty (told before, or nothing changes)."""
    if not is_row_id(telegram_id):
        return None
    row = (await session.execute(_OFF_DUTY_UNREACHABLE, {"operator_id": telegram_id})).mappings().first()
    if row is None:
        return None
    operator = Operator.from_row(row)
    await audit(session, Action.OPERATOR_UNREACHABLE, {"operator": telegram_id, "office": operator.office}, actor=TELEGRAM)
    tell = (await session.execute(_COORDINATORS_OF, {"office": operator.office, "operator_id": telegram_id})).scalars()
    return operator, list(tell)


async def get_operator(session: AsyncSession, telegram_id: int, *, lock: bool = False) -> Operator | None:
    if not is_row_id(telegram_id):
        return None
    row = await (_BY_ID_LOCKED_ON_DRIVER if lock else _BY_ID_ON_DRIVER).fetchrow(session, {"telegram_id": telegram_id})
    return Operator.from_row(row) if row else None


async def list_operators(
    session: AsyncSession, *, include_removed: bool = False, by: Operator | None = None
) -> list[Operator]:
    """Every office's operators (the command line, a national coordinator), or only `by`'s own
    office's for a regional coordinator."""
    query = select(*COLUMNS).order_by(_operators.c.office, _operators.c.name, _operators.c.telegram_id)
    if by is not None:
        checked = await access.require(session, by, Act.LIST_OPERATORS)
        if (office := access.own_region(checked, Act.LIST_OPERATORS)) is not None:
            query = query.where(_operators.c.office == office)
    if not include_removed:
        query = query.where(_operators.c.active)
    return [Operator.from_row(row) for row in (await session.execute(query)).mappings()]


async def ensure_coordinators(session: AsyncSession, admin_ids: Iterable[int], language: str = "kk") -> None:
    """Everyone in ADMIN_IDS is an active coordinator of the national office from the start.
    Someone already stored keeps their name and office; a new one is named after their id until
    they are renamed."""
    for telegram_id in admin_ids:
        await session.execute(
            _ENSURE_COORDINATOR,
            {"telegram_id": telegram_id, "name": f"Coordinator {telegram_id}", "office": NATIONAL,
             "role": Role.COORDINATOR.value, "language": language},
        )


# --- invite links ---------------------------------------------------------------------------------

INVITE_PREFIX = "op_"  # the deep-link payload: /start op_<token>
INVITE_LIFETIME = timedelta(hours=24)

_invites = OperatorInvite.__table__
_NEW_INVITE = (
    insert(_invites).values(
        token_hash=bindparam("digest"), office=bindparam("office"), role=bindparam("role"), name=bindparam("name"),
        created_by=bindparam("creator"), expires_at=func.now() + bindparam("lifetime", type_=Interval),
    ).returning(_invites.c.expires_at)
)
# Locked by whoever opens it first, and spent in the same transaction as the operator is created:
# of two people at once one gets it, and a link whose operator could not be created stays unused.
_VALID_INVITE = (
    select(_invites.c.token_hash, _invites.c.office, _invites.c.role, _invites.c.name, _invites.c.created_by)
    .where(_invites.c.token_hash == bindparam("digest"), _invites.c.used_at.is_(None), _invites.c.expires_at > func.now())
    .with_for_update()
)
_SPEND_INVITE = (
    update(_invites).where(_invites.c.token_hash == bindparam("digest")).values(used_by=bindparam("user"), used_at=func.now())
)


class InviteNotValid(OperatorError):
    """Unknown, already used or expired."""


@dataclass(frozen=True, slots=True)
class Invite:
    token: str
    office: str
    name: str
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_invite(
    session: AsyncSession, directory: Directory, coordinator: Operator, office: str, name: str,
    role: Role = Role.OPERATOR,
) -> Invite:
    """A one-time link for a new operator of `office`, valid for INVITE_LIFETIME."""
    office, name = _check_office(directory, office), _check_name(name)
    await access.require(session, coordinator, Act.INVITE, (office,))
    if Role(role) is Role.COORDINATOR and access.scope(coordinator, Act.INVITE) is not Scope.ALL:
        raise Denied(Act.INVITE, Refusal.NOT_ALLOWED)
    token = secrets.token_urlsafe(18)  # 24 characters of [A-Za-z0-9_-], as deep links allow
    params = {"digest": _digest(token), "office": office, "role": Role(role).value,
              "name": name, "creator": coordinator.telegram_id, "lifetime": INVITE_LIFETIME}
    expires_at = (await session.execute(_NEW_INVITE, params)).scalar_one()
    await _record(session, coordinator, Action.OPERATOR_INVITED, {"office": office, "role": Role(role).value})
    return Invite(token, office, name, expires_at)


async def accept_invite(
    session: AsyncSession, directory: Directory, token: str, telegram_id: int, language: str = "kk"
) -> Operator:
    """The person who opened the link becomes an operator and the invite is spent, both or neither;
    `language` is the one they use the bot in. A link works only while whoever made it may still
    invite to that office (a coordinator removed or moved since cannot bring anyone in)."""
    current = await get_operator(session, telegram_id)
    if current is not None and current.active:
        raise OperatorError(f"{telegram_id} is already an active operator")
    row = (await session.execute(_VALID_INVITE, {"digest": _digest(token)})).mappings().first()
    if row is None:
        raise InviteNotValid("the invite is unknown, used or expired")
    inviter = await get_operator(session, row["created_by"], lock=True)
    role = Role(row["role"])
    if not access.may(inviter, Act.INVITE, (row["office"],)) or (
        role is Role.COORDINATOR and access.scope(inviter, Act.INVITE) is not Scope.ALL
    ):
        raise InviteNotValid("whoever made the invite may no longer invite to that office")
    added = await add_operator(session, directory, telegram_id, row["name"], row["office"], role, language)
    await session.execute(_SPEND_INVITE, {"digest": row["token_hash"], "user": telegram_id})
    await audit(
        session, Action.OPERATOR_JOINED, {"operator": telegram_id, "office": added.office, "role": role.value},
        actor_id=telegram_id, actor=added.name,
    )
    return added
