"""The same photo, however it was sent again: a perceptual hash of each deed photo, so that a photo
re-saved as JPEG, resized, cropped a little or screenshotted with the phone's bars around it is
recognised as one already used (Telegram's `file_unique_id` changes with each of those).

The hash is imagehash's pHash (the low frequencies of the picture's cosine transform, 64 bits), taken
after the picture is turned upright (its EXIF orientation) and a uniform frame around it is cut away
(a screenshot's bars, a border added by an editor). Two photos are the same when their hashes differ
in at most `SAME_PHOTO_AT_MOST` bits, and near in at most `NEAR_MATCH_AT_MOST`: thresholds measured
on a set of transformed and of different photos of alike scenes (`bench/bench_photos.py`;
`tests/test_photo_match.py` keeps their rates).

Knows nothing of Telegram: it takes the picture's bytes."""

from __future__ import annotations

import asyncio
import io
from datetime import date, datetime

import imagehash
import numpy
from PIL import Image, ImageOps

# Bits (of 64) two photos' hashes may differ in, measured on the photo set (bench/README.md):
# - refused as a photo already used: none of 21,945 pairs of different photos of alike scenes comes
#   this close, and every photo re-saved, resized or screenshotted does (a crop mostly does not);
SAME_PHOTO_AT_MOST = 4
# - shown to the reviewer as a near match, with how near: 59 of 60 photos sent again, crops
#   included, and 19 of 21,945 pairs of different photos (0.09%), which the reviewer tells apart.
NEAR_MATCH_AT_MOST = 12
# A frame is cut away while what is left keeps at least this share of each side (a landscape photo
# on a portrait phone screen keeps about a third of its height; a photo
# mostly of one colour, a white wall say, is not cut to a sliver).
KEEP_AT_LEAST = 0.2
# A frame is black or white (a screenshot's bars in a dark or a light theme, an editor's border).
FRAME_DARKEST, FRAME_LIGHTEST = 24, 231
# How far a pixel may be from the frame's colour and still be frame (JPEG's noise around flat bars).
FRAME_TOLERANCE = 24
# A row (or column) at the edge is frame while less than this share of it differs from the frame's
# colour: a status bar's clock and icons are a few per cent of it, a photo's edge is most of it.
FRAME_FILLED = 0.25
_EXIF_TAKEN = (36867, 36868, 306)  # DateTimeOriginal, DateTimeDigitized, DateTime


# What a photo or a picture file may be: a JPEG, PNG or WebP (whatever the file says it is: Pillow
# tries no other decoder), of at most 40 million pixels (more than any phone's camera; decoded, about
# 120 MB). A hostile PNG of a single colour compresses a hundred million pixels into kilobytes.
FORMATS = ("JPEG", "PNG", "WEBP")
MAX_PIXELS = 40_000_000


class NotAPicture(ValueError):
    """The bytes are not a picture we read (see FORMATS and MAX_PIXELS)."""


def _open(content: bytes, load: bool = True) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(content), formats=FORMATS)
        if image.width * image.height > MAX_PIXELS:
            raise NotAPicture(f"{image.width}x{image.height} is more than {MAX_PIXELS} pixels")
        if load:
            image.load()
    except NotAPicture:
        raise
    except Exception as error:  # hostile bytes meet many kinds (DecompressionBombError is a bare Exception)
        raise NotAPicture(str(error)) from None
    return image


def _without_frame(image: Image.Image) -> Image.Image:
    """The picture without a black or white frame around it (a screenshot's bars, an editor's
    border): when all four corners are that colour, rows and columns at the edges that are (nearly)
    all of it are cut away. The bars count as frame though they carry a clock and icons, as long as
    those cover under `FRAME_FILLED` of a row. A photo's own edges (a sky, a wall) are rarely all
    black or white in every corner, and enough of the picture must be left in any case."""
    grey = numpy.asarray(image.convert("L"), dtype=numpy.int16)
    corners = grey[[0, 0, -1, -1], [0, -1, 0, -1]]
    if not (corners.max() <= FRAME_DARKEST or corners.min() >= FRAME_LIGHTEST):
        return image
    other = numpy.abs(grey - int(corners.mean())) > FRAME_TOLERANCE
    rows, columns = other.mean(axis=1) >= FRAME_FILLED, other.mean(axis=0) >= FRAME_FILLED
    if not rows.any() or not columns.any():
        return image
    top, bottom = int(rows.argmax()), len(rows) - int(rows[::-1].argmax())
    left, right = int(columns.argmax()), len(columns) - int(columns[::-1].argmax())
    width, height = image.size
    if (right - left) < width * KEEP_AT_LEAST or (bottom - top) < height * KEEP_AT_LEAST:
        return image
    return image.crop((left, top, right, bottom))


def fingerprint(content: bytes) -> int:
    """The photo's perceptual hash, as a signed 64-bit integer (a PostgreSQL bigint)."""
    image = ImageOps.exif_transpose(_open(content)).convert("RGB")
    bits = imagehash.phash(_without_frame(image)).hash.flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value - (1 << 64) if value >= 1 << 63 else value


def distance(first: int, second: int) -> int:
    """In how many of the 64 bits two fingerprints differ."""
    return ((first ^ second) & ((1 << 64) - 1)).bit_count()


def same_photo(first: int, second: int) -> bool:
    return distance(first, second) <= SAME_PHOTO_AT_MOST


def near_match(first: int, second: int) -> bool:
    return distance(first, second) <= NEAR_MATCH_AT_MOST


# Decoding an original takes up to ~120 MB (MAX_PIXELS): at most two at a time in a process.
DECODING = asyncio.Semaphore(2)
SHOWN_SIDE = 2560  # the longest side of a copy shown to the reviewer


def without_metadata(content: bytes) -> bytes:
    """A copy of the picture with nothing but its pixels, turned upright, at most SHOWN_SIDE pixels
    long, as a JPEG: an original sent as a file carries its EXIF (the place it was taken, the
    camera), which a reviewer has no need to receive. (Telegram strips EXIF from photos too; this
    does not count on it, and uploads less.)"""
    image = ImageOps.exif_transpose(_open(content)).convert("RGB")
    image.thumbnail((SHOWN_SIDE, SHOWN_SIDE))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def taken_on(content: bytes) -> date | None:
    """The day the picture says it was taken (its EXIF), if it says so."""
    try:
        exif = _open(content, load=False).getexif()  # read from the header: no need to decode it
    except NotAPicture:
        return None
    sub = exif.get_ifd(0x8769)  # the Exif sub-IFD, where DateTimeOriginal lives
    for tag in _EXIF_TAKEN:
        value = sub.get(tag) or exif.get(tag)
        if isinstance(value, str):
            try:
                return datetime.strptime(value.strip()[:19], "%Y:%m:%d %H:%M:%S").date()
            except ValueError:
                continue
    return None
