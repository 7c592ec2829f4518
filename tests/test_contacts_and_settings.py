"""Contacts of the front-offices; settings: language and region changed at any time."""

import pytest

from bot.services.directory import Directory, FrontOffice
from bot.services.offices import Published
from bot.views.common import office_card

NOT_PUBLISHED = "not yet published — use Qazvolunteer.kz"


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
async def test_contacts_show_the_regional_and_the_national_office(citizen, content, t, language):
    person = await citizen(language)
    reaction = await person.tap(t(language, "Contacts"))
    text = reaction.last.text
    akmola = content.directory.get("akmola")
    assert t(language, "{region}: regional volunteer front-office").format(region=akmola.name[language]) in text
    assert content.directory.national.name[language] in text
    # The seeds publish no address, phone or hours: every field says so, none is invented.
    assert text.count(t(language, NOT_PUBLISHED)) == 8
    assert t(language, NOT_PUBLISHED) != NOT_PUBLISHED or language == "en"


def test_the_directory_has_the_twenty_regions_and_the_national_office():
    directory = Directory.load()
    assert len(directory.regions) == 20
    assert [o.slug for o in directory.regions[:3]] == ["astana", "almaty", "shymkent"]
    assert directory.national.name["ru"] == "Национальный фронт-офис волонтёров"
    assert {o.slug for o in directory.regions} >= {"abai", "zhetysu", "ulytau", "almaty-region"}


def test_a_published_field_is_shown_instead_of_the_placeholder(i18n):
    office = FrontOffice(
        slug="astana", name={"kk": "Астана", "ru": "Астана", "en": "Astana"},
        address={"kk": "", "ru": "ул. Примерная, 1", "en": ""}, hours={"kk": "", "ru": "", "en": ""},
        phone="+7 7172 00 00 00", email="",
    )
    with i18n.context(), i18n.use_locale("ru"):
        card = office_card(Published(office, address=dict(office.address)), "ru")
    assert "ул. Примерная, 1" in card and "+7 7172 00 00 00" in card
    assert card.count(i18n.gettext(NOT_PUBLISHED, locale="ru")) == 2


async def test_changing_the_language_in_settings(citizen, stored, t):
    person = await citizen("ru")
    reaction = await person.tap(t("ru", "Settings"))
    settings = reaction.last
    assert t("ru", "Language: {language}").format(language="Русский") in settings.text
    await person.press(t("ru", "🌐 Change language"), settings)
    reaction = await person.press("English", settings)
    assert t("en", "Language: {language}").format(language="English") in reaction.edited[0].text
    assert reaction.last.text == t("en", "Done: I will speak {language} now.").format(language="English")
    assert any(t("en", "Contacts") in label for label in person.reply_labels), "the menu speaks English now"
    assert (await stored.user(person.id))["language"] == "en"

    # A button of the old Russian keyboard still works, and answers in English.
    reaction = await person.send("📞 " + t("ru", "Contacts"))
    assert t("en", "Contacts of the volunteer front-offices").replace("<b>", "") in reaction.last.text.replace("<b>", "")


async def test_changing_the_region_in_settings(citizen, stored, t, content):
    person = await citizen("kk")
    settings = (await person.tap(t("kk", "Settings"))).last
    reaction = await person.press(t("kk", "📍 Change region"), settings)
    assert any(b["text"] == "✅ Ақмола облысы" for b in reaction.edited[0].buttons), "the current region is marked"
    reaction = await person.press("Түркістан облысы", settings)
    assert reaction.answer == {"text": t("kk", "Region saved."), "show_alert": False}
    assert t("kk", "Region: {region}").format(region="Түркістан облысы") in reaction.edited[0].text
    assert (await stored.user(person.id))["region"] == "turkistan"
    contacts = (await person.tap(t("kk", "Contacts"))).last.text
    assert "Түркістан облысы" in contacts


async def test_back_from_a_settings_choice_changes_nothing(citizen, stored, t):
    person = await citizen("en")
    before = await stored.user(person.id)
    settings = (await person.tap(t("en", "Settings"))).last
    await person.press(t("en", "📍 Change region"), settings)
    reaction = await person.press(t("en", "⬅️ Back"), settings)
    assert t("en", "Region: {region}").format(region="Akmola Region") in reaction.edited[0].text
    assert await stored.user(person.id) == before
