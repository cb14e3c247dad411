"""What os1 remembers: every message, facts about the user, their profile."""
