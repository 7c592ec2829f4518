"""What the tests share: `people` (a person in a chat with the bot), `bot` (the bot under test),
`scenarios` (what people do, step by step), `database` (reading what the bot stored) and
`announcements`. Test modules import from here, never from one another."""
