"""What a person sees: every text and keyboard of the bot, per flow, and the callback data its buttons
carry (`callbacks`). Handlers and background jobs build their messages from here; nothing here
reaches the database or Telegram."""
