"""How the bot talks to Telegram: the Bot API session (`session`), the record of an update's calls
(`journal`) and the messages a second the bot may send (`send_budget`)."""
