"""The same deed photo, however it is sent again (issue 20): the thresholds of
`bot/services/marathon/photo_match.py` keep the rates measured on the photo set
(`tests/support/photo_set.py`, `bench/bench_photos.py`): no honest participant's different photo is
refused, every photo re-saved, resized or screenshotted is, and nearly every one sent again in any
way, crops included, is shown to the reviewer as a near match."""

from __future__ import annotations

import io
import itertools
from datetime import date

from PIL import Image

from bot.services.marathon import photo_match
from tests.support.photo_set import different_photos, jpeg, same_photo_pairs, scene


def test_a_photo_sent_again_is_caught_and_different_photos_of_alike_scenes_are_not():
    pairs = same_photo_pairs(per_transform=10)  # 60 pairs: 6 ways of sending a photo again
    caught = {}
    near = 0
    for how, original, again in pairs:
        d = photo_match.distance(photo_match.fingerprint(original), photo_match.fingerprint(again))
        caught.setdefault(how, []).append(d <= photo_match.SAME_PHOTO_AT_MOST)
        near += d <= photo_match.NEAR_MATCH_AT_MOST
    for how in ("re-saved as JPEG", "resized", "screenshotted", "resized, then re-saved"):
        assert all(caught[how]), f"a photo {how} passed as new: {caught[how]}"
    assert near >= 58, f"only {near} of 60 photos sent again are shown to the reviewer"

    hashes = [photo_match.fingerprint(photo) for _, photo in different_photos(210)]
    pairs_of_different = list(itertools.combinations(hashes, 2))  # 21,945
    refused = sum(photo_match.same_photo(a, b) for a, b in pairs_of_different)
    flagged = sum(photo_match.near_match(a, b) for a, b in pairs_of_different)
    assert refused == 0, f"{refused} pairs of different photos would refuse an honest participant's photo"
    assert flagged <= len(pairs_of_different) * 0.002, f"{flagged} pairs of different photos shown as near matches"


def test_the_day_a_photo_was_taken_comes_from_its_exif_and_a_picture_without_one_has_none():
    image = scene("trees", 7)
    exif = Image.Exif()
    exif.get_ifd(0x8769)[36867] = "2026:05:14 09:30:00"  # DateTimeOriginal
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    assert photo_match.taken_on(out.getvalue()) == date(2026, 5, 14)
    assert photo_match.taken_on(jpeg(image)) is None
    assert photo_match.taken_on(b"not a picture") is None
