"""The person's files: found by name and content inside the folders they
chose, and nowhere else (folders.py)."""
