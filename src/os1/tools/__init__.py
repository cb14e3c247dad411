"""Tools: typed functions os1 may call in a turn, each with a declared effect.

A tool is a plain function; :func:`tool` reads its name, description and the
JSON schema of its arguments from the signature and docstring::

    @tool("act", examples=[("Save a note called x.md that says hi", {"name": "x.md", "text": "hi"})])
    def save_note(name: str, text: str) -> Result:
        \"\"\"Save a note as a text file in their notes folder.

        Args:
            name: the file's name, e.g. groceries.md
            text: the note's exact words
        \"\"\"

*read* tools run freely; *act* tools change something outside os1 (send,
delete, write, book) and never run without the person's yes (mind/consent.py).
Skills add tools; :class:`Tools` is the one registry a conversation uses.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from os1.mind.llm import ToolSpec

Effect = Literal["read", "act"]


@dataclass(frozen=True, slots=True)
class Result:
    """What a tool returns: ``text`` for the model (and the person, for an
    action), and ``source``: where it came from when it is outside content
    ("the file notes/x.md", "an email from ..."), which the prompt marks."""

    text: str
    source: str = ""
    #: The reply itself, said as it is and ending the turn (a letter read out,
    #: the numbered changes of a proofreading): words the model must not retell.
    final: bool = False
    #: Structured, for a front end to show beside the words (events.Shown): (kind, data).
    view: tuple[str, dict[str, Any]] | None = None


class ToolError(Exception):
    """A tool could not do what was asked; ``str(err)`` says why, for the
    person and the model (e.g. "There is no note called x.md")."""


@dataclass(frozen=True, slots=True)
class Tool:
    spec: ToolSpec
    effect: Effect
    run: Callable[..., Result | Awaitable[Result]]
    #: For an act: the exact action in words, from the checked arguments.
    describe: Callable[[dict[str, Any]], str] | None = None
    #: Arguments whose origin the person must know (a recipient, a path, the content).
    targets: tuple[str, ...] = ()
    #: Arguments only the person's own words may give (a recipient): a proposal
    #: whose value came from anywhere else is refused, not just flagged.
    theirs: tuple[str, ...] = ()
    #: Seconds it may run (None: the turn's usual limit); proofreading a letter takes longer.
    seconds: float | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    async def __call__(self, arguments: dict[str, Any]) -> Result:
        result = self.run(**arguments)
        return await result if inspect.isawaitable(result) else result

    def check(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """``arguments`` made to fit the schema (numbers from digits, names
        trimmed); raise :class:`ToolError` naming what does not fit."""
        props: dict[str, Any] = self.spec.parameters.get("properties", {})
        unknown = sorted(set(arguments) - set(props))
        if unknown:
            raise ToolError(f"{self.name} has no argument {', '.join(unknown)}.")
        missing = [n for n in self.spec.parameters.get("required", ()) if arguments.get(n) in (None, "")]
        if missing:
            raise ToolError(f"{self.name} needs {', '.join(missing)}.")
        return {name: _fit(name, value, props[name]) for name, value in arguments.items()}


def tool(effect: Effect, *, examples: Iterable[tuple[str, dict[str, Any]]] = (),
         describe: Callable[[dict[str, Any]], str] | None = None,
         targets: Sequence[str] = (), theirs: Sequence[str] = (),
         seconds: float | None = None) -> Callable[[Callable[..., Any]], Tool]:
    """Make a :class:`Tool` of a function (see the module's docstring)."""
    if effect == "act" and describe is None:
        raise ValueError("an act tool must describe its action for the person's consent")

    def make(fn: Callable[..., Any]) -> Tool:
        description, documented = _docstring(fn)
        hints = typing.get_type_hints(fn)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for name, param in inspect.signature(fn).parameters.items():
            schema = _schema(hints.get(name, str))
            if name in documented:
                schema["description"] = documented[name]
            properties[name] = schema
            if param.default is inspect.Parameter.empty:
                required.append(name)
        parameters = {"type": "object", "properties": properties, "required": required}
        spec = ToolSpec(fn.__name__, description, parameters, tuple(examples))
        return Tool(spec, effect, fn, describe, tuple(targets), tuple(theirs), seconds)

    return make


#: A skill that answers some of the person's words itself, before the model
#: (a review's "keep 2, reject 3"): its result's words are the reply, or None to pass.
Answering = Callable[[str, str], Awaitable[Result | None]]


@dataclass(slots=True)
class Tools:
    """The tools of one conversation, by name, and the skills that answer
    some words themselves (``answering``: called with the words and the channel)."""

    tools: list[Tool] = field(default_factory=list)
    answering: list[Answering] = field(default_factory=list)
    #: The running turn's channel ("text" or "voice"): by voice a tool says less at once.
    channel: str = "text"

    def __post_init__(self) -> None:
        names = [t.name for t in self.tools]
        if len(names) != len(set(names)):
            raise ValueError(f"two tools share a name: {names}")

    def get(self, name: str) -> Tool | None:
        return next((t for t in self.tools if t.name == name), None)

    @property
    def specs(self) -> tuple[ToolSpec, ...]:
        return tuple(t.spec for t in self.tools)

    def __bool__(self) -> bool:
        return bool(self.tools)


_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _schema(hint: Any) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    if origin is Literal:
        return {"type": "string", "enum": [str(v) for v in typing.get_args(hint)]}
    if origin in (list, tuple, Sequence):
        (item, *_) = typing.get_args(hint) or (str,)
        return {"type": "array", "items": _schema(item)}
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _schema(options[0])
    return {"type": _JSON_TYPES.get(hint, "string")}


def _docstring(fn: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    """The description (the text before ``Args:``) and each argument's line."""
    doc = inspect.getdoc(fn) or ""
    head, _, args = doc.partition("Args:")
    described = {m.group(1): " ".join(m.group(2).split())
                 for m in re.finditer(r"^\s*(\w+):\s*(.+(?:\n\s{6,}.+)*)", args, re.MULTILINE)}
    return " ".join(head.split()), described


def _fit(name: str, value: Any, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    try:
        if kind == "string":
            if isinstance(value, (dict, list)):
                raise ValueError
            value = str(value).strip()
            if "enum" in schema and value not in schema["enum"]:
                raise ValueError
            return value
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
        if kind == "boolean":
            if isinstance(value, str):
                return value.strip().lower() in ("true", "yes", "1")
            return bool(value)
        if kind == "array":
            items = value if isinstance(value, list) else [value]
            return [_fit(name, v, schema.get("items", {})) for v in items]
    except (TypeError, ValueError):
        want = f"one of {', '.join(schema['enum'])}" if "enum" in schema else f"a {kind}"
        raise ToolError(f"{name} must be {want}, not {value!r}.") from None
    return value
