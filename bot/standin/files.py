"""Files as Telegram keeps them: every upload a new file, a photo in several sizes; and the
pictures the tests, the benchmarks and the playground's people photograph."""

from __future__ import annotations

import io
import random
from typing import Any

from PIL import Image, ImageDraw, UnidentifiedImageError
from aiohttp import web

from bot.standin.limits import MAX_PHOTO_BYTES, PHOTO_SIDES
from bot.standin.model import StoredFile, bad_request


def picture(label: str, width: int = 640, height: int = 480) -> bytes:
    """A JPEG that is a different picture for each label (and the same for the same label): what a
    person photographs, for the tests, the benchmarks and the playground's people."""
    rng = random.Random(label)
    image = Image.new("RGB", (width, height), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(width), rng.randrange(height)
        box = (x, y, x + rng.randrange(20, width // 2), y + rng.randrange(20, height // 2))
        draw.rectangle(box, fill=tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


class Files:
    """Uploads, photos' sizes, getFile and the file download path."""

    async def _handle_file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.path == path:
                return web.Response(body=stored.content, content_type=stored.mime_type or "application/octet-stream")
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)


    def _store_file(self, content: bytes, name: str | None, mime_type: str | None) -> StoredFile:
        """A new file, as every upload is to Telegram (its ids say nothing about its bytes)."""
        serial = next(self._file_serial)
        unique = f"AQAD{serial:06d}{random.getrandbits(40):010x}"
        file_id = f"BQACAgIAAxkBAAI{serial:06d}{random.getrandbits(96):024x}"
        stored = StoredFile(file_id, unique, content, name, mime_type)
        self.files[file_id] = stored
        return stored

    def _new_photo(self, content: bytes) -> list[dict]:
        """A new photo, as Telegram keeps it: its sizes smallest first, each a file of its own."""
        if len(content) > MAX_PHOTO_BYTES:
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
        try:
            image = Image.open(io.BytesIO(content))
            image.load()
        except (UnidentifiedImageError, OSError, ValueError):
            raise bad_request("IMAGE_PROCESS_FAILED") from None
        width, height = image.size
        if width + height > 10_000 or max(width, height) > 20 * min(width, height):
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
        image = image.convert("RGB")
        longest = max(width, height)
        sizes: list[dict] = []
        for side in PHOTO_SIDES:
            scale = min(1.0, side / longest)
            scaled = image if scale == 1.0 else image.resize(
                (max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            scaled.save(out, "JPEG", quality=87)
            stored = self._store_file(out.getvalue(), "photo.jpg", "image/jpeg")
            sizes.append({"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                          "width": scaled.width, "height": scaled.height, "file_size": len(stored.content)})
            if scale == 1.0:
                break
        for size in sizes:
            self._photos[size["file_id"]] = sizes
        return sizes

    def _photo_param(self, params: dict[str, Any], uploads: dict) -> list[dict]:
        """The photo a sendPhoto names: one sent before, by the file id of any of its sizes (the
        same sizes come back), or a new upload."""
        value = params.get("photo")
        if isinstance(value, str) and value in self._photos:
            return self._photos[value]
        if isinstance(value, str) and value in self.files:
            raise bad_request("type of file mismatch")  # a document's or a voice's id
        stored = self._file_param(params, uploads, "photo", "photo.jpg", "image/jpeg")
        del self.files[stored.file_id]  # the upload as it came; Telegram keeps its sizes
        return self._new_photo(stored.content)

    def _file_param(self, params: dict[str, Any], uploads: dict, key: str, default_name: str, default_mime: str) -> StoredFile:
        value = params.get(key)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = uploads.get(value.removeprefix("attach://"))
        elif key in uploads:
            upload = uploads[key]
        elif isinstance(value, str) and value in self._photos:
            raise bad_request("type of file mismatch")  # a photo's id where a document or voice goes
        elif isinstance(value, str) and value in self.files:
            return self.files[value]
        elif isinstance(value, str) and value:
            raise bad_request("wrong file identifier/HTTP URL specified")
        else:
            raise bad_request(f"there is no {key} in the request")
        if upload is None:
            raise bad_request(f"there is no {key} in the request")
        content, name, mime = upload
        return self._store_file(content, name or default_name, mime or default_mime)

    @staticmethod
    def _voice(stored: StoredFile) -> dict:
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "duration": 3,
                "mime_type": stored.mime_type or "audio/ogg", "file_size": len(stored.content)}

    @staticmethod
    def _media(kind: str, stored: StoredFile) -> dict:
        """The Bot API object of a video, video note, audio, animation (GIF) or sticker file."""
        media: dict[str, Any] = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                                 "file_size": len(stored.content)}
        if kind in ("video", "animation"):
            media.update(width=640, height=360, duration=5, mime_type=stored.mime_type or "video/mp4")
        elif kind == "video_note":
            media.update(length=240, duration=5)  # round, no name or type
        elif kind == "audio":
            media.update(duration=120, mime_type=stored.mime_type or "audio/mpeg")
        elif kind == "sticker":
            media.update(type="regular", width=512, height=512, is_animated=False, is_video=False, emoji="👍")
        else:
            raise ValueError(f"not a media kind: {kind}")
        if kind in ("video", "audio", "animation") and stored.name:
            media["file_name"] = stored.name
        return media

    @staticmethod
    def _document(stored: StoredFile) -> dict:
        document = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_size": len(stored.content)}
        if stored.name:
            document["file_name"] = stored.name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return document

    async def _api_getfile(self, params: dict, uploads: dict) -> dict:
        stored = self.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise bad_request("invalid file_id")
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.content), "file_path": stored.path}
