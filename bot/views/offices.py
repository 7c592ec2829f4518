"""What coordinators see when they keep their office's published details (/office)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.services.offices import Problem

PROBLEMS = {
    Problem.UNKNOWN_OFFICE: lambda: _("There is no such region. The regions' names are in /invite."),
    Problem.PHONE: lambda: _("That is not a Kazakhstan phone number. Send it with the code, for example: +7 7172 55 66 77."),
    Problem.EMAIL: lambda: _("That is not an e-mail address, for example: astana@qazvolunteer.kz."),
    Problem.LINK: lambda: _("A link must be a full https address, for example: https://qazvolunteer.kz."),
    Problem.ADDRESS: lambda: _("Send the address with its language (kk, ru or en), up to 200 characters, for example: /office address ru ул. Бейбітшілік, 10."),
    Problem.LOCATION: lambda: _("Send the place as latitude and longitude in Kazakhstan, for example: /office location 51.1605 71.4704 (in a map app: share or copy the place's coordinates)."),
    Problem.HOURS: lambda: _("Send the days (1 is Monday) and the hours, for example: /office hours 1-5 09:00-18:00."),
}


def problem_text(problem: Problem) -> str:
    return PROBLEMS[problem]()


def usage_text() -> str:
    return _("This is your front-office as people see it in 📞 Contacts. To change a detail: /office phone +7 7172 55 66 77, /office email, /office link, /office address kk|ru|en, /office location (latitude and longitude), /office hours 1-5 09:00-18:00; a single dash (-) unpublishes it. The national office's coordinators put the region's name first: /office akmola phone …")


def saved_text() -> str:
    return _("✅ Saved: people see it in 📞 Contacts now.")
