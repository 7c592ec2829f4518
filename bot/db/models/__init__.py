"""The database schema as ORM models, one module per topic. Alembic migrations are the only way it
reaches a database."""

from bot.db.models.base import Base, is_row_id
from bot.db.models.people import User, FsmState, Operator, OperatorInvite, Block, AuditEntry
from bot.db.models.tickets import Ticket, TicketMessage, TicketLink, TicketMessageCopy, SavedReply
from bot.db.models.marathon import MarathonSettings, Participant, Deed, DeedPhoto, DeedTotal, Nomination, Nominee, WinnersAnnouncement, DeedKindLimit, ParticipationYear, Certificate
from bot.db.models.announcements import Announcement, AnnouncementRecipient
from bot.db.models.delivery import IntakeUpdate, IntakeCall, OutboxMessage, Timer, SendRate
from bot.db.models.knowledge import KnowledgeTopic, KnowledgeRevision, KnowledgeGap, KnowledgeDay
from bot.db.models.offices import DayOff, OfficeDetails
from bot.db.models.statistics import (
    stats_deed_days, stats_people_days, stats_ticket_category_days, stats_ticket_days, stats_ticket_kb_days,
    stats_ticket_times,
)

__all__ = [
    "Announcement",
    "AnnouncementRecipient",
    "AuditEntry",
    "DayOff",
    "Base",
    "Block",
    "Deed",
    "DeedKindLimit",
    "DeedPhoto",
    "Certificate",
    "DeedTotal",
    "FsmState",
    "IntakeCall",
    "IntakeUpdate",
    "KnowledgeDay",
    "KnowledgeGap",
    "KnowledgeRevision",
    "KnowledgeTopic",
    "MarathonSettings",
    "Nomination",
    "Nominee",
    "ParticipationYear",
    "Operator",
    "OfficeDetails",
    "OperatorInvite",
    "OutboxMessage",
    "Participant",
    "SavedReply",
    "SendRate",
    "stats_deed_days",
    "stats_people_days",
    "stats_ticket_category_days",
    "stats_ticket_days",
    "stats_ticket_kb_days",
    "stats_ticket_times",
    "Ticket",
    "TicketLink",
    "TicketMessageCopy",
    "TicketMessage",
    "Timer",
    "User",
    "WinnersAnnouncement",
    "is_row_id",
]
