"""The glossary and writing rules of /work/shared/KAZAKH.md, checked over every text a person reads: the
three catalogs and the texts of bot/content/ (the FAQ, the front-offices, the marathon). Search
keywords are not texts a person reads, so they are left out. Each rule lists every offending entry."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

import pytest
from babel.messages.pofile import read_po

from bot.config import PROJECT_ROOT

CONTENT = PROJECT_ROOT / "bot" / "content"
LANGUAGES = ("kk", "ru", "en")


@dataclass(frozen=True)
class Text:
    language: str
    where: str  # "kk catalog: <msgid>" or "bot/content/faq/02-offices.toml: questions[1].answer"
    text: str
    plural: bool = False  # one form of a plural entry (ngettext)

    @property
    def in_catalog(self) -> bool:
        return self.where.startswith(f"{self.language} catalog: ")

    @property
    def in_faq(self) -> bool:
        return self.where.startswith("bot/content/faq/")


def _catalog_texts(language: str) -> list[Text]:
    with (PROJECT_ROOT / "locales" / language / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        catalog = read_po(fp, locale=language)
    texts = []
    for message in catalog:
        if not message.id:
            continue
        plural = not isinstance(message.id, str)
        msgid = message.id[0] if plural else message.id
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        texts.extend(Text(language, f"{language} catalog: {msgid!r}", form, plural) for form in forms if form)
    return texts


def _content_texts(path) -> list[Text]:
    texts: list[Text] = []

    def walk(value, where: str, language: str | None) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "keywords":  # search words people type, not a text they read
                    continue
                walk(item, f"{where}.{key}", key if key in LANGUAGES else language)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{where}[{index}]", language)
        elif isinstance(value, str) and language and value:
            texts.append(Text(language, f"{path.relative_to(PROJECT_ROOT)}: {where.lstrip('.')}", value))

    with path.open("rb") as fp:
        walk(tomllib.load(fp), "", None)
    return texts


def _all_texts() -> list[Text]:
    texts = [text for language in LANGUAGES for text in _catalog_texts(language)]
    for path in sorted(CONTENT.rglob("*.toml")):
        texts.extend(_content_texts(path))
    return texts


TEXTS = _all_texts()


def texts(language: str, *, catalog_only: bool = False) -> list[Text]:
    return [t for t in TEXTS if t.language == language and (t.in_catalog or not catalog_only)]


def offenders(items: list[Text], pattern: str, flags: int = re.IGNORECASE) -> list[str]:
    regex = re.compile(pattern, flags)
    found = []
    for item in items:
        hits = sorted({m.group(0) for m in regex.finditer(item.text)})
        if hits:
            found.append(f"{item.where} -> {hits}")
    return found


def report(rule: str, found: list[str]) -> str:
    return f"{rule}: {len(found)} offending entries:\n  " + "\n  ".join(found)


def test_the_texts_are_all_found():
    # A guard for the rules below: they must see the catalogs and every content file.
    assert len(texts("kk", catalog_only=True)) > 400
    files = {t.where.split(":")[0] for t in TEXTS if not t.in_catalog}
    assert len(files) >= len(list(CONTENT.rglob("*.toml")))
    assert any(".answer" in t.where for t in texts("kk"))


# ---- The glossary's words ------------------------------------------------------------------

# Each rule over the texts of one language, each rule over the texts of one language (of the catalog only, where
# the FAQ may rightly use the word: «өтінім» for a grant application).
WORD_RULES = [
    pytest.param("kk", False, r"фронт[- ]?офис\w*|\bофис\w*", "kk: фронт-кеңсе, not фронт-офис / офис", id="kazakh_says_front_kense_not_front_office"),
    # The national one is «Ұлттық волонтерлер фронт-кеңсесі», never «ұлттық фронт-кеңсе».
    pytest.param("kk", False, r"ұлттық\s+фронт-кеңсе\w*|волонтерлердің\s+ұлттық\s+фронт-кеңсе\w*", "kk: Ұлттық волонтерлер фронт-кеңсесі", id="kazakh_national_front_office_has_its_full_name"),
    pytest.param("kk", False, r"\w*түйме\w*|\w*пәрмен\w*", "kk: батырма (not түйме), команда (not пәрмен)", id="kazakh_says_batyrma_and_komanda"),
    # «жасырын» means secret or hidden: nothing in the bot is. Anonymised data is «иесіздендірілген»;
    # a marathon participant who shows no name is «аноним» (a noun), never «анонимді» data.
    pytest.param("kk", False, r"\w*жасырын\w*|\bанонимді\w*", "kk: иесіздендірілген, not жасырын / анонимді", id="kazakh_anonymised_data_is_iesizdendirilgen"),
    pytest.param("kk", False, r"\w*волонтёр\w*|\bрахмет\w*", "kk: волонтер (not волонтёр), рақмет (not рахмет)", id="kazakh_says_volonter_and_rakhmet"),
    pytest.param("kk", True, r"\w*мақұлда\w*", "kk: растау / расталды, not мақұлдау", id="kazakh_approve_is_rastau"),
    # «өтінім» is an application to a programme (grants, awards in the FAQ); the bot's requests are «өтініш».
    pytest.param("kk", True, r"\w*өтінім\w*", "kk catalog: өтініш, not өтінім", id="kazakh_request_of_a_citizen_is_otinish"),
    # «өзекті байланыс деректері» (актуальные) is «соңғы»; «қадағалау» (supervise) is «бақылап отыру».
    pytest.param("kk", False, r"\w*өзекті\w*|\w*қадағала\w*", "kk: соңғы / бақылап отыру, not өзекті / қадағалау", id="kazakh_prefers_egov_wording_to_calques"),
    # "{language} тілінде" gives "Қазақша тілінде"; "{days} к" is not an abbreviation of күн.
    pytest.param("kk", False, r"\{language\}\s+тіл\w*|\{\w+\}\s+к\b", "kk: «{language}» in quotes, күн / тәул. for days", id="kazakh_inserted_names_read_in_the_nominative"),
    pytest.param("ru", False, r"\w*волонтер\w*", "ru: волонтёр", id="russian_says_volontyor_with_yo"),
    # «Остаться анонимным» (a marathon participant) is right; data and counts are «обезличенные».
    pytest.param("ru", False, r"\bанонимн(?!ым\b)\w*", "ru: обезличенные данные, not анонимные", id="russian_anonymised_data_is_obezlichennye"),
    pytest.param("ru", True, r"\w*одобр\w*", "ru: подтвердить / подтверждено, not одобрить", id="russian_approve_is_podtverdit"),
    pytest.param("ru", False, r"национальн\w+\s+офис\w*|национальн\w+\s+фронт-офис\w*+(?!\s+волонтёров)", "ru: Национальный фронт-офис волонтёров", id="russian_national_front_office_has_its_full_name"),
    pytest.param("ru", True, r"\w*заявк\w*", "ru catalog: обращение, not заявка", id="russian_says_obrashchenie_for_a_request"),
]


@pytest.mark.parametrize(("language", "catalog_only", "pattern", "rule"), WORD_RULES)
def test_the_glossary_words(language, catalog_only, pattern, rule):
    found = offenders(texts(language, catalog_only=catalog_only), pattern)
    assert not found, report(rule, found)


# ---- Kazakh ---------------------------------------------------------------------------------

KAZAKH_CASE_SUFFIXES = (
    "ның нің дың дің тың тің ға ге қа ке на не ны ні ды ді ты ті да де та те нда нде "
    "нан нен дан ден тан тен мен бен пен дағы дегі тағы тегі ндағы ндегі сыз сіз лар лер дар дер тар тер а е н"
).split()


def test_kazakh_never_glues_a_case_suffix_to_a_placeholder():
    suffixes = "|".join(sorted(KAZAKH_CASE_SUFFIXES, key=len, reverse=True))
    found = offenders(texts("kk"), rf"\{{\w+\}}[-']?(?:{suffixes})(?![а-яәғқңөұүһі])")
    assert not found, report("kk: no case suffix glued to a placeholder (use a postposition or restructure)", found)


def test_kazakh_plural_forms_are_identical():
    found = []
    by_entry: dict[str, list[str]] = {}
    for item in texts("kk", catalog_only=True):
        if item.plural:
            by_entry.setdefault(item.where, []).append(item.text)
    found = [f"{where} -> {forms}" for where, forms in by_entry.items() if len(set(forms)) > 1]
    assert by_entry
    assert not found, report("kk: both plural forms identical", found)


# ---- Russian --------------------------------------------------------------------------------


# Placeholders that hold a number of things in the catalogs.
COUNT_PLACEHOLDERS = (
    "count n total limit max length rate sent failed blocked joined participants deeds unconfirmed "
    "tickets people days hours minutes seconds page pages"
).split()
# What may follow such a number in running text: units written as abbreviations (they do not
# decline) and little words that are not nouns.
AFTER_A_NUMBER = {"мин", "ч", "д", "с", "кг", "шт", "т", "из", "в", "во", "и", "или", "по", "на", "до", "за"}


def test_russian_numbers_in_running_text_go_through_plural_forms():
    names = "|".join(COUNT_PLACEHOLDERS)
    regex = re.compile(rf"\{{({names})\}}\s+([а-яё]+)", re.IGNORECASE)
    found = []
    for item in texts("ru", catalog_only=True):
        if item.plural:
            continue
        words = sorted({f"{{{m.group(1)}}} {m.group(2)}" for m in regex.finditer(item.text) if m.group(2).lower() not in AFTER_A_NUMBER})
        if words:
            found.append(f"{item.where} -> {words}")
    assert not found, report('ru: a number goes through ngettext or the "Label: {n}" pattern', found)


# ---- Both -----------------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["kk", "ru"])
def test_quotes_are_guillemets(language):
    found = []
    for item in texts(language):
        plain = re.sub(r"<[^>]+>", "", item.text)  # a tag's attributes keep their quotes
        hits = sorted(set(re.findall(r'[“”„"]', plain)))
        if hits:
            found.append(f"{item.where} -> {hits}")
    assert not found, report(f"{language}: quotes are «…»", found)


CALL_CENTRE = {
    # the one name, and the other names it must never go by
    "kk": ("Call-орталы", r"волонтерлік\s+Call-орталы\w*|ұлттық\s+\w*\s*Call-орталы\w*|колл[- ]?(?:орталы|центр)\w*|call[- ]?cent\w*|байланыс\s+орталығ\w*"),
    "ru": ("Call-центр", r"волонтёрск\w+\s+Call-центр\w*|национальн\w+\s+\w*\s*Call-центр\w*|колл[- ]?центр\w*|call[- ]?cent\w*|контакт-центр\w*"),
}


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_one_name_for_the_call_centre(language):
    name, others = CALL_CENTRE[language]
    found = offenders(texts(language), others)
    full = {"kk": "волонтерлік жөніндегі Call-орталық", "ru": "Call-центр по волонтёрству"}[language]
    assert not found, report(f"{language}: the Call-centre is «{full}» everywhere", found)
    # And it is named the same way in the catalog and in the FAQ.
    assert any(name in t.text for t in texts(language, catalog_only=True))
    assert any(name in t.text for t in texts(language) if t.in_faq)


# ---- The FAQ tells the truth about this bot --------------------------------------------------

def test_the_faq_does_not_deny_what_the_bot_does():
    # The bot registers marathon participants and logs their deeds («🏃 Игі істер марафоны»).
    denials = r"марафонға тіркелу[^.]*жоқ|Регистрации в марафоне[^.]*нет|does not register marathon|does not log"
    found = offenders([t for t in TEXTS if t.in_faq], denials)
    assert not found, report("FAQ: the bot does register marathon participants and log deeds", found)


def test_the_faq_names_the_marathon_button_as_people_see_it():
    buttons = {"kk": "«🏃 Игі істер марафоны»", "ru": "«🏃 Марафон добрых дел»", "en": '"🏃 Marathon of Good Deeds"'}
    for language, button in buttons.items():
        join = [t for t in texts(language) if "05-marathon.toml: questions[2].answer" in t.where]
        assert join and button in join[0].text, (language, button)
    labels = {t.where: t.text for t in texts("kk", catalog_only=True)}
    assert buttons["kk"] == f"«🏃 {labels['kk catalog: ' + repr('Marathon of Good Deeds')]}»", "the menu's label changed: update the FAQ"
