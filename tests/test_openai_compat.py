import socket

import pytest

from os1.config import LLMSettings
from os1.errors import ModelUnavailable
from os1.mind.llm import GenerateOptions, Message, complete
from os1.mind.openai_compat import OpenAICompatLLM

from openai_server import OpenAIServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_streams_from_a_real_server():
    with OpenAIServer() as server:
        llm = OpenAICompatLLM(LLMSettings(model=server.url, server_model="tiny", api_key="k"))
        pieces = [p async for p in llm.stream([Message("user", "hello there")], GenerateOptions())]
        await llm.aclose()
    assert "".join(pieces) == "I hear you: hello there" and len(pieces) > 1
    assert server.requests[0]["model"] == "tiny" and server.requests[0]["stream"] is True


async def test_json_schema_is_requested():
    with OpenAIServer() as server:
        llm = OpenAICompatLLM(LLMSettings(model=server.url))
        out = await complete(llm, [Message("user", "x")], GenerateOptions(json_schema={"type": "object"}))
        await llm.aclose()
    assert out == '{"facts": []}'
    assert server.requests[0]["response_format"]["type"] == "json_schema"


async def test_a_server_that_takes_schemas_only_as_json_object_gets_them_so_from_then_on():
    with OpenAIServer(json_object_only=True) as server:
        llm = OpenAICompatLLM(LLMSettings(model=server.url))
        options = GenerateOptions(json_schema={"type": "object"})
        first = await complete(llm, [Message("user", "x")], options)
        second = await complete(llm, [Message("user", "y")], options)
        await llm.aclose()
    assert first == second == '{"facts": []}'
    assert [r["response_format"]["type"] for r in server.requests] == ["json_schema", "json_object", "json_object"]
    assert server.requests[1]["response_format"]["schema"] == {"type": "object"}


async def test_unreachable_server_is_one_clear_error():
    url = f"http://127.0.0.1:{free_port()}/v1"
    llm = OpenAICompatLLM(LLMSettings(model=url, timeout=5))
    with pytest.raises(ModelUnavailable, match="Cannot reach the model server at") as err:
        await complete(llm, [Message("user", "hi")], GenerateOptions())
    assert url in str(err.value)
    await llm.aclose()


async def test_http_error_is_reported():
    with OpenAIServer(status=503) as server:
        llm = OpenAICompatLLM(LLMSettings(model=server.url))
        with pytest.raises(ModelUnavailable, match="HTTP 503"):
            await complete(llm, [Message("user", "hi")], GenerateOptions())
        await llm.aclose()


async def test_a_server_that_dies_mid_reply_is_said_to_have_stopped_after_what_it_said():
    with OpenAIServer() as server:
        server.cut_after = 3
        llm = OpenAICompatLLM(LLMSettings(model=server.url))
        pieces = []
        with pytest.raises(ModelUnavailable, match="stopped in the middle of its reply"):
            async for piece in llm.stream([Message("user", "tell me a story")], GenerateOptions()):
                pieces.append(piece)
        await llm.aclose()
    assert "".join(pieces) == "I hear you:"  # what came before it died is kept by the caller


async def test_a_server_offered_tools_natively_streams_its_tool_call():
    from os1.mind.llm import ToolCall, ToolSpec

    spec = ToolSpec("current_time", "The time.", {"type": "object", "properties": {"tz": {"type": "string"}}})
    with OpenAIServer(tool_call=("current_time", '{"tz": "UTC"}')) as server:
        llm = OpenAICompatLLM(LLMSettings(model=server.url))
        history = [Message("user", "time?"),
                   Message("assistant", "", tool_calls=(ToolCall("current_time", {}, "call_1"),)),
                   Message("tool", "12:00", tool_call_id="call_1"), Message("user", "and now?")]
        pieces = [p async for p in llm.stream(history, GenerateOptions(tools=(spec,)))]
        quiet = [p async for p in llm.stream(history, GenerateOptions(tools=(spec,), tool_choice="none"))]
        await llm.aclose()
    assert pieces == [ToolCall("current_time", {"tz": "UTC"}, "call_abc")]
    assert all(isinstance(p, str) for p in quiet)
    sent = server.requests[0]
    assert sent["tools"] == [{"type": "function", "function": {
        "name": "current_time", "description": "The time.", "parameters": spec.parameters}}]
    assert sent["messages"][1]["tool_calls"][0]["function"] == {"name": "current_time", "arguments": "{}"}
    assert sent["messages"][2] == {"role": "tool", "content": "12:00", "tool_call_id": "call_1"}
