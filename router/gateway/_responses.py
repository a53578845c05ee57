"""Inbound OpenAI Responses (``POST /v1/responses``), stateless.

Input items (messages with ``input_text``/``input_image``/``output_text`` parts, ``function_call``,
``function_call_output``), ``instructions``, function tools, ``tool_choice``, ``reasoning.effort``,
``text.format`` (JSON schema) and ``max_output_tokens`` become the unified request; the unified
answer becomes a Response (``reasoning``, ``message`` and ``function_call`` output items, usage), and a
stream becomes the Responses event sequence (``response.created`` ... ``response.completed``, each
with its ``sequence_number``). Anything that needs server-side state (``previous_response_id``,
``store: true`` retrieval, built-in tools) is refused with 400 naming the field, not dropped.
Reference: https://platform.openai.com/docs/api-reference/responses
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from router._types import ChatCompletion
from router._types import ChatCompletionChunk
from router._types import Usage
from router.gateway._errors import GatewayError
from router.protocols._normalise import new_id

__all__ = ["Inbound", "StreamWriter", "parse_request", "response_body"]

_UNSUPPORTED = ("previous_response_id", "conversation", "background", "prompt")


@dataclass
class Inbound:
    model: str
    messages: list[dict[str, Any]]
    stream: bool
    kwargs: dict[str, Any]
    echo: dict[str, Any]  # request fields a Response repeats (tools, tool_choice, instructions...)


def _dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def _bad(message: str, param: str) -> GatewayError:
    return GatewayError(400, "bad_request", message, param=param)


def _parts(content: Any, where: str) -> Any:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _bad("'content' must be a string or an array of parts", where)
    out: list[dict[str, Any]] = []
    for j, p in enumerate(content):
        kind = p.get("type") if isinstance(p, dict) else None
        if kind in ("input_text", "output_text", "text"):
            out.append({"type": "text", "text": p.get("text", "")})
        elif kind == "input_image":
            url = p.get("image_url")
            if not isinstance(url, str):
                raise _bad("input_image needs an image_url (file_id needs server state)", f"{where}[{j}]")
            out.append({"type": "image_url", "image_url": {"url": url, "detail": p.get("detail", "auto")}})
        else:
            raise _bad(f"a content part of type {kind!r} is not supported", f"{where}[{j}]")
    return out


def _convert(items: Any) -> list[dict[str, Any]]:
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    if not isinstance(items, list) or not items:
        raise _bad("'input' must be a string or a non-empty array of items", "input")
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise _bad("an input item must be an object", where)
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if role not in ("user", "assistant", "system", "developer"):
                raise _bad("a message needs a role of user, assistant, system or developer", where + ".role")
            content = _parts(item.get("content"), where + ".content")
            if role == "assistant" and isinstance(content, list):
                content = "".join(p.get("text", "") for p in content)
            out.append({"role": role, "content": content})
        elif kind == "function_call":
            call = {
                "id": item.get("call_id"),
                "type": "function",
                "function": {"name": item.get("name"), "arguments": item.get("arguments") or "{}"},
            }
            last = out[-1] if out else None
            if last is not None and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            else:
                out.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            if isinstance(output, list):
                output = "".join(p.get("text", "") for p in output if isinstance(p, dict))
            out.append({"role": "tool", "tool_call_id": item.get("call_id"), "content": str(output or "")})
        elif kind == "reasoning":
            continue  # a previous turn's reasoning summary: the unified request has no place for it
        else:
            raise _bad(f"an input item of type {kind!r} is not supported", where + ".type")
    return out


def parse_request(body: Any) -> Inbound:
    if not isinstance(body, dict):
        raise GatewayError(400, "bad_request", "the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("'model' must be a non-empty string", "model")
    for name in _UNSUPPORTED:
        if body.get(name) is not None:
            raise _bad(f"{name!r} needs server-side state; this gateway is stateless", name)
    messages: list[dict[str, Any]] = []
    if isinstance(body.get("instructions"), str) and body["instructions"]:
        messages.append({"role": "system", "content": body["instructions"]})
    messages += _convert(body.get("input"))
    kwargs: dict[str, Any] = {}
    for name, value in body.items():
        if name in (
            "model",
            "input",
            "instructions",
            "stream",
            "store",
            "include",
            "truncation",
            *_UNSUPPORTED,
        ):
            continue
        if name == "max_output_tokens":
            kwargs["max_tokens"] = value
        elif name in ("temperature", "top_p", "parallel_tool_calls", "user", "metadata", "service_tier"):
            kwargs[name] = value
        elif name == "reasoning":
            if isinstance(value, dict) and value.get("effort"):
                kwargs["reasoning_effort"] = value["effort"]
        elif name == "tools":
            tools = []
            for j, t in enumerate(value or []):
                if not isinstance(t, dict) or t.get("type") != "function":
                    kind = t.get("type") if isinstance(t, dict) else None
                    raise _bad(
                        f"a tool of type {kind!r} is not supported (function tools only)", f"tools[{j}]"
                    )
                fn: dict[str, Any] = {
                    "name": t.get("name"),
                    "parameters": t.get("parameters") or {"type": "object"},
                }
                if t.get("description"):
                    fn["description"] = t["description"]
                if t.get("strict") is not None:
                    fn["strict"] = t["strict"]
                tools.append({"type": "function", "function": fn})
            kwargs["tools"] = tools
        elif name == "tool_choice":
            if isinstance(value, dict) and value.get("type") == "function":
                kwargs["tool_choice"] = {"type": "function", "function": {"name": value.get("name")}}
            elif value in ("auto", "none", "required"):
                kwargs["tool_choice"] = value
            else:
                raise _bad("tool_choice must be auto, none, required or a function", "tool_choice")
        elif name == "text":
            fmt = value.get("format") if isinstance(value, dict) else None
            if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
                kwargs["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": fmt.get("name", "response"),
                        "schema": fmt.get("schema") or {},
                        **({"strict": fmt["strict"]} if "strict" in fmt else {}),
                    },
                }
            elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
                kwargs["response_format"] = {"type": "json_object"}
        else:
            raise _bad(f"the field {name!r} is not supported by this gateway", name)
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise _bad("'stream' must be a boolean", "stream")
    echo = {
        "instructions": body.get("instructions"),
        "tools": body.get("tools") or [],
        "tool_choice": body.get("tool_choice", "auto"),
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "temperature": body.get("temperature"),
        "top_p": body.get("top_p"),
        "max_output_tokens": body.get("max_output_tokens"),
        "metadata": body.get("metadata") or {},
    }
    return Inbound(model, messages, stream, kwargs, echo)


def _usage(u: Usage | None) -> dict[str, Any] | None:
    if u is None:
        return None
    return {
        "input_tokens": u.prompt_tokens,
        "input_tokens_details": {
            "cached_tokens": u.prompt_tokens_details.cached_tokens or 0,
            "cache_write_tokens": u.prompt_tokens_details.cache_write_tokens or 0,
        },
        "output_tokens": u.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": u.completion_tokens_details.reasoning_tokens or 0},
        "total_tokens": u.total_tokens,
    }


def _rid(raw: str) -> str:
    return raw if raw.startswith("resp_") else "resp_" + (raw.removeprefix("chatcmpl-") or new_id(""))


def _envelope(rid: str, model: str, echo: dict[str, Any], status: str, created: int) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "response",
        "created_at": created,
        "status": status,
        "model": model,
        "output": [],
        "error": None,
        "incomplete_details": None,
        "usage": None,
        **echo,
    }


def _finish(data: dict[str, Any], finish: Any) -> None:
    if finish == "length":
        data["status"] = "incomplete"
        data["incomplete_details"] = {"reason": "max_output_tokens"}
    elif finish == "content_filter":
        data["status"] = "incomplete"
        data["incomplete_details"] = {"reason": "content_filter"}
    else:
        data["status"] = "completed"


def response_body(resp: ChatCompletion, inbound: Inbound) -> bytes:
    rid = _rid(resp.id or "")
    data = _envelope(
        rid, resp.model or inbound.model, inbound.echo, "completed", resp.created or int(time.time())
    )
    choice = resp.choices[0] if resp.choices else None
    output: list[dict[str, Any]] = []
    if choice is not None:
        m = choice.message
        if m.reasoning_content:
            output.append(
                {
                    "type": "reasoning",
                    "id": f"rs_{rid[5:]}",
                    "summary": [{"type": "summary_text", "text": m.reasoning_content}],
                }
            )
        if m.content is not None or m.refusal:
            content: list[dict[str, Any]] = []
            if m.content is not None:
                content.append({"type": "output_text", "text": m.content, "annotations": []})
            if m.refusal:
                content.append({"type": "refusal", "refusal": m.refusal})
            output.append(
                {
                    "type": "message",
                    "id": f"msg_{rid[5:]}",
                    "status": "completed",
                    "role": "assistant",
                    "content": content,
                }
            )
        for tc in m.tool_calls or ():
            output.append(
                {
                    "type": "function_call",
                    "id": f"fc_{tc.id}",
                    "call_id": tc.id,
                    "name": tc.function.name,
                    "arguments": tc.function.arguments,
                    "status": "completed",
                }
            )
        _finish(data, choice.finish_reason)
    data["output"] = output
    data["usage"] = _usage(resp.usage)
    return _dumps(data)


class StreamWriter:
    """Unified chunks in, Responses stream events out."""

    def __init__(self, inbound: Inbound) -> None:
        self.inbound = inbound
        self.seq = 0
        self.rid = ""
        self.created = int(time.time())
        self.model = inbound.model
        self.output: list[dict[str, Any]] = []
        self.open: dict[str, Any] | None = None  # the output item being streamed
        self.calls: dict[int, dict[str, Any]] = {}
        self.finish: Any = None
        self.usage: Usage | None = None

    def _event(self, name: str, data: dict[str, Any]) -> bytes:
        self.seq += 1
        payload = {"type": name, "sequence_number": self.seq - 1, **data}
        return b"event: " + name.encode() + b"\ndata: " + _dumps(payload) + b"\n\n"

    def _snapshot(self, status: str) -> dict[str, Any]:
        data = _envelope(self.rid, self.model, self.inbound.echo, status, self.created)
        data["output"] = list(self.output)
        return data

    def _close(self) -> bytes:
        item = self.open
        if item is None:
            return b""
        self.open = None
        out = b""
        index = self.output.index(item)
        if item["type"] == "message":
            part = item["content"][0]
            out += self._event(
                "response.output_text.done",
                {
                    "item_id": item["id"],
                    "output_index": index,
                    "content_index": 0,
                    "text": part["text"],
                    "logprobs": [],
                },
            )
            out += self._event(
                "response.content_part.done",
                {"item_id": item["id"], "output_index": index, "content_index": 0, "part": part},
            )
        elif item["type"] == "function_call":
            out += self._event(
                "response.function_call_arguments.done",
                {"item_id": item["id"], "output_index": index, "arguments": item["arguments"]},
            )
        elif item["type"] == "reasoning":
            part = item["summary"][0]
            out += self._event(
                "response.reasoning_summary_text.done",
                {"item_id": item["id"], "output_index": index, "summary_index": 0, "text": part["text"]},
            )
        item["status"] = "completed"
        if item["type"] == "reasoning":
            item.pop("status")
        return out + self._event("response.output_item.done", {"output_index": index, "item": dict(item)})

    def _begin(self, item: dict[str, Any]) -> bytes:
        out = self._close()
        self.output.append(item)
        self.open = item
        added = {k: v for k, v in item.items()}
        if item["type"] == "message":
            added["content"] = []
        out += self._event(
            "response.output_item.added", {"output_index": len(self.output) - 1, "item": added}
        )
        if item["type"] == "message":
            out += self._event(
                "response.content_part.added",
                {
                    "item_id": item["id"],
                    "output_index": len(self.output) - 1,
                    "content_index": 0,
                    "part": {"type": "output_text", "text": "", "annotations": []},
                },
            )
        return out

    def feed(self, chunk: ChatCompletionChunk) -> bytes:
        out = b""
        if not self.rid:
            self.rid = _rid(chunk.id or "")
            self.model = chunk.model or self.model
            out += self._event("response.created", {"response": self._snapshot("in_progress")})
            out += self._event("response.in_progress", {"response": self._snapshot("in_progress")})
        if chunk.usage is not None:
            self.usage = chunk.usage
        tail = self.rid[5:]
        for choice in chunk.choices[:1]:
            d = choice.delta
            if d.reasoning_content:
                if self.open is None or self.open["type"] != "reasoning":
                    out += self._begin(
                        {
                            "type": "reasoning",
                            "id": f"rs_{tail}",
                            "summary": [{"type": "summary_text", "text": ""}],
                        }
                    )
                    out += self._event(
                        "response.reasoning_summary_part.added",
                        {
                            "item_id": f"rs_{tail}",
                            "output_index": len(self.output) - 1,
                            "summary_index": 0,
                            "part": {"type": "summary_text", "text": ""},
                        },
                    )
                assert self.open is not None
                self.open["summary"][0]["text"] += d.reasoning_content
                out += self._event(
                    "response.reasoning_summary_text.delta",
                    {
                        "item_id": self.open["id"],
                        "output_index": len(self.output) - 1,
                        "summary_index": 0,
                        "delta": d.reasoning_content,
                    },
                )
            if d.content:
                if self.open is None or self.open["type"] != "message":
                    out += self._begin(
                        {
                            "type": "message",
                            "id": f"msg_{tail}",
                            "status": "in_progress",
                            "role": "assistant",
                            "content": [{"type": "output_text", "text": "", "annotations": []}],
                        }
                    )
                assert self.open is not None
                self.open["content"][0]["text"] += d.content
                out += self._event(
                    "response.output_text.delta",
                    {
                        "item_id": self.open["id"],
                        "output_index": len(self.output) - 1,
                        "content_index": 0,
                        "delta": d.content,
                        "logprobs": [],
                    },
                )
            for tc in d.tool_calls or ():
                item = self.calls.get(tc.index)
                if item is None:
                    call_id = tc.id or f"call_{len(self.calls)}"
                    item = {
                        "type": "function_call",
                        "id": f"fc_{call_id}",
                        "call_id": call_id,
                        "name": (tc.function.name if tc.function else "") or "",
                        "arguments": "",
                        "status": "in_progress",
                    }
                    self.calls[tc.index] = item
                    out += self._begin(item)
                args = tc.function.arguments if tc.function else None
                if args:
                    item["arguments"] += args
                    out += self._event(
                        "response.function_call_arguments.delta",
                        {"item_id": item["id"], "output_index": self.output.index(item), "delta": args},
                    )
            if choice.finish_reason is not None:
                self.finish = choice.finish_reason
        return out

    def end(self) -> bytes:
        out = b""
        if not self.rid:  # an answer with no chunk at all
            self.rid = _rid("")
            out += self._event("response.created", {"response": self._snapshot("in_progress")})
        out += self._close()
        final = self._snapshot("completed")
        _finish(final, self.finish)
        final["usage"] = _usage(self.usage)
        name = "response.completed" if final["status"] == "completed" else "response.incomplete"
        return out + self._event(name, {"response": final})

    def error(self, err: GatewayError) -> bytes:
        failed = self._snapshot("failed")
        failed["error"] = {"code": err.kind, "message": err.message}
        return self._event("response.failed", {"response": failed})
