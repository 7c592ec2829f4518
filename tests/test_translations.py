"""Every user-visible string exists in kk, ru and en; a catalog missing a msgid or a translation fails."""

import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.config import PROJECT_ROOT, SUPPORTED_LANGUAGES
from bot.standin.html import parse_html

KEYWORDS = {"_": None, "__": None, "N_": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}
KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")


def msgids_in_code() -> set[str]:
    found = set()
    for _, _, message, _, _ in extract_from_dir(
        str(PROJECT_ROOT / "bot"), method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalog(language: str):
    with (PROJECT_ROOT / "locales" / language / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        return read_po(fp, locale=language)


@pytest.fixture(scope="module")
def code_msgids() -> set[str]:
    return msgids_in_code()


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_the_catalog_has_every_string_of_the_code_translated(language, code_msgids):
    messages = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog(language) if m.id}
    missing = sorted(code_msgids - set(messages))
    assert not missing, f"{language}: not in the catalog (run pybabel extract/update): {missing}"
    untranslated = sorted(i for i, m in messages.items() if not (all(m.string) if isinstance(m.string, tuple) else m.string))
    assert not untranslated, f"{language}: untranslated: {untranslated}"
    fuzzy = sorted(i for i, m in messages.items() if m.fuzzy)
    assert not fuzzy, f"{language}: fuzzy: {fuzzy}"


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_translations_keep_placeholders_and_valid_telegram_html(language):
    for message in catalog(language):
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        for text in message.string if isinstance(message.string, tuple) else (message.string,):
            assert set(re.findall(r"\{\w+\}", text)) == set(re.findall(r"\{\w+\}", msgid)), (language, msgid)
            parse_html(text)  # raises like Telegram's "can't parse entities"
            for command in re.findall(r"/[a-z]+", msgid):
                assert command in text, (language, msgid, command)


def test_kazakh_and_russian_are_translations_not_copies():
    def singular(value):  # a plural entry by its singular form
        return value if isinstance(value, str) else value[0]

    kk = {singular(m.id): singular(m.string) for m in catalog("kk") if m.id}
    ru = {singular(m.id): singular(m.string) for m in catalog("ru") if m.id}
    sentences = [i for i in kk if len(i.split()) >= 3]
    assert sentences
    copied = [i for i in sentences if kk[i] == i or ru[i] == i or kk[i] == ru[i]]
    assert not copied, copied
    with_kazakh_letters = [i for i in sentences if KAZAKH_LETTERS & set(kk[i])]
    assert len(with_kazakh_letters) >= 0.8 * len(sentences), "Kazakh texts use the Kazakh alphabet"


def test_the_template_is_up_to_date(code_msgids):
    with (PROJECT_ROOT / "locales" / "messages.pot").open("rb") as fp:
        template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fp) if m.id}
    assert template == code_msgids, "run: pybabel extract (see README, 'Translations')"
