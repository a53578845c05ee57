"""Token counts before sending.

``count_tokens`` is exact for OpenAI models when the optional ``tiktoken`` package is installed and
its encoding files are available (``pip install 'spec-router[tokenizers]'``); otherwise it returns a
documented approximation: 4 characters a token (rounded up) for every text, tool-call name and
argument string, plus 3 tokens a message and 3 for the reply's priming, which is how OpenAI's
chat format frames messages (https://platform.openai.com/docs/guides/text-generation). Images and
audio are not counted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from typing import Any

from router._registry import resolve

__all__ = ["count_tokens"]

_PER_MESSAGE = 3
_REPLY_PRIMING = 3


def _texts(messages: Iterable[Any]) -> Iterable[str]:
    for m in messages:
        d = m if isinstance(m, dict) else m.to_dict()
        yield str(d.get("role", ""))
        content = d.get("content")
        if isinstance(content, str):
            yield content
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") == "text":
                    yield str(part.get("text", ""))
        for tc in d.get("tool_calls") or ():
            fn = tc.get("function") or {}
            yield str(fn.get("name", ""))
            args = fn.get("arguments", "")
            yield args if isinstance(args, str) else json.dumps(args)


@cache
def _encoding(model: str) -> Any:
    try:
        # tiktoken (optional extra, with its encoding files) loads only to count tokens exactly
        import tiktoken  # type: ignore[import-not-found, unused-ignore]

        try:
            return tiktoken.encoding_for_model(model)
        except KeyError:
            return tiktoken.get_encoding("o200k_base")
    except Exception:  # not installed, or its encoding files cannot be fetched here
        return None


def count_tokens(model: str, messages: list[Any]) -> int:
    """Tokens ``messages`` take as a prompt for ``model`` ("provider/model" or a catalogue id).

    >>> router.count_tokens("openai/gpt-4o", [{"role": "user", "content": "Hello there"}])
    10
    """
    found, name = resolve(model)
    texts = list(_texts(messages))
    enc = _encoding(name) if found.protocol == "openai-chat" else None
    return sum(_count(enc, t) for t in texts) + _PER_MESSAGE * len(messages) + _REPLY_PRIMING


def _count(enc: Any, text: str) -> int:
    if enc is None:
        return -(-len(text) // 4)
    return len(enc.encode(text))
