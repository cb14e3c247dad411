"""Email: sync (IMAP) and sending (SMTP), parsing, triage, the guard
against orders hidden in mail, search, drafts in the person's voice, and
the tools a conversation uses."""
