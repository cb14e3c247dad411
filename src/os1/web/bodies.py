"""Reading a request's JSON body, for every route that takes one (web/app.py,
web/openai_api.py): a JSON object, or a 400 that says why not."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request


class BadBody(ValueError):
    """The body is not a JSON object os1 can read (the message says why)."""


async def json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:  # not JSON, or not UTF-8
        raise BadBody("The request body is not valid JSON.") from exc
    except RecursionError as exc:  # [[[[... a thousand deep: Python's decoder recurses
        raise BadBody("The request body is nested too deeply.") from exc
    if not isinstance(body, dict):
        raise BadBody("The request body must be a JSON object.")
    if not unicode(body):
        raise BadBody("The request body holds text that is not valid Unicode (a lone surrogate, such as "
                      "\\ud800).")
    return body


def unicode(value: Any) -> bool:
    """Is every string in ``value`` valid Unicode? JSON may escape half of a
    surrogate pair ("\\ud800") on its own, and Python reads it into a str
    that cannot be written anywhere as UTF-8: not to the database, the config
    file, a model server or a response. Refused at the door, it fails nowhere
    deeper."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
