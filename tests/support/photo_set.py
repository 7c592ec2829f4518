"""The photos that set the threshold of "the same photo" (`bot/services/marathon/photo_match.py`):
scenes a marathon's participants photograph (trees planted, litter collected, animals fed), made with
Pillow from a seed, and the same photo sent again as people do it: re-saved as JPEG, resized, cropped
a little, screenshotted with the phone's bars around it, and these combined.

Photos of one kind of scene are alike on purpose (the same sky, ground and things, placed
differently): that is where a hash would mistake two photos for one. Used by
`tests/test_photo_match.py` and `bench/bench_photos.py`."""

from __future__ import annotations

import io
import random
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageFilter

SCENES = ("trees", "litter", "animals")
SIZE = (1280, 960)


def _jitter(rng: random.Random, colour: tuple[int, int, int], spread: int = 18) -> tuple[int, int, int]:
    return tuple(max(0, min(255, c + rng.randint(-spread, spread))) for c in colour)  # type: ignore[return-value]


def _ground_and_sky(draw: ImageDraw.ImageDraw, rng: random.Random, ground: tuple[int, int, int], horizon: int) -> None:
    width, height = SIZE
    sky_top, sky_bottom = _jitter(rng, (90, 140, 215)), _jitter(rng, (185, 210, 240))
    for y in range(horizon):
        t = y / max(1, horizon - 1)
        draw.line([(0, y), (width, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(sky_top, sky_bottom)))
    draw.rectangle([0, horizon, width, height], fill=_jitter(rng, ground))
    for _ in range(400):  # the ground's texture: grass, stones, shadows
        x, y = rng.randrange(width), rng.randrange(horizon, height)
        r = rng.randint(2, 9)
        draw.ellipse([x - r, y - r // 2, x + r, y + r // 2], fill=_jitter(rng, ground, 40))


def _trees(draw: ImageDraw.ImageDraw, rng: random.Random) -> None:
    width, height = SIZE
    horizon = rng.randint(height * 45 // 100, height * 60 // 100)
    _ground_and_sky(draw, rng, (70, 120, 50), horizon)
    for _ in range(rng.randint(3, 8)):
        x, base = rng.randrange(width), rng.randint(horizon + 20, height - 10)
        tall = rng.randint(150, 420)
        draw.rectangle([x - 8, base - tall // 2, x + 8, base], fill=_jitter(rng, (95, 65, 35)))
        for _ in range(rng.randint(4, 9)):  # the crown: leaves in clumps
            cx, cy = x + rng.randint(-60, 60), base - tall // 2 - rng.randint(0, tall // 2)
            r = rng.randint(35, 80)
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=_jitter(rng, (40, 110, 40), 30))


def _litter(draw: ImageDraw.ImageDraw, rng: random.Random) -> None:
    width, height = SIZE
    horizon = rng.randint(height * 25 // 100, height * 40 // 100)
    _ground_and_sky(draw, rng, rng.choice([(110, 110, 105), (120, 100, 70), (80, 125, 60)]), horizon)
    for _ in range(rng.randint(10, 25)):
        x, y = rng.randrange(width), rng.randint(horizon, height)
        kind = rng.random()
        if kind < 0.4:  # a bottle, lying at an angle
            length, angle = rng.randint(40, 110), rng.uniform(-1.2, 1.2)
            dx, dy = int(length * rng.choice([-1, 1])), int(length * angle / 2)
            draw.line([(x, y), (x + dx, y + dy)], fill=_jitter(rng, (60, 140, 90), 60), width=rng.randint(12, 22))
        elif kind < 0.7:  # a bag
            r = rng.randint(25, 70)
            draw.ellipse([x - r, y - r // 2, x + r, y + r // 2], fill=_jitter(rng, (230, 230, 225), 20))
        else:  # a can or a wrapper
            r = rng.randint(8, 22)
            draw.rectangle([x - r, y - r // 2, x + r, y + r // 2], fill=_jitter(rng, (200, 40, 40), 60))


def _animals(draw: ImageDraw.ImageDraw, rng: random.Random) -> None:
    width, height = SIZE
    horizon = rng.randint(height * 35 // 100, height * 50 // 100)
    _ground_and_sky(draw, rng, (95, 130, 60), horizon)
    draw.rectangle([rng.randrange(width // 2), horizon - 120, width, horizon], fill=_jitter(rng, (150, 110, 80)))  # a shelter
    for _ in range(rng.randint(2, 6)):
        x, y = rng.randrange(60, width - 60), rng.randint(horizon + 40, height - 40)
        body = rng.randint(60, 150)
        coat = _jitter(rng, rng.choice([(120, 85, 50), (60, 60, 60), (220, 210, 190), (180, 120, 60)]), 25)
        draw.ellipse([x - body, y - body // 2, x + body, y + body // 2], fill=coat)
        side = rng.choice([-1, 1])
        head = body // 3
        hx, hy = x + side * body, y - body // 3
        draw.ellipse([hx - head, hy - head, hx + head, hy + head], fill=coat)
        for leg in (-body // 2, -body // 4, body // 4, body // 2):
            draw.line([(x + leg, y + body // 3), (x + leg, y + body // 3 + body // 2)], fill=coat, width=10)
    for _ in range(rng.randint(1, 4)):  # bowls
        x, y = rng.randrange(width), rng.randint(horizon + 20, height - 10)
        draw.ellipse([x - 30, y - 10, x + 30, y + 10], fill=_jitter(rng, (40, 70, 160), 30))


_DRAW: dict[str, Callable[[ImageDraw.ImageDraw, random.Random], None]] = {
    "trees": _trees, "litter": _litter, "animals": _animals,
}


def scene(kind: str, seed: int) -> Image.Image:
    """A photo of a scene of this kind; the same for the same seed."""
    rng = random.Random(f"{kind}:{seed}")
    image = Image.new("RGB", SIZE)
    _DRAW[kind](ImageDraw.Draw(image), rng)
    # A camera's softness and noise, so that re-saving it changes the pixels as it does a photo's.
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    noise = Image.effect_noise(SIZE, 12).convert("RGB")
    return Image.blend(image, noise, 0.06)


def jpeg(image: Image.Image, quality: int = 88) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _open(content: bytes) -> Image.Image:
    return Image.open(io.BytesIO(content)).convert("RGB")


def resaved(content: bytes, rng: random.Random) -> bytes:
    """Saved again as a JPEG of another quality (what a messenger or an editor does)."""
    return jpeg(_open(content), rng.randint(45, 75))


def resized(content: bytes, rng: random.Random) -> bytes:
    image = _open(content)
    scale = rng.uniform(0.35, 0.8)
    return jpeg(image.resize((int(image.width * scale), int(image.height * scale)), Image.LANCZOS), rng.randint(70, 90))


def cropped(content: bytes, rng: random.Random) -> bytes:
    """Cropped a little: up to 5% off each side."""
    image = _open(content)
    w, h = image.size
    box = (int(w * rng.uniform(0, 0.05)), int(h * rng.uniform(0, 0.05)),
           w - int(w * rng.uniform(0, 0.05)), h - int(h * rng.uniform(0, 0.05)))
    return jpeg(image.crop(box), rng.randint(75, 92))


def screenshot(content: bytes, rng: random.Random) -> bytes:
    """The photo on a phone's screen, screenshotted: portrait, the photo across the width, the status
    bar (a clock, icons) above and the app's bar below, in the app's dark or light theme."""
    image = _open(content)
    width, height = 1080, 2340
    dark = rng.random() < 0.5
    frame = (0, 0, 0) if dark else (255, 255, 255)
    ink = (235, 235, 235) if dark else (30, 30, 30)
    screen = Image.new("RGB", (width, height), frame)
    shown = image.resize((width, image.height * width // image.width), Image.LANCZOS)
    top = (height - shown.height) // 2 + rng.randint(-120, 120)
    screen.paste(shown, (0, top))
    draw = ImageDraw.Draw(screen)
    draw.text((40, 30), f"{rng.randint(7, 22)}:{rng.randint(0, 59):02d}", fill=ink)  # the clock
    for n in range(3):  # signal, wi-fi, battery
        draw.rectangle([width - 60 - n * 50, 30, width - 30 - n * 50, 55], fill=ink)
    for n in range(4):  # the app's buttons
        x = 120 + n * 260
        draw.ellipse([x, height - 150, x + 60, height - 90], outline=ink, width=4)
    return jpeg(screen, rng.randint(80, 95))


TRANSFORMS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "re-saved as JPEG": resaved,
    "resized": resized,
    "cropped a little": cropped,
    "screenshotted": screenshot,
    "resized, then re-saved": lambda content, rng: resaved(resized(content, rng), rng),
    "cropped, then screenshotted": lambda content, rng: screenshot(cropped(content, rng), rng),
}


def same_photo_pairs(per_transform: int = 10) -> list[tuple[str, bytes, bytes]]:
    """(how, the original, the same photo sent again), `per_transform` of each way, over all kinds of
    scene: 60 pairs by default."""
    pairs = []
    for n, (how, transform) in enumerate(TRANSFORMS.items()):
        for i in range(per_transform):
            kind = SCENES[i % len(SCENES)]
            original = jpeg(scene(kind, 1000 + n * per_transform + i))
            pairs.append((how, original, transform(original, random.Random(f"{how}:{i}"))))
    return pairs


def different_photos(count: int = 210) -> list[tuple[str, bytes]]:
    """(kind, photo): `count` different photos, a third of each kind of scene."""
    return [(SCENES[i % len(SCENES)], jpeg(scene(SCENES[i % len(SCENES)], i))) for i in range(count)]
