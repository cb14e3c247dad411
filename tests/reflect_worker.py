"""A process that reflects on a memory database, for the kill -9 test.

    python reflect_worker.py DB MODE

MODE ``slow``: the fake model writes its answer a piece every 0.2 s, and the
worker prints ``generating`` when it starts. MODE ``stall``: the model is
quick, but the worker stalls inside the second session's write transaction
(after its summary and journal rows, before the commit) and prints
``writing``. MODE ``finish``: a normal run. Prints ``done N`` at the end.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from fakes import FakeLLM  # noqa: E402

from os1.memory.sqlite import SQLiteMemory  # noqa: E402
from os1.mind.reflect import reflect_pending  # noqa: E402


def reflection(messages):
    first = next(line for line in messages[-1].content.splitlines() if line.startswith("[1]"))
    return {
        "summary": f"Summary of: {first}",
        "journal": f"Journal on: {first}",
        "self_description": f"I grew from: {first}",
        "moments": [{"kind": "open_loop", "text": f"Follow up: {first}", "when": "tomorrow"}],
        "facts": [],
    }


def main() -> None:
    path, mode = Path(sys.argv[1]), sys.argv[2]
    memory = SQLiteMemory(path, "ana", embedder=None)

    def announce(messages):
        print("generating", flush=True)
        return reflection(messages)

    llm = FakeLLM(reflect_for=announce if mode == "slow" else reflection,
                  delay=0.2 if mode == "slow" else 0.0)
    if mode == "stall":
        original = memory._exec
        journals = []

        def stalling_exec(sql, args=()):
            cursor = original(sql, args)
            if sql.startswith("INSERT INTO journal"):
                journals.append(sql)
                if len(journals) == 2:  # the second session, mid-transaction
                    print("writing", flush=True)
                    time.sleep(60)
            return cursor

        memory._exec = stalling_exec
    done = asyncio.run(reflect_pending(llm, memory, companion="Mira"))
    memory.close()
    print(f"done {done}", flush=True)


if __name__ == "__main__":
    main()
