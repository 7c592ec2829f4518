"""The threshold of "the same photo" for the marathon's deed photos (issue 20), measured.

    .venv/bin/python bench/bench_photos.py            # 60 pairs of the same photo sent again, 210 different photos (~1 min)
    .venv/bin/python bench/bench_photos.py --per-transform 20 --different 300

For each threshold: the false rejects (a photo sent again, re-saved, resized, cropped a little or
screenshotted, that the hash would let through as new) and the false accepts (two different photos
of alike scenes the hash would call one, refusing an honest participant's photo). Also the time a
fingerprint takes per photo (what a deed photo costs the bot besides its download)."""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.services.marathon import photo_match  # noqa: E402
from tests.support.photo_set import different_photos, same_photo_pairs  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-transform", type=int, default=10, help="pairs of the same photo per way of sending it again")
    parser.add_argument("--different", type=int, default=210, help="different photos (every pair of them is compared)")
    args = parser.parse_args()

    pairs = same_photo_pairs(args.per_transform)
    different = different_photos(args.different)
    timings = []
    same_distances: list[tuple[str, int]] = []
    for how, original, again in pairs:
        started = time.perf_counter()
        first = photo_match.fingerprint(original)
        timings.append(time.perf_counter() - started)
        same_distances.append((how, photo_match.distance(first, photo_match.fingerprint(again))))
    hashes = []
    for kind, photo in different:
        started = time.perf_counter()
        hashes.append((kind, photo_match.fingerprint(photo)))
        timings.append(time.perf_counter() - started)
    different_distances = [(a[0] == b[0], photo_match.distance(a[1], b[1])) for a, b in itertools.combinations(hashes, 2)]

    print(f"{len(pairs)} pairs of the same photo, {len(different)} different photos ({len(different_distances)} pairs)")
    print(f"fingerprint of a 1280x960 JPEG: p50 {statistics.median(timings) * 1000:.1f} ms, "
          f"max {max(timings) * 1000:.1f} ms")
    by_how: dict[str, list[int]] = {}
    for how, d in same_distances:
        by_how.setdefault(how, []).append(d)
    print("\nthe same photo sent again: distance (bits of 64), min / median / max; refused; near")
    for how, ds in by_how.items():
        refused = sum(d <= photo_match.SAME_PHOTO_AT_MOST for d in ds)
        near = sum(d <= photo_match.NEAR_MATCH_AT_MOST for d in ds)
        print(f"  {how:30} {min(ds):2} / {statistics.median(ds):4.1f} / {max(ds):2}; {refused} of {len(ds)}; {near} of {len(ds)}")
    alike = [d for same_kind, d in different_distances if same_kind]
    unalike = [d for same_kind, d in different_distances if not same_kind]
    print(f"\ndifferent photos, alike scenes: min {min(alike)}, 1st percentile {sorted(alike)[len(alike) // 100]}, median {statistics.median(alike)}")
    print(f"different photos, other scenes: min {min(unalike)}, median {statistics.median(unalike)}")
    print("  closest:", sorted(Counter(d for d in alike if d <= 20).items()))

    print("\nthreshold  false rejects (same photo passed as new)  false accepts (different photos refused)")
    for threshold in range(0, 25):
        rejects = sum(d > threshold for _, d in same_distances)
        accepts = sum(d <= threshold for _, d in different_distances)
        mark = {photo_match.SAME_PHOTO_AT_MOST: "  <- SAME_PHOTO_AT_MOST (refused)",
                photo_match.NEAR_MATCH_AT_MOST: "  <- NEAR_MATCH_AT_MOST (shown to the reviewer)"}.get(threshold, "")
        print(f"  {threshold:2}       {rejects:3} of {len(same_distances)} ({rejects / len(same_distances):6.1%})"
              f"        {accepts:5} of {len(different_distances)} ({accepts / len(different_distances):7.3%}){mark}")


if __name__ == "__main__":
    main()
