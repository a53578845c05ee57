"""What a recorded answer says, read straight from the raw recording, independently of the router.

Each wire protocol gets a small reader that knows only the provider's documented answer shape: the
text, the reasoning text, the tool calls (name and parsed arguments), the finish reason in OpenAI's
vocabulary, the usage (OpenAI's accounting: completion counts reasoning, total = prompt + completion)
and, for an error answer, the typed error a careful reader expects. tests/test_harvested.py replays
every harvested recording through router.completion on a loopback server and grades the router's
answer against this reading; tests/harvest_score.py prints the pass rate.

Nothing here imports the router's codecs or specs: the two readings are made apart so that one can
catch the other.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import router

OPENAI_FINISH = {"stop", "length", "tool_calls", "content_filter", "function_call"}
# Non-OpenAI finish words some OpenAI-compatible servers send, and what they mean.
OTHER_FINISH = {
    "end_turn": "stop",
    "eos": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_length": "length",
    "tool_use": "tool_calls",
}


@dataclass
class Reading:
    text: str = ""
    reasoning: str = ""
    tools: list[tuple[Any, ...]] = field(default_factory=list)  # (name, args); ("custom", name, input)
    finish: str | None = None  # None: the recording does not say (not graded)
    usage: tuple[int, int, int] | None = None  # (prompt, completion, total); None: not reported
    error: type[router.APIError] | None = None  # the answer is an error of this class
    error_any: bool = False  # an error of any class is right (a failed answer with no status)


def _args(raw: Any) -> Any:
    if isinstance(raw, dict):
        return raw
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        return raw  # not JSON: kept as the text it is


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


# ----------------------------------------------------------------------------- errors


CONTEXT = (
    "context length",
    "context_length",
    "context window",
    "maximum context",
    "prompt is too long",
    "maximum prompt length",
    "input is too long",
    "too many tokens",
    "exceeds the maximum number of tokens",
    "input token count",
    "reduce the length",
)
BAD_KEY = (
    "api key not valid",
    "api_key_invalid",
    "invalid api key",
    "incorrect api key",
    "invalid x-api-key",
)
FILTER = ("content management policy", "flagged", "safety system", "content policy")


def _message_text(body: Any) -> str:
    return json.dumps(body).lower() if not isinstance(body, str) else body.lower()


def expected_error(status: int, body: Any) -> type[router.APIError]:
    """The class a status and message mean, by the providers' documented meanings."""
    text = _message_text(body)
    if "request too large" in text and "tokens per min" in text:
        return router.RateLimitError
    if status == 429:
        return router.RateLimitError
    if any(p in text for p in BAD_KEY):
        return router.AuthenticationError
    if status in (400, 413, 422) and any(p in text for p in CONTEXT):
        return router.ContextWindowExceededError
    if status in (400, 403) and any(p in text for p in FILTER):
        return router.ContentFilterError
    if status in (400, 409, 413, 422):
        return router.BadRequestError
    if status == 401:
        return router.AuthenticationError
    if status in (402, 403):
        return router.PermissionDeniedError
    if status == 404:
        return router.NotFoundError
    if status in (408, 504):
        return router.APITimeoutError
    if status in (503, 529) or "overloaded" in text:
        return router.ServiceUnavailableError
    if status >= 500:
        return router.InternalServerError
    return router.APIError


def error_matches(err: router.APIError, reading: Reading) -> bool:
    if reading.error_any:
        return True
    want = reading.error
    assert want is not None
    if want is router.RateLimitError:
        return isinstance(err, router.RateLimitError)
    if want is router.APITimeoutError:  # a gateway timeout may be typed as a 5xx by the spec
        return isinstance(err, router.APITimeoutError | router.InternalServerError)
    if want in (router.InternalServerError, router.ServiceUnavailableError):
        return isinstance(err, router.InternalServerError | router.ServiceUnavailableError)
    if want is router.PermissionDeniedError:  # a provider may document its 403 as a bad key
        return isinstance(err, router.PermissionDeniedError | router.AuthenticationError)
    if want is router.BadRequestError:  # the provider's own 400 for an unsupported parameter
        return type(err) in (router.BadRequestError, router.UnsupportedParamsError)
    return type(err) is want


# ----------------------------------------------------------------------------- SSE


def sse_events(raw: str) -> list[tuple[str | None, str]]:
    """(event name, data) for each SSE event (comments skipped, CRLF allowed)."""
    out = []
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    for block in text.split("\n\n"):
        name = None
        data: list[str] = []
        for line in block.split("\n"):
            if line.startswith(":") or not line.strip():
                continue
            key, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if key == "event":
                name = value.strip()
            elif key == "data":
                data.append(value)
        if data:
            out.append((name, "\n".join(data)))
    return out


def _frames(raw: str) -> list[tuple[str | None, Any]]:
    """Decoded JSON frames of a stream: SSE, NDJSON or one JSON array."""
    stripped = raw.strip()
    if stripped.startswith("["):
        try:
            return [(None, x) for x in json.loads(stripped)]
        except ValueError:
            pass
    if "data:" in raw:
        frames = []
        for name, data in sse_events(raw):
            if data.strip() == "[DONE]":
                continue
            try:
                frames.append((name, json.loads(data)))
            except ValueError:
                frames.append((name, data))
        return frames
    return [(None, json.loads(line)) for line in raw.splitlines() if line.strip()]


def _body_error(status: int, data: Any) -> Reading | None:
    if isinstance(data, dict) and data.get("error") is not None and "choices" not in data:
        err = data["error"]
        inner = None
        if isinstance(err, dict):
            inner = _int(err.get("status_code")) or _int(err.get("code"))
        code = inner if inner and 400 <= inner < 600 else (status if status >= 400 else 500)
        return Reading(error=expected_error(code, data))
    return None


# ----------------------------------------------------------------------------- openai-chat


def _openai_usage(u: Any) -> tuple[int, int, int] | None:
    if not isinstance(u, dict) or _int(u.get("prompt_tokens")) is None:
        return None
    if _int(u.get("completion_tokens")) is None:
        return None
    p, c = u["prompt_tokens"], u["completion_tokens"]
    r = _int((u.get("completion_tokens_details") or {}).get("reasoning_tokens")) or 0
    t = _int(u.get("total_tokens"))
    if r and t == p + c + r:  # the provider left reasoning out of completion_tokens
        c += r
    return (p, c, p + c)


def _openai_text(content: Any) -> tuple[str, str]:
    if isinstance(content, str):
        return content, ""
    if isinstance(content, dict):  # a JSON answer sent as a JSON value (Cloudflare): its JSON text
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")), ""
    text, thought = "", ""
    for part in content or ():
        if isinstance(part, dict) and part.get("type") == "text":
            text += part.get("text") or ""
        elif isinstance(part, dict) and part.get("type") == "thinking":
            for t in part.get("thinking") or ():
                thought += t.get("text") or "" if isinstance(t, dict) else str(t)
    return text, thought


def _openai_finish(native: Any, tools: bool) -> str | None:
    if native is None:
        return None
    if native in OPENAI_FINISH:
        return str(native)
    return OTHER_FINISH.get(native)


def read_openai_chat(case: dict[str, Any]) -> Reading:
    r = case["response"]
    if not case["stream"]:
        data = r["body"]
        err = _body_error(r["status"], data)
        if err is not None:
            return err
        choice = data["choices"][0]
        m = choice.get("message") or {}
        text, thought = _openai_text(m.get("content"))
        reasoning = m.get("reasoning_content") or (
            m.get("reasoning") if isinstance(m.get("reasoning"), str) else ""
        )
        tools = [
            ("custom", tc["custom"]["name"], tc["custom"].get("input") or "")
            if tc.get("type") == "custom"  # a custom tool's call: its input is text, not JSON
            else (tc["function"]["name"], _args(tc["function"].get("arguments")))
            for tc in m.get("tool_calls") or ()
        ]
        if m.get("function_call"):
            tools.append((m["function_call"]["name"], _args(m["function_call"].get("arguments"))))
        return Reading(
            text=text,
            reasoning=(reasoning or "") + thought,
            tools=tools,
            finish=_openai_finish(choice.get("finish_reason"), bool(tools)),
            usage=_openai_usage(data.get("usage")),
        )
    text, reasoning, finish, usage = "", "", None, None
    calls: dict[int, list[Any]] = {}
    for _name, data in _frames(r["raw_stream"]):
        err = _body_error(200, data)
        if err is not None:
            return err
        if not isinstance(data, dict):
            continue
        u = _openai_usage(data.get("usage")) or _openai_usage((data.get("x_groq") or {}).get("usage"))
        if u is not None:
            usage = u
        for c in data.get("choices") or ():
            if c.get("index", 0) != 0:
                continue
            d = c.get("delta") or {}
            t, th = _openai_text(d.get("content"))
            text += t or ""
            rc = d.get("reasoning_content")
            if rc is None and isinstance(d.get("reasoning"), str):
                rc = d["reasoning"]
            reasoning += (rc or "") + th
            for i, tc in enumerate(d.get("tool_calls") or ()):
                slot = calls.setdefault(tc.get("index", i), ["", ""])
                if tc.get("type") == "custom" or len(slot) == 3:
                    if len(slot) == 2:
                        slot.append("custom")
                    custom = tc.get("custom") or {}
                    slot[0] = custom.get("name") or slot[0]
                    slot[1] += custom.get("input") or ""
                    continue
                fn = tc.get("function") or {}
                slot[0] = fn.get("name") or slot[0]
                slot[1] += (
                    fn.get("arguments") or ""
                    if isinstance(fn.get("arguments"), str | None)
                    else json.dumps(fn["arguments"])
                )
            if finish is None and c.get("finish_reason") is not None:
                finish = _openai_finish(c["finish_reason"], bool(calls))
    tools = [("custom", s[0], s[1]) if len(s) == 3 else (s[0], _args(s[1])) for _, s in sorted(calls.items())]
    if finish is None:
        finish = "tool_calls" if tools else "stop"
    return Reading(text=text, reasoning=reasoning, tools=tools, finish=finish, usage=usage)


# ----------------------------------------------------------------------------- anthropic-messages

ANTHROPIC_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def _anthropic_usage(u: dict[str, Any]) -> tuple[int, int, int] | None:
    if _int(u.get("output_tokens")) is None:
        return None
    p = sum(
        _int(u.get(k)) or 0
        for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    )
    c = u["output_tokens"]
    return (p, c, p + c)


def read_anthropic(case: dict[str, Any]) -> Reading:
    r = case["response"]
    if not case["stream"]:
        data = r["body"]
        if data.get("type") == "error":
            return Reading(error=expected_error(r["status"] if r["status"] >= 400 else 500, data))
        text, thought, tools = "", "", []
        for b in data.get("content") or ():
            if b["type"] == "text":
                text += b["text"]
            elif b["type"] == "thinking":
                thought += b.get("thinking") or ""
            elif b["type"] == "tool_use":
                tools.append((b["name"], b.get("input") or {}))
        return Reading(
            text=text,
            reasoning=thought,
            tools=tools,
            finish=ANTHROPIC_FINISH.get(data.get("stop_reason")),
            usage=_anthropic_usage(data.get("usage") or {}),
        )
    text, thought, finish = "", "", None
    usage: dict[str, Any] = {}
    blocks: dict[int, list[Any]] = {}
    for name, data in _frames(r["raw_stream"]):
        kind = data.get("type") if isinstance(data, dict) else name
        if kind == "error" or name == "error":
            return Reading(error=expected_error(_anthropic_status(data), data))
        if kind == "message_start":
            usage.update({k: v for k, v in (data["message"].get("usage") or {}).items() if v is not None})
            # a message that starts complete (programmatic tool calling): its blocks and stop reason
            for b in data["message"].get("content") or ():
                if b.get("type") == "text":
                    text += b.get("text") or ""
                elif b.get("type") == "tool_use":
                    blocks[-1 - len(blocks)] = [b["name"], json.dumps(b.get("input") or {})]
            finish = ANTHROPIC_FINISH.get(data["message"].get("stop_reason"), finish)
        elif kind == "content_block_start":
            b = data["content_block"]
            if b["type"] == "tool_use":
                # input arrives whole on the start block or as input_json_delta fragments
                blocks[data["index"]] = [b["name"], json.dumps(b["input"]) if b.get("input") else ""]
            elif b["type"] not in ("text", "thinking", "redacted_thinking"):
                blocks[data["index"]] = [None, ""]  # run by Anthropic (web search, MCP): not the caller's
            elif b["type"] == "text":
                text += b.get("text") or ""
        elif kind == "content_block_delta":
            d = data["delta"]
            if d["type"] == "text_delta":
                text += d["text"]
            elif d["type"] == "thinking_delta":
                thought += d["thinking"]
            elif d["type"] == "input_json_delta" and data["index"] in blocks:
                blocks[data["index"]][1] += d["partial_json"]
        elif kind == "message_delta":
            finish = ANTHROPIC_FINISH.get((data.get("delta") or {}).get("stop_reason"), finish)
            usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
    tools = [(n, _args(a)) for _, (n, a) in sorted(blocks.items()) if n is not None]
    return Reading(text=text, reasoning=thought, tools=tools, finish=finish, usage=_anthropic_usage(usage))


def _anthropic_status(data: Any) -> int:
    kind = ((data or {}).get("error") or {}).get("type") if isinstance(data, dict) else None
    return {
        "overloaded_error": 529,
        "rate_limit_error": 429,
        "api_error": 500,
        "invalid_request_error": 400,
        "authentication_error": 401,
        "permission_error": 403,
        "not_found_error": 404,
    }.get(kind or "", 500)


# ----------------------------------------------------------------------------- gemini

GEMINI_FILTER = {
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "IMAGE_SAFETY",
    "LANGUAGE",
}


def _gemini_usage(u: Any) -> tuple[int, int, int] | None:
    if not isinstance(u, dict) or _int(u.get("promptTokenCount")) is None:
        return None
    p = u["promptTokenCount"] + (_int(u.get("toolUsePromptTokenCount")) or 0)
    c = (_int(u.get("candidatesTokenCount")) or 0) + (_int(u.get("thoughtsTokenCount")) or 0)
    return (p, c, p + c)


def _gemini_finish(native: Any, tools: bool) -> str | None:
    if native is None:
        return None
    if native == "STOP":
        return "tool_calls" if tools else "stop"
    if native == "MAX_TOKENS":
        return "length"
    if native in GEMINI_FILTER:
        return "content_filter"
    return None


def _partial_args(call: list[Any], partial: Any) -> None:
    """Apply Vertex AI streamed argument fragments ({jsonPath, *Value, willContinue}) to call[1]."""
    for arg in partial or ():
        path = arg["jsonPath"]
        value = next((arg[k] for k in ("stringValue", "numberValue", "boolValue") if k in arg), None)
        keys: list[Any] = []
        for m in re.finditer(r"\.([^.\[\]]+)|\[(\d+)\]", path[1:]):
            keys.append(int(m.group(2)) if m.group(2) else m.group(1))
        node = call[1]
        for k, nxt in itertools.pairwise(keys):
            if isinstance(k, int):
                while len(node) <= k:
                    node.append([] if isinstance(nxt, int) else {})
                node = node[k]
            else:
                node = node.setdefault(k, [] if isinstance(nxt, int) else {})
        last = keys[-1]
        if isinstance(last, int):
            while len(node) <= last:
                node.append(None)
        old = node[last] if isinstance(last, int) else node.get(last)
        continuing = path in call[2] and isinstance(old, str) and isinstance(value, str)
        node[last] = old + value if continuing else value
        if arg.get("willContinue") and isinstance(value, str):
            call[2].add(path)
        else:
            call[2].discard(path)


def read_gemini(case: dict[str, Any]) -> Reading:
    r = case["response"]
    frames = [(None, r["body"])] if not case["stream"] else _frames(r["raw_stream"])
    text, thought, finish, usage = "", "", None, None
    tools: list[tuple[str, Any]] = []
    streaming: list[Any] | None = None  # [name, args] of a call whose arguments stream as partialArgs
    for _name, data in frames:
        if isinstance(data, dict) and data.get("error") is not None:
            status = _int(data["error"].get("code")) or r["status"]
            return Reading(error=expected_error(status if status >= 400 else 500, data))
        for cand in (data.get("candidates") or ())[:1]:
            for part in (cand.get("content") or {}).get("parts") or ():
                fc = part.get("functionCall")
                if fc is not None and fc.get("name") and fc.get("willContinue"):
                    streaming = [fc["name"], {}, set()]
                    _partial_args(streaming, fc.get("partialArgs"))
                elif fc is not None and streaming is not None and not fc.get("name"):
                    _partial_args(streaming, fc.get("partialArgs"))
                    if not fc.get("willContinue"):
                        tools.append((streaming[0], streaming[1]))
                        streaming = None
                elif fc is not None:
                    tools.append((fc["name"], fc.get("args") or {}))
                elif part.get("thought"):
                    thought += part.get("text") or ""
                elif "text" in part:
                    text += part["text"]
            if cand.get("finishReason"):
                finish = cand["finishReason"]
                if streaming is not None:
                    tools.append((streaming[0], streaming[1]))
                    streaming = None
        u = _gemini_usage(data.get("usageMetadata"))
        if u is not None:
            usage = u
    return Reading(
        text=text, reasoning=thought, tools=tools, finish=_gemini_finish(finish, bool(tools)), usage=usage
    )


# ----------------------------------------------------------------------------- cohere-chat-v2

COHERE_FINISH = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
}


def _cohere_usage(u: Any) -> tuple[int, int, int] | None:
    if not isinstance(u, dict):
        return None
    for key in ("tokens", "billed_units"):
        t = u.get(key) or {}
        if _int(t.get("input_tokens")) is not None:
            p, c = int(t["input_tokens"]), int(t.get("output_tokens") or 0)
            return (p, c, p + c)
    return None


def read_cohere(case: dict[str, Any]) -> Reading:
    r = case["response"]
    if not case["stream"]:
        data = r["body"]
        m = data.get("message") or {}
        text = "".join(p.get("text") or "" for p in m.get("content") or () if p.get("type") == "text")
        thought = "".join(
            p.get("thinking") or "" for p in m.get("content") or () if p.get("type") == "thinking"
        )
        tools = [
            (tc["function"]["name"], _args(tc["function"].get("arguments")))
            for tc in m.get("tool_calls") or ()
        ]
        native = data.get("finish_reason")
        if native == "ERROR":
            return Reading(error_any=True)
        return Reading(
            text=text,
            reasoning=thought,
            tools=tools,
            finish=COHERE_FINISH.get(native),
            usage=_cohere_usage(data.get("usage")),
        )
    text, thought, finish, usage = "", "", None, None
    calls: dict[int, list[str]] = {}
    for name, data in _frames(r["raw_stream"]):
        kind = data.get("type") if isinstance(data, dict) else name
        d = (data.get("delta") or {}) if isinstance(data, dict) else {}
        msg = d.get("message") or {}
        if kind == "content-delta":
            c = msg.get("content") or {}
            text += c.get("text") or ""
            thought += c.get("thinking") or ""
        elif kind == "tool-call-start":
            tc = msg.get("tool_calls") or {}
            calls[data.get("index", len(calls))] = [
                tc["function"]["name"],
                tc["function"].get("arguments") or "",
            ]
        elif kind == "tool-call-delta":
            tc = msg.get("tool_calls") or {}
            calls[data.get("index", len(calls) - 1)][1] += (tc.get("function") or {}).get("arguments") or ""
        elif kind == "message-end":
            if d.get("finish_reason") == "ERROR":
                return Reading(error_any=True)
            finish = COHERE_FINISH.get(d.get("finish_reason"))
            usage = _cohere_usage(d.get("usage"))
    tools = [(n, _args(a)) for _, (n, a) in sorted(calls.items())]
    return Reading(text=text, reasoning=thought, tools=tools, finish=finish, usage=usage)


# ----------------------------------------------------------------------------- openai-responses


def _responses_reading(resp: dict[str, Any]) -> Reading:
    text, thought, tools = "", "", []
    for item in resp.get("output") or ():
        if item.get("type") == "message":
            for part in item.get("content") or ():
                if part.get("type") == "output_text":
                    text += part.get("text") or ""
        elif item.get("type") == "reasoning":  # summary parts are paragraphs: a blank line between
            parts = [s.get("text") or "" for s in item.get("summary") or ()]
            if not parts:  # servers that send the reasoning text itself (DeepSeek's Responses API)
                parts = [
                    c.get("text") or ""
                    for c in item.get("content") or ()
                    if c.get("type") == "reasoning_text"
                ]
            thought += ("\n\n" if thought and parts else "") + "\n\n".join(parts)
        elif item.get("type") == "function_call":
            tools.append((item["name"], _args(item.get("arguments"))))
        elif item.get("type") == "custom_tool_call":  # a custom tool's call: its input is text
            tools.append(("custom", item["name"], item.get("input") or ""))
    status = resp.get("status")
    if status == "failed":
        err = resp.get("error") or {}
        return Reading(error=expected_error(500 if err.get("code") == "server_error" else 400, err))
    reason = (resp.get("incomplete_details") or {}).get("reason")
    if status == "incomplete":
        finish = "content_filter" if reason == "content_filter" else "length"
    elif status == "completed":
        finish = "tool_calls" if tools else "stop"
    else:
        finish = None
    u = resp.get("usage") or {}
    usage = None
    if _int(u.get("input_tokens")) is not None:
        p, c = u["input_tokens"], u.get("output_tokens") or 0
        usage = (p, c, p + c)
    return Reading(text=text, reasoning=thought, tools=tools, finish=finish, usage=usage)


def read_responses(case: dict[str, Any]) -> Reading:
    r = case["response"]
    if not case["stream"]:
        data = r["body"]
        if isinstance(data, dict) and data.get("error") and not data.get("output"):
            return Reading(error=expected_error(r["status"] if r["status"] >= 400 else 500, data))
        return _responses_reading(data)
    last = None
    items: list[Any] = []
    for name, data in _frames(r["raw_stream"]):
        kind = data.get("type") if isinstance(data, dict) else name
        if kind == "error":
            return Reading(error_any=True)
        if kind == "response.output_item.done":
            items.append(data["item"])
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            last = data["response"]
    if last is None:
        return Reading(error=router.APIConnectionError)
    if not last.get("output") and items:  # a final event that does not repeat the items streamed
        last = {**last, "output": items}
    return _responses_reading(last)


# ----------------------------------------------------------------------------- ollama-chat


def read_ollama(case: dict[str, Any]) -> Reading:
    r = case["response"]
    frames = [(None, r["body"])] if not case["stream"] else _frames(r["raw_stream"])
    text, thought, finish, usage = "", "", None, None
    tools: list[tuple[str, Any]] = []
    for _name, data in frames:
        if data.get("error"):
            return Reading(error=expected_error(r["status"] if r["status"] >= 400 else 500, data))
        m = data.get("message") or {}
        text += m.get("content") or ""
        thought += m.get("thinking") or ""
        for tc in m.get("tool_calls") or ():
            tools.append((tc["function"]["name"], _args(tc["function"].get("arguments"))))
        if data.get("done"):
            reason = data.get("done_reason") or "stop"
            finish = (
                "tool_calls"
                if tools and reason == "stop"
                else {"stop": "stop", "length": "length"}.get(reason)
            )
            if _int(data.get("prompt_eval_count")) is not None or _int(data.get("eval_count")) is not None:
                p, c = data.get("prompt_eval_count") or 0, data.get("eval_count") or 0
                usage = (p, c, p + c)
    return Reading(text=text, reasoning=thought, tools=tools, finish=finish, usage=usage)


READERS = {
    "openai-chat": read_openai_chat,
    "mistral-chat": read_openai_chat,
    "anthropic-messages": read_anthropic,
    "gemini-generate": read_gemini,
    "gemini-stream": read_gemini,
    "cohere-chat-v2": read_cohere,
    "openai-responses": read_responses,
    "ollama-chat": read_ollama,
}


def read(case: dict[str, Any]) -> Reading:
    """The reading of one recorded case (an error answer's class from its status and message)."""
    r = case["response"]
    if r["status"] >= 400:
        body = r.get("body") if r.get("body") is not None else r.get("raw_body") or r.get("raw_stream")
        return Reading(error=expected_error(r["status"], body))
    if (
        case["stream"]
        and r.get("raw_stream")
        and any(isinstance(d, str) for _, d in _frames(r["raw_stream"]))
    ):
        return Reading(error=router.InvalidResponseError)  # a frame that is not JSON: a bad answer
    return READERS[case["api"]](case)


def grade(result: Any, reading: Reading) -> list[str]:
    """What the router's unified answer gets wrong against the reading ([] when it is exact)."""
    problems = []
    choice = result.choices[0]
    m = choice.message
    if (m.content or "") != reading.text:
        problems.append(f"text {m.content!r:.80} != {reading.text!r:.80}")
    if (m.reasoning_content or "") != reading.reasoning:
        problems.append(f"reasoning {m.reasoning_content!r:.60} != {reading.reasoning!r:.60}")
    ours: list[tuple[Any, ...]] = []
    for tc in m.tool_calls or ():
        if tc.type == "custom":
            ours.append(("custom", tc.custom.name, tc.custom.input))
            continue
        try:
            ours.append((tc.function.name, json.loads(tc.function.arguments)))
        except ValueError:
            problems.append(
                f"tool call {tc.function.name} arguments are not JSON: {tc.function.arguments!r:.60}"
            )
            ours.append((tc.function.name, tc.function.arguments))
    legacy = getattr(m, "function_call", None)  # the legacy answer shape
    if legacy is not None:
        try:
            ours.append((legacy.name, json.loads(legacy.arguments)))
        except ValueError:
            problems.append("function_call arguments are not JSON")
    if ours != reading.tools:
        problems.append(f"tools {ours!r:.120} != {reading.tools!r:.120}")
    if reading.finish is not None and choice.finish_reason != reading.finish:
        problems.append(
            f"finish {choice.finish_reason!r} != {reading.finish!r} (native {choice.native_finish_reason!r})"
        )
    if reading.usage is not None:
        u = result.usage
        got = None if u is None else (u.prompt_tokens, u.completion_tokens, u.total_tokens)
        if got != reading.usage:
            problems.append(f"usage {got} != {reading.usage}")
    if (
        result.usage is not None
        and result.usage.prompt_tokens + result.usage.completion_tokens != result.usage.total_tokens
    ):
        problems.append("usage: prompt + completion != total")
    return problems
