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
