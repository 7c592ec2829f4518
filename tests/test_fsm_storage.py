"""The FSM storage outside an update (jobs, clean-ups): each call is stored at once."""

from aiogram.fsm.storage.base import StorageKey

from bot.db.storage import PostgresStorage


async def test_state_and_data_outside_an_update(engine):
    storage = PostgresStorage(engine)
    key = StorageKey(bot_id=1, chat_id=42, user_id=42)
    assert await storage.get_state(key) is None and await storage.get_data(key) == {}

    await storage.set_state(key, "Form:name")
    assert await storage.update_data(key, {"a": 1}) == {"a": 1}
    assert await storage.update_data(key, {"b": "ә"}) == {"a": 1, "b": "ә"}
    assert await storage.get_state(key) == "Form:name"
    assert await storage.get_data(key) == {"a": 1, "b": "ә"}

    await storage.set_data(key, {})
    await storage.set_state(key, None)
    assert await storage.get_state(key) is None and await storage.get_data(key) == {}
    async with engine.connect() as conn:
        from sqlalchemy import text

        assert await conn.scalar(text("SELECT count(*) FROM fsm_states")) == 0, "an empty conversation is not kept"
