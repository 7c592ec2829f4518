"""What the tests share: `people` (a person in a chat with the bot), `bot` (the bot under test),
`scenarios` (what people do, step by step), `database` (reading what the bot stored),
`announcements`, `statistics` (the oracle of /stats) and `telegram` (the stand-in with the faults a
test injects). Test modules import from here, never from one another."""
