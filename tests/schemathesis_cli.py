"""``python tests/schemathesis_cli.py run ...``: schemathesis's command line,
made to work beside urllib3-future.

caldav (the ``docs`` extra) brings niquests, which brings urllib3-future, and
urllib3-future installs itself over urllib3 (a .pth file copies it there at
every start of the interpreter). Its pool manager's ``pools`` has no
``keys()``, which schemathesis's requests transport reads to count open
connections, so every request would fail inside schemathesis before it is
sent. The count only decides whether a request whose connection was dropped
is sent once more; without it, it is. Where urllib3 is urllib3, nothing changes.
"""

from __future__ import annotations

from typing import Any

import schemathesis.transport.requests as transport
from schemathesis.cli import schemathesis

_count_opened_connections = transport._count_opened_connections


def _count_or_zero(session: Any) -> int:
    try:
        return _count_opened_connections(session)
    except AttributeError:  # urllib3-future's pools
        return 0


transport._count_opened_connections = _count_or_zero

if __name__ == "__main__":
    schemathesis()
