"""How people spell what they type to the bot, reduced to one form the search can compare.

People in Kazakhstan write the same word in several ways: Kazakh on a Russian keyboard
("кайырымдылык" for "қайырымдылық"), Kazakh in the 2021 Latin alphabet with or without its marks
("ötınış", "otinis" for "өтініш"), Russian in Latin letters ("kak stat volonterom"), and whole
phrases with the wrong keyboard layout on ("uhfyn" for "грант", "ьфкферщт" for "marathon").

`fold` brings a Cyrillic or English word to a comparison form: lower case, Kazakh letters as their
nearest Russian ones, "ё" as "е", "ы" and "й" as "и", no soft or hard sign (which transliteration
drops). `latin_readings` gives the Cyrillic forms a Latin word may stand for (as Kazakh, as Russian),
already folded; `other_layout` retypes a phrase as if the other keyboard layout had been on.
"""

from __future__ import annotations

import re

_FOLD = str.maketrans(
    {"ё": "е", "ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "ұ": "у", "ү": "у", "һ": "х",
     "і": "и", "ы": "и", "й": "и", "ь": None, "ъ": None}
)

# A Latin letter typed inside a Cyrillic word (a Kazakh keyboard often lacks "і", so people type the
# Latin "i"; "a", "o", "e", "c", "p", "x" look the same) stands for the Cyrillic letter it looks like.
_LOOK_ALIKE = str.maketrans({"a": "а", "c": "с", "e": "е", "i": "и", "o": "о", "p": "р", "x": "х", "y": "у", "k": "к", "m": "м", "t": "т", "h": "н", "b": "в", "ı": "и"})

_WORD = re.compile(r"[^\W_]+")
_CYRILLIC = re.compile(r"[а-яёәғқңөұүһі]")
_LATIN = re.compile(r"[a-zäçğıñöşūüİ]")

# Kazakh in Latin letters: the 2021 alphabet (ä, ğ, ı, ñ, ö, ş, ū, ü, q, j for "ж") and the
# letter pairs people use when their keyboard has no marks (sh, ch, zh). Longest match first.
_KAZAKH_LATIN = {
    "sh": "ш", "ch": "ч", "zh": "ж", "kh": "х",
    "a": "а", "ä": "а", "b": "б", "c": "с", "ç": "ч", "d": "д", "e": "е", "f": "ф", "g": "г", "ğ": "г",
    "h": "х", "ı": "и", "i": "и", "j": "ж", "k": "к", "l": "л", "m": "м", "n": "н", "ñ": "н", "o": "о",
    "ö": "о", "p": "п", "q": "к", "r": "р", "s": "с", "ş": "ш", "t": "т", "u": "у", "ū": "у", "ü": "у",
    "v": "в", "w": "у", "x": "х", "y": "и", "z": "з",
}

# Russian in Latin letters, as people type it (not one standard: "ya" and "ja", "kh" and "h").
_RUSSIAN_LATIN = {
    "shch": "щ", "sch": "щ",
    "sh": "ш", "ch": "ч", "zh": "ж", "kh": "х", "ts": "ц", "ya": "я", "ja": "я", "yu": "ю", "ju": "ю",
    "yo": "е", "jo": "е", "ye": "е",
    "a": "а", "b": "б", "c": "ц", "d": "д", "e": "е", "f": "ф", "g": "г", "h": "х", "i": "и", "j": "й",
    "k": "к", "l": "л", "m": "м", "n": "н", "o": "о", "p": "п", "q": "к", "r": "р", "s": "с", "t": "т",
    "u": "у", "v": "в", "w": "в", "x": "кс", "y": "и", "z": "з",
}

_QWERTY = "qwertyuiop[]asdfghjkl;'zxcvbnm,.`QWERTYUIOP{}ASDFGHJKL:\"ZXCVBNM<>~"
_JCUKEN = "йцукенгшщзхъфывапролджэячсмитьбюёЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮЁ"
_TO_JCUKEN = str.maketrans(_QWERTY, _JCUKEN)
_TO_QWERTY = str.maketrans(_JCUKEN, _QWERTY)


def fold(text: str) -> str:
    """Lower case, Kazakh letters as the nearest Russian ones, one letter for "и"-like sounds."""
    lowered = text.lower().replace("\u0307", "")  # "İ".lower() is "i" and a combining dot
    if _CYRILLIC.search(lowered) and _LATIN.search(lowered):
        lowered = _WORD.sub(lambda m: m[0].translate(_LOOK_ALIKE) if _CYRILLIC.search(m[0]) else m[0], lowered)
    return lowered.translate(_FOLD)


def _transliterate(word: str, table: dict[str, str]) -> str:
    out, index = [], 0
    while index < len(word):
        for size in (4, 3, 2, 1):
            piece = word[index : index + size]
            if len(piece) == size and piece in table:
                out.append(table[piece])
                index += size
                break
        else:
            out.append(word[index])  # a digit or a letter of no alphabet above: kept as typed
            index += 1
    return "".join(out)


def latin_readings(word: str) -> tuple[str, ...]:
    """The folded Cyrillic words a lower-case Latin `word` may be: Kazakh, then Russian."""
    if not _LATIN.search(word) or _CYRILLIC.search(word):
        return ()
    readings = dict.fromkeys(fold(_transliterate(word, table)) for table in (_KAZAKH_LATIN, _RUSSIAN_LATIN))
    return tuple(r for r in readings if not _LATIN.search(r))  # a letter neither alphabet reads


def other_layout(text: str) -> str | None:
    """`text` as it was meant, if it was typed with the other keyboard layout on: all-Latin text as
    the Russian layout gives it ("uhfyn" → "грант"), all-Cyrillic text as the English one. None for
    text that mixes the two alphabets (then the layout was right for part of it)."""
    has_cyrillic, has_latin = bool(_CYRILLIC.search(text.lower())), bool(re.search(r"[a-z]", text.lower()))
    if has_cyrillic == has_latin:
        return None
    return text.translate(_TO_QWERTY if has_cyrillic else _TO_JCUKEN)


# Kazakh joins suffixes to a stem ("тірке-л-е-мін", "бол-ғым", "волонтер-лер-ге"): a question's word
# rarely appears in the answers in the same form. Folded, longest first; stripped one after another
# while a stem of at least three letters remains. Crude next to a real morphological analyser (none
# is packaged for Kazakh), but it only ever adds candidates that share a stem exactly.
_KAZAKH_SUFFIXES = tuple(
    sorted(
        """
        лар лер дар дер тар тер
        ни ди ти ги ки на не га ге ка ке нга нге да де та те нда нде дан ден тан тен нан нен
        нин дин тин мен бен пен дагы деги тагы теги
        им ин миз низ иниз си
        мин мен сиз син ади еди иди ди ти атин етин итин ган ген кан кен гим ким
        у уга уге уди ип ар ер мак мек пак пек бак бек лик дик тик ли ши
        а е
        """.split(),
        key=len,
        reverse=True,
    )
)
_SHORTEST_STEM = 3


def kazakh_stem(word: str) -> str | None:
    """The stem a folded Cyrillic word is left with when its suffixes go; None if it has none."""
    if not _CYRILLIC.search(word):
        return None
    stem, stripped = word, True
    while stripped:
        stripped = False
        for suffix in _KAZAKH_SUFFIXES:
            if stem.endswith(suffix) and len(stem) - len(suffix) >= _SHORTEST_STEM:
                stem, stripped = stem[: -len(suffix)], True
                break
    return stem if stem != word else None
