"""A desktop notification, where the desktop has one (``notify-send`` on
Linux, ``osascript`` on macOS); elsewhere nothing: the message is in the chat
and the page anyway."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys

log = logging.getLogger(__name__)


def notify(title: str, text: str) -> bool:
    """Show ``text`` as a notification, without waiting; True if one was shown."""
    if sys.platform == "darwin" and shutil.which("osascript"):
        script = f"display notification {_quoted(text)} with title {_quoted(title)}"
        command = ["osascript", "-e", script]
    elif shutil.which("notify-send"):
        command = ["notify-send", "--app-name=os1", title, text]
    else:
        return False
    try:
        subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        log.info("no desktop notification: %s", exc)
        return False
    return True


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
