"""Staff accounts: the people who work in the shop, their roles and their sessions."""
