"""Reaching out: os1 speaks first, rarely, for a reason it can name.

``schedule`` reads reminders from the person's words; ``store`` keeps them and
the log of every decision; ``policy`` judges, purely, when to speak;
``runner`` brings sources, policy and delivery together.
"""
