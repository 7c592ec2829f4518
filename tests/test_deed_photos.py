"""The same deed photo however it is sent again (issue 20): Telegram gives a photo re-saved, resized
or screenshotted a new file, but its fingerprint (`bot/services/marathon/photo_match.py`) finds the
deed it already proves, for any participant, in their language; a different photo of an alike scene
goes through."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image
from sqlalchemy import text

from tests.support.database import rows
from tests.support.photo_set import jpeg, resaved, resized, scene, screenshot
from tests.support.scenarios import deed_up_to_photos, join, run_marathon


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
async def test_a_photo_sent_again_as_a_new_file_is_refused_with_the_deed_it_proves(citizen, engine, content, t, language):
    await run_marathon(engine, content.rules)
    trees = content.rules.kinds[0]
    aliya = await citizen("ru")
    await join(aliya, t, "ru")
    planted = jpeg(scene("trees", 41))
    await deed_up_to_photos(aliya, t, "ru", trees.name["ru"], "10")
    await aliya.send_photo(content=planted)
    await aliya.press(t("ru", "✅ Done"))
    await aliya.press(t("ru", "✅ Log it"))
    first = (await rows(engine, "SELECT id FROM deeds"))[0]["id"]

    # Someone else sends the same picture as new files: screenshotted, re-saved, resized.
    other = await citizen(language)
    await join(other, t, language)
    await deed_up_to_photos(other, t, language, trees.name[language], "3")
    refusal = t(language, "This photo, or one made from it (re-saved, resized, a screenshot), already proves deed №{number}. Please send a photo of this deed.").format(number=first)
    rng = random.Random(3)
    for again in (screenshot(planted, rng), resaved(planted, rng), resized(planted, rng)):
        assert refusal in (await other.send_photo(content=again)).text
    # Within one deed too: a second copy of its own photo is refused.
    own = jpeg(scene("trees", 42))  # an alike scene, but another photo: it goes through
    accepted = t(language, "Photo {count} of up to {limit} received. Send another, or press “Done”.").format(count=1, limit=3)
    assert (await other.send_photo(content=own)).text == accepted
    twice = await other.send_photo(content=resaved(own, rng))
    assert t(language, "This photo already proves another deed. Please send a photo of this deed.") in twice.text
    await other.press(t(language, "✅ Done"))
    done = await other.press(t(language, "✅ Log it"))
    assert "№" in done.text
    stored = await rows(engine, "SELECT deed_id, fingerprint FROM deed_photos ORDER BY deed_id")
    assert len(stored) == 2 and all(row["fingerprint"] is not None for row in stored)


async def test_the_reviewer_sees_a_photo_near_one_of_another_deed_and_how_near(citizen, operator, engine, content, t):
    """A photo cropped from one already used is not refused (crops come as close as different photos
    of alike scenes do), but the reviewer's card names the deed it is like, and how alike."""
    from bot.services.marathon import photo_match
    from tests.support.photo_set import cropped

    await run_marathon(engine, content.rules)
    trees = content.rules.kinds[0]
    original = jpeg(scene("trees", 51))
    crops = (cropped(original, random.Random(seed)) for seed in range(100))
    crop = next(c for c in crops if photo_match.SAME_PHOTO_AT_MOST < photo_match.distance(
        photo_match.fingerprint(original), photo_match.fingerprint(c)) <= photo_match.NEAR_MATCH_AT_MOST)
    for person_language, picture in (("ru", original), ("kk", crop)):
        person = await citizen(person_language)
        await join(person, t, person_language)
        await deed_up_to_photos(person, t, person_language, trees.name[person_language], "4")
        await person.send_photo(content=picture)
        await person.press(t(person_language, "✅ Done"))
        await person.press(t(person_language, "✅ Log it"))
    first, second = [row["id"] for row in await rows(engine, "SELECT id FROM deeds ORDER BY id")]
    bits = photo_match.distance(photo_match.fingerprint(original), photo_match.fingerprint(crop))

    share = round(100 * (64 - bits) / 64)
    warning = t("ru", "⚠️ A photo is like one of another deed: {deeds}. Compare them before approving.")
    reviewer = await operator("akmola", "ru", "Марина")
    card = (await reviewer.send("/deeds")).last  # each deed's card names the other
    assert f"№{first}" in card.caption
    assert warning.format(deeds=t("ru", "№{number}, {share}% alike").format(number=second, share=share)) in card.caption
    approved = await reviewer.press(t("ru", "✅ Approve"), card)
    card = next(m for m in approved.sent if f"№{second}" in (m.caption or m.text or ""))
    assert warning.format(deeds=t("ru", "№{number}, {share}% alike").format(number=first, share=share)) in (card.caption or card.text)


@pytest.mark.parametrize("language", ["kk", "en"])
async def test_a_picture_sent_as_a_file_keeps_its_day_and_one_older_than_the_deed_is_flagged_to_the_reviewer(
    citizen, operator, engine, content, t, api, language
):
    await run_marathon(engine, content.rules)
    trees = content.rules.kinds[0]
    person = await citizen(language)
    await join(person, t, language)
    await deed_up_to_photos(person, t, language, trees.name[language], "4")
    # Not a picture, or a picture in a kind we do not read: refused in words, nothing kept.
    refusal = t(language, "Please send the proof as a photo, or as a picture file (JPEG, PNG or WebP, up to 10 MB).")
    assert refusal in (await person.send_document(b"%PDF-1.4 not a photo", "proof.pdf", "application/pdf")).text
    assert refusal in (await person.send_document(b"\xff\xd8\xff broken", "broken.jpg", "image/jpeg")).text
    # The original, sent as a file, says it was taken in May: before the deed (today).
    exif = Image.Exif()
    exif.get_ifd(0x8769)[36867] = "2026:05:14 09:30:00"  # DateTimeOriginal
    out = io.BytesIO()
    scene("trees", 77).save(out, "JPEG", quality=90, exif=exif)
    accepted = t(language, "Photo {count} of up to {limit} received. Send another, or press “Done”.")
    assert accepted.format(count=1, limit=3) in (await person.send_document(out.getvalue(), "IMG_0514.jpg", "image/jpeg")).text
    assert accepted.format(count=2, limit=3) in (await person.send_photo(content=jpeg(scene("trees", 78)))).text
    # The same picture again, now as a photo (Telegram strips its EXIF): the same photo, refused.
    again = await person.send_photo(content=jpeg(scene("trees", 77)))
    assert t(language, "This photo already proves another deed. Please send a photo of this deed.") in again.text
    await person.press(t(language, "✅ Done"))
    await person.press(t(language, "✅ Log it"))
    stored = await rows(engine, "SELECT position, as_file, taken_on FROM deed_photos ORDER BY position")
    assert [(r["position"], r["as_file"], str(r["taken_on"])) for r in stored] == [(0, True, "2026-05-14"), (1, False, "None")]

    reviewer = await operator("akmola", "en", "Nurlan")
    shown = await reviewer.send("/deeds")
    # Both as photos in one album: the original as a copy of its pixels (its EXIF may say where it
    # was taken), never the file itself.
    assert [bool(m.photo) for m in shown.sent[:2]] == [True, True] and not any(m.document for m in shown.sent)
    copy = Image.open(io.BytesIO(api.files[shown.sent[0].photo[-1]["file_id"]].content))
    assert copy.size == scene("trees", 77).size
    assert "⚠️ Photo 1 was taken on 14.05.2026, before the deed's date." in shown.last.text
    assert "Photo 2 was taken" not in shown.last.text
    await reviewer.press("✅ Approve", shown.last)


async def test_the_indexed_search_finds_every_photo_within_four_bits_however_the_bits_fall(engine, content):
    """The same photo is found through five indexed parts of its fingerprint (migration 0035): a
    copy 4 bits away is found wherever those bits are, and the answer is the one comparing every
    stored fingerprint gives."""
    from bot.db.engine import create_session_factory
    from bot.services import marathon

    rng = random.Random(20)
    stored = [rng.getrandbits(64) - (1 << 63) for _ in range(2000)]
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO deeds (id, kind, amount, deed_date, locality, description, region) "
                                "SELECT n, 'trees', 1, current_date, '', '', 'akmola' FROM generate_series(1, 2000) AS n"))
        await conn.execute(text("INSERT INTO deed_photos (deed_id, position, file_id, file_unique_id, fingerprint) "
                                "VALUES (:deed, 0, :file, :file, :fingerprint)"),
                           [{"deed": n + 1, "file": f"f{n}", "fingerprint": f} for n, f in enumerate(stored)])

    def flipped(value: int, bits: list[int]) -> int:
        unsigned = (value + (1 << 64)) % (1 << 64)
        for bit in bits:
            unsigned ^= 1 << bit
        return unsigned - (1 << 64) if unsigned >= 1 << 63 else unsigned

    from bot.services.marathon.deeds import FINGERPRINT_PARTS, _SAME_PHOTOS

    parts = [(shift, shift + mask.bit_length()) for shift, mask in FINGERPRINT_PARTS]
    assert sorted(bit for start, end in parts for bit in range(start, end)) == list(range(64)), "every bit in one part"
    async with create_session_factory(engine)() as session:
        for n in range(300):
            deed = rng.randrange(2000)
            away = rng.randrange(5)
            # Spread the flipped bits over different parts (the worst case), or put them anywhere.
            bits = [rng.choice(range(*parts[part])) for part in rng.sample(range(5), away)] if n % 2 else rng.sample(range(64), away)
            probe = flipped(stored[deed], bits)
            found = await marathon.photos_like(session, probe, 4, 3)
            assert found and found[0] == (deed + 1, away), (deed, bits)
            everything = await session.execute(text(
                "SELECT deed_id, bit_count(CAST(fingerprint # :f AS bit(64))) AS bits FROM deed_photos"
                " WHERE bit_count(CAST(fingerprint # :f AS bit(64))) <= 4 ORDER BY bits, deed_id LIMIT 3"), {"f": probe})
            assert found == [tuple(row) for row in everything]
        # The query's parts are the indexes' expressions (else PostgreSQL would compare every row).
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        params = {"fingerprint": 1, "at_most": 4, "most": 1, **{f"part{n}": 0 for n in range(5)}}
        plan = "\n".join((await session.execute(text("EXPLAIN " + _SAME_PHOTOS.text), params)).scalars())
        assert all(f"ix_deed_photos_fingerprint_part{n}" in plan for n in range(5)), plan



async def test_a_picture_file_too_big_to_decode_or_not_what_it_says_is_refused(citizen, engine, content, t):
    """A hostile "photo file": a PNG of 49 million pixels that compresses to a few kilobytes (decoded,
    it would take hundreds of MB of the bot's memory), or a TIFF named and typed as a JPEG (a decoder
    the bot has no reason to run). Both are refused in words; a real picture still goes through."""
    await run_marathon(engine, content.rules)
    person = await citizen("en")
    await join(person, t, "en")
    await deed_up_to_photos(person, t, "en", content.rules.kinds[0].name["en"], "2")
    refusal = t("en", "Please send the proof as a photo, or as a picture file (JPEG, PNG or WebP, up to 10 MB).")
    bomb = io.BytesIO()
    Image.new("1", (7000, 7000)).save(bomb, "PNG", optimize=True)
    assert len(bomb.getvalue()) < 100_000
    assert refusal in (await person.send_document(bomb.getvalue(), "bomb.png", "image/png")).text
    tiff = io.BytesIO()
    scene("trees", 80).save(tiff, "TIFF")
    assert refusal in (await person.send_document(tiff.getvalue(), "IMG_1.jpg", "image/jpeg")).text
    accepted = t("en", "Photo {count} of up to {limit} received. Send another, or press “Done”.").format(count=1, limit=3)
    assert accepted in (await person.send_document(jpeg(scene("trees", 81)), "IMG_2.jpg", "image/jpeg")).text
