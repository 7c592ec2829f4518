"""The playground page's own words, through gettext like the bot's, so it speaks kk, ru and en."""

from __future__ import annotations

from bot.i18n import N_

ROLE_NAMES = {"citizen": N_("Citizen"), "operator": N_("Operator"), "coordinator": N_("Coordinator")}

PAGE_TEXTS = {
    "title": N_("Qazvolunteer bot playground"),
    "people": N_("People"),
    "add_person": N_("Add a person"),
    "name": N_("Name"),
    "telegram_language": N_("Telegram language"),
    "telegram_id": N_("Telegram id (optional)"),
    "add": N_("Add"),
    "cancel": N_("Cancel"),
    "message_placeholder": N_("Write a message…"),
    "send": N_("Send"),
    "attach": N_("Send a photo or a file"),
    "share_contact": N_("Share my phone number"),
    "share_location": N_("Send my location"),
    "reply": N_("Reply"),
    "replying_to": N_("Replying to"),
    "block": N_("Block the bot"),
    "unblock": N_("Unblock the bot"),
    "blocked": N_("This person has blocked the bot. Writing to it unblocks it."),
    "typing": N_("typing…"),
    "refused": N_("Telegram would refuse this call"),
    "no_chat": N_("Choose a person on the left to chat with the bot as them."),
    "empty_chat": N_("No messages yet. Send /start."),
    "edited": N_("edited"),
    "ok": N_("OK"),
    "disconnected": N_("Connection to the playground lost; reconnecting…"),
    "page_language": N_("Page language"),
    "bad_person": N_("Give a name, a language, and an id of digits that no one has yet."),
    "action_failed": N_("This did not reach the bot. A file may be up to 20 MB."),
}
