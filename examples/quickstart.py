"""The router in one screen: a fake-provider answer (no key, no network), then the exact HTTP
requests the openai and anthropic adapters would send for the same call, API keys masked.

Run it with the README's demo command, or: .venv/bin/python examples/quickstart.py
"""

from __future__ import annotations

import json
import os

import router
from router._registry import adapter as compiled

messages = [
    {"role": "system", "content": "You are a terse assistant."},
    {"role": "user", "content": "Hello from router! Say it back."},
]
# Typed keywords: a misspelt name (temprature=) or a wrong type is a mypy error, and a typed error at run time.
params: router.CompletionParams = {
    "max_tokens": 200,
    "temperature": 1.2,
    "stop": ["\n\n"],
    "frequency_penalty": 0.5,
}

print("== router.completion(model='fake/echo', ...)")
resp = router.completion(model="fake/echo", messages=messages, **params)  # a ChatCompletion (no stream=True)
choice = resp.choices[0]
print(f"answer:        {choice.message.content!r}")
print(f"finish_reason: {choice.finish_reason} (native: {choice.native_finish_reason})")
print(f"usage:         {resp.usage.total_tokens if resp.usage else 0} tokens")

print("\n== streaming: router.completion(model='fake/lorem', stream=True, max_tokens=8)")
pieces = []
for chunk in router.completion(model="fake/lorem", messages=messages, stream=True, max_tokens=8):
    if chunk.choices and chunk.choices[0].delta.content:
        pieces.append(chunk.choices[0].delta.content)
print("".join(pieces), "…")

for provider, model in (("openai", "gpt-4o-mini"), ("anthropic", "claude-sonnet-4-5")):
    adapter = compiled(provider)  # the typed Adapter of generated/<provider>.py
    key = os.environ.get(adapter.config.auth_env[0], f"sk-{provider}-demo-key-0000")
    receipt = router.Receipt(provider, model)
    http = adapter.build_request(
        {"model": model, "messages": messages, **params}, api_key=key, receipt=receipt
    )
    print(f"\n== what {provider}/{model} would be sent (key masked)")
    print(json.dumps(http.redacted(), indent=2))
    print(f"receipt: dropped={receipt.dropped} renamed={receipt.renamed} clamped={receipt.clamped}")
