"""The person's calendar: a CalDAV server or a local .ics file, read with
recurrences expanded in their time zone; changed only at their yes (tools.py)."""
