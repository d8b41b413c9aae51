"""The MCP server (kb/serve/mcp.py): `python -m kb mcp` as a subprocess over the fixture index,
driven by the SDK's own stdio client; and the streamable-HTTP transport with its token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from eval.loopback import free_port
from kb.serve.mcp import INSTRUCTIONS

ROOT = Path(__file__).resolve().parent.parent
TOOLS = {"ask_ai_act", "show_provision", "define_term", "verify_quote", "find_obligations",
         "assess_system"}
pytestmark = pytest.mark.anyio


def server_env(settings, **extra: str) -> dict[str, str]:
    return {**os.environ, "KB_CORPUS_DIR": str(settings.corpus_dir),
            "KB_DATA_DIR": str(settings.data_dir), "CHROMA_HOST": "", "KB_COLLECTION": "kb",
            "KB_AS_OF": "", "HF_HUB_OFFLINE": "1", **extra}


@pytest.fixture(scope="module")
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="module")
async def client(small_kb):
    params = StdioServerParameters(command=sys.executable, args=["-m", "kb", "mcp"],
                                   env=server_env(small_kb), cwd=str(ROOT))
    async with Client(params, read_timeout_seconds=120) as connected:
        yield connected


def text_of(result) -> str:
    return "\n".join(block.text for block in result.content)


async def test_lists_the_six_tools_with_grounding_instructions(client):
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    for name in ("ask_ai_act", "show_provision", "define_term"):
        assert "Quote only text that these tools return" in tools[name].description, name
        assert "cite its ref" in tools[name].description, name
    for tool in tools.values():
        assert tool.output_schema and tool.output_schema["type"] == "object", tool.name
        assert tool.annotations.read_only_hint is True
    assert tools["ask_ai_act"].input_schema["required"] == ["question"]
    roles = tools["find_obligations"].input_schema["properties"]["role"]["enum"]
    assert "deployer" in roles and "provider" in roles
    assert client.instructions == INSTRUCTIONS


async def test_ask_returns_the_answer_json_and_a_short_text(client, assistant):
    question = "Must our chatbot tell customers it is an AI?"
    result = await client.call_tool("ask_ai_act", {"question": question, "top_k": 3})
    assert result.is_error is False
    data = result.structured_content
    expected = assistant.ask(question, top_k=3).to_dict()
    assert {k: v for k, v in data.items() if k != "timing_ms"} == {
        k: v for k, v in expected.items() if k != "timing_ms"}
    first = data["citations"][0]
    assert (first["ref"], first["url"]) == (
        "Article 50(1)", "https://eur-lex.europa.eu/eli/reg/2024/1689/oj/eng#050.001")
    text = text_of(result)
    assert text.startswith(data["answer"])
    assert f"[1] Article 50(1): {first['text']} <{first['url']}>" in text


async def test_ask_in_french_and_with_lang(client, assistant):
    question = "Notre chatbot doit-il dire aux clients qu'il est une IA ?"
    result = await client.call_tool("ask_ai_act", {"question": question, "top_k": 3})
    assert result.is_error is False
    data = result.structured_content
    assert data["lang"] == "fr" and data["citations"][0]["lang"] == "fr"
    expected = assistant.ask(question, top_k=3).to_dict()
    assert {k: v for k, v in data.items() if k != "timing_ms"} == {
        k: v for k, v in expected.items() if k != "timing_ms"}
    forced = await client.call_tool("ask_ai_act", {"question": question, "lang": "en"})
    assert forced.structured_content["lang"] == "en"
    bad = await client.call_tool("ask_ai_act", {"question": question, "lang": "it"})
    assert bad.is_error is True and "lang" in text_of(bad)
    shown = await client.call_tool("show_provision", {"ref": "Article 50(1)", "lang": "de"})
    assert shown.structured_content["text"].startswith("(1) Die Anbieter stellen sicher")
    checked = await client.call_tool("verify_quote", {
        "ref": "Article 50(1)", "quote": "Die Anbieter stellen sicher, dass", "lang": "de"})
    assert checked.structured_content["ok"] is True


async def test_ask_abstains_when_the_texts_do_not_cover_it(client):
    result = await client.call_tool("ask_ai_act", {"question": "What is the capital of Australia?"})
    assert result.structured_content["abstained"] is True
    assert result.structured_content["citations"] == []
    assert text_of(result).startswith("The indexed texts do not cover this question.")


async def test_show_provision_returns_verbatim_text_and_link(client, assistant):
    result = await client.call_tool("show_provision", {"ref": "Art. 50 (1)", "as_of": "2026-09-01"})
    data = result.structured_content
    official = assistant.show("Article 50(1)", as_of="2026-09-01")
    assert (data["ref"], data["text"], data["url"]) == (
        "Article 50(1)", official.text, official.url)
    assert text_of(result) == f"Article 50(1) — {official.title}\n{official.text}\n<{official.url}>"


async def test_assess_system_quotes_the_deciding_provision(client, assistant):
    description = "Our bank scores loan applicants' creditworthiness with a machine-learning model."
    result = await client.call_tool("assess_system", {"description": description,
                                                      "as_of": "2026-12-15"})
    assert result.is_error is False
    data = result.structured_content
    assert data["risk_level"] == "high_risk"
    assert data["reasons"][0]["ref"] == "Annex III, point 5(b)"
    assert assistant.verify("Annex III, point 5(b)", data["reasons"][0]["text"]).ok
    assert text_of(result).startswith("Risk level: high_risk")
    bad = await client.call_tool("assess_system", {"description": "A bot",
                                                   "facts": {"is_big": True}})
    assert bad.is_error is True and "unknown fact 'is_big'" in text_of(bad)


async def test_define_term_returns_the_article_3_definition(client, assistant):
    result = await client.call_tool("define_term", {"term": "deployer"})
    data = result.structured_content
    assert (data["ref"], data["term"]) == ("Article 3(4)", "deployer")
    assert data["text"] == assistant.define("deployer").text


async def test_verify_quote_accepts_official_text_and_rejects_an_altered_quote(client, assistant):
    official = assistant.show("Article 50(1)").text
    quote = "Providers shall ensure that AI systems intended to interact directly"
    ok = await client.call_tool("verify_quote", {"ref": "Article 50(1)", "quote": quote})
    assert ok.structured_content["ok"] is True
    assert text_of(ok).startswith("Verified: the quote is official text of Article 50(1)")
    altered = await client.call_tool("verify_quote", {
        "ref": "Article 50(1)", "quote": quote.replace("shall ensure", "may ensure")})
    assert altered.is_error is False
    assert altered.structured_content["ok"] is False
    assert altered.structured_content["reason"] == "text differs from the official wording"
    assert altered.structured_content["official_text"] == official
    assert text_of(altered).startswith("Not verified (text differs from the official wording).")


async def test_find_obligations_is_the_scenario_finder(client, assistant):
    result = await client.call_tool("find_obligations", {
        "role": "deployer", "system": "credit_scoring", "facts": {"high_risk": False},
        "as_of": "2026-09-01"})
    expected = assistant.checklist("deployer", "credit_scoring", facts={"high_risk": False},
                                   as_of="2026-09-01").to_dict()
    assert result.structured_content == expected
    first = expected["items"][0]
    assert f"[{first['status']}] {first['title']}: " in text_of(result)


@pytest.mark.parametrize("tool, arguments, message", [
    ("show_provision", {"ref": "Article 99"}, "No provision 'Article 99' in the knowledge base"),
    ("define_term", {"term": "unicorn"}, "No definition of 'unicorn'"),
    ("ask_ai_act", {"question": "   "}, "Please type a question"),
    ("ask_ai_act", {"question": "What is a deployer?", "as_of": "soon"}, "as_of"),
    ("find_obligations", {"role": "boss"}, "role"),
    ("find_obligations", {"role": "deployer", "facts": {"nope": True}}, "unknown fact 'nope'"),
    ("no_such_tool", {}, "no_such_tool"),
])
async def test_errors_come_back_as_tool_errors(client, tool, arguments, message):
    result = await client.call_tool(tool, arguments)
    assert result.is_error is True
    assert message in text_of(result)
    assert "Traceback" not in text_of(result)
    # the server is still there
    assert (await client.call_tool("define_term", {"term": "provider"})).is_error is False


async def test_provisions_are_resources(client, assistant):
    templates = (await client.list_resource_templates()).resource_templates
    assert [t.uri_template for t in templates] == ["aiact://provision/{ref}{?as_of}"]
    read = await client.read_resource("aiact://provision/Annex%20III%2C%20point%201%28a%29")
    official = assistant.show("Annex III, point 1(a)")
    assert read.contents[0].text == (
        f"Annex III, point 1(a) — {official.title}\n{official.text}\n<{official.url}>"
        if official.title else f"Annex III, point 1(a)\n{official.text}\n<{official.url}>")
    documents = await client.read_resource("aiact://documents")
    data = json.loads(documents.contents[0].text)
    assert [d["id"] for d in data["documents"]] == [
        "eu-ai-act", "guidelines-ai-system-definition", "guidelines-transparency-art50"]


async def test_unknown_provision_resource_is_an_mcp_error(client):
    from mcp import MCPError

    with pytest.raises(MCPError, match="No provision 'Article 99'"):
        await client.read_resource("aiact://provision/Article%2099")


async def test_http_transport_needs_the_token_and_serves_the_tools(small_kb, tmp_path):
    port = free_port()
    log = (tmp_path / "mcp.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "kb", "mcp", "--http", "--port", str(port)], cwd=ROOT,
        env=server_env(small_kb, KB_API_TOKEN="s3cret"), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                refused = httpx.post(url, json={}, timeout=5)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, \
                    (tmp_path / "mcp.log").read_text()
                time.sleep(0.3)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        headers = {"Authorization": "Bearer s3cret"}
        async with httpx2.AsyncClient(headers=headers, timeout=60) as http, \
                Client(streamable_http_client(url, http_client=http)) as client:
            assert {t.name for t in (await client.list_tools()).tools} == TOOLS
            result = await client.call_tool("verify_quote", {
                "ref": "Article 50(1)", "quote": "Providers shall ensure"})
            assert result.structured_content["ok"] is True
    finally:
        process.terminate()
        process.wait(timeout=30)
