"""Webhooks as Telegram's Bot API server delivers them: each update POSTed until it is answered
200, one person's at a time and in order, other people's at once."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from bot.standin.limits import DEFAULT_ALLOWED_UPDATES
from bot.standin.model import Webhook, bad_request


WEBHOOK_RETRY_FIRST = 0.2
WEBHOOK_RETRY_MAX = 2.0


def _queue_of(update: dict) -> int:
    """Whose update it is, for delivering one person's updates one at a time."""
    for key, event in update.items():
        if key != "update_id" and isinstance(event, dict):
            sender = event.get("from") or event.get("user") or {}
            chat = event.get("chat") or (event.get("message") or {}).get("chat") or {}
            return int(sender.get("id") or chat.get("id") or 0)
    return 0


class WebhookDelivery:
    """setWebhook, deleteWebhook, getWebhookInfo, and the delivery."""

    async def _api_deletewebhook(self, params: dict, uploads: dict) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = None
        await self._stop_webhook_delivery()
        return True

    async def _api_setwebhook(self, params: dict, uploads: dict) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return await self._api_deletewebhook(params, uploads)
        if not url.startswith(("https://", "http://")):
            raise bad_request("bad webhook: invalid URL")
        secret = params.get("secret_token")
        if secret is not None and not (1 <= len(str(secret)) <= 256 and all(c.isalnum() or c in "_-" for c in str(secret))):
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        max_connections = int(params.get("max_connections") or 40)
        self.webhook = Webhook(url, secret, params.get("allowed_updates"), max(1, min(100, max_connections)))
        self._ask_for(params.get("allowed_updates"))
        self._start_webhook_delivery()
        return True

    def _ask_for(self, kinds: list[str] | None) -> None:
        """`allowed_updates`: absent keeps the bot's last choice; empty means Telegram's default."""
        if kinds is None:
            return
        if not isinstance(kinds, list) or not all(isinstance(kind, str) for kind in kinds):
            raise bad_request("can't parse allowed updates")
        self.allowed_updates = frozenset(kinds) if kinds else DEFAULT_ALLOWED_UPDATES

    async def _api_getwebhookinfo(self, params: dict, uploads: dict) -> dict:
        info: dict[str, Any] = {"url": self.webhook.url if self.webhook else "", "has_custom_certificate": False,
                                "pending_update_count": len(self._updates)}
        if self.webhook is not None:
            info["max_connections"] = self.webhook.max_connections
            if self.webhook.allowed_updates is not None:
                info["allowed_updates"] = self.webhook.allowed_updates
        return info

    @property
    def pending_updates(self) -> int:
        """Updates Telegram would still hold: not confirmed by getUpdates, or not answered 200."""
        return len(self._updates)


    def _start_webhook_delivery(self) -> None:
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver_webhooks(), name="stand-in-webhook")

    async def _stop_webhook_delivery(self) -> None:
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None

    def _webhook_address(self) -> str:
        assert self.webhook is not None
        if not self.webhook_targets:
            return self.webhook.url
        path = "/" + self.webhook.url.split("://", 1)[1].partition("/")[2]
        target = self.webhook_targets[self._next_target % len(self.webhook_targets)]
        self._next_target += 1
        return target.rstrip("/") + path

    async def _deliver_webhooks(self) -> None:
        """Each pending update is POSTed until the bot answers 200, then gone for good; a person's
        next update only after their previous one was taken."""
        import aiohttp

        in_flight: set[asyncio.Task] = set()
        async with aiohttp.ClientSession() as client:
            try:
                while self.webhook is not None:
                    assert self.webhook is not None
                    for update in list(self._updates):
                        if len(in_flight) >= self.webhook.max_connections:
                            break
                        queue = _queue_of(update)
                        if queue in self._webhook_busy:
                            continue
                        self._webhook_busy.add(queue)
                        task = asyncio.create_task(self._deliver_one(client, update, queue))
                        in_flight.add(task)
                        task.add_done_callback(in_flight.discard)
                    async with self._changed:
                        await self._changed.wait()
            finally:
                for task in in_flight:
                    task.cancel()
                self._webhook_busy.clear()

    async def _deliver_one(self, client: Any, update: dict, queue: int) -> None:
        import aiohttp

        pause = WEBHOOK_RETRY_FIRST
        try:
            while self.webhook is not None:
                headers = {"Content-Type": "application/json"}
                if self.webhook.secret_token:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook.secret_token
                status = 0
                try:
                    async with client.post(
                        self._webhook_address(), data=json.dumps(update), headers=headers,
                        timeout=aiohttp.ClientTimeout(total=10),
                    ) as response:
                        status = response.status
                except (aiohttp.ClientError, TimeoutError):
                    status = 0
                self.webhook_deliveries.append((update["update_id"], status))
                if status == 200:
                    with contextlib.suppress(ValueError):
                        self._updates.remove(update)
                    return
                await asyncio.sleep(pause)
                pause = min(WEBHOOK_RETRY_MAX, pause * 2)
        finally:
            self._webhook_busy.discard(queue)
            async with self._changed:
                self._changed.notify_all()
