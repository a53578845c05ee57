"""The one translation test matrix: every provider in the index x every canonical case in tests/cases/.

tests/test_translation.py::test_translation runs each cell. This module holds what a cell needs:

- TEST_MODELS: provider id -> the model id every canonical case is sent to (one entry per provider in
  generated.PROVIDERS; a new spec without one fails test_translation.py loudly);
- TEST_ENV: environment variables a provider needs set for the test (its base URL template has no
  default);
- KEYLESS: providers whose cells are built without an API key (a local Ollama takes none; with a key
  it would send an Authorization header);
- REFUSED: (provider, case) -> (typed error, message substring) for the cells a provider cannot take;
- PROVIDER_ENV: every environment variable any spec in specs/ reads (auth.env, base_url_env,
  variables.*.env), cleared before each cell so a developer's shell cannot change a request;
- adapter(): the one way the tests reach a provider's adapter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

import router
from router import _registry

SPECS = Path(__file__).resolve().parents[1] / "specs"

# provider -> a real model id of that provider (local servers and proxies: an id such a server serves;
# azure-openai: a deployment name, which Azure puts in the URL path)
TEST_MODELS: dict[str, str] = {
    "anthropic": "claude-haiku-4-5",
    "azure-openai": "gpt-4o-mini",
    "cerebras": "gpt-oss-120b",
    "cohere": "command-a-03-2025",
    "cohere-compat": "command-a-03-2025",
    "deepseek": "deepseek-flash",
    "fake": "echo",
    "fireworks": "accounts/fireworks/models/gpt-oss-120b",
    "gemini": "gemini-2.5-flash",
    "groq": "openai/gpt-oss-120b",
    "huggingface": "deepseek-ai/DeepSeek-V3.2",
    "litellm": "gpt-4o-mini",
    "llamacpp": "ggml-org/gpt-oss-20b-GGUF",
    "lmstudio": "qwen/qwen3-4b-2507",
    "mistral": "mistral-small-latest",
    "ollama": "llama3.2",
    "openai": "gpt-4o-mini",
    "openai-compatible": "meta-llama/Llama-3.1-8B-Instruct",
    "openai-responses": "gpt-5-mini",  # a reasoning model: the spec's include/sampling rules show
    "openrouter": "anthropic/claude-haiku-4.5",
    "perplexity": "sonar-pro",
    "together": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    "vllm": "Qwen/Qwen3-8B",
    "xai": "grok-4.3",
}

# provider -> env vars set for its cells. litellm's proxy_url and azure-openai's api_version have
# defaults (http://localhost:4000, 2024-10-21) and are left unset, so the snapshots show the defaults.
TEST_ENV: dict[str, dict[str, str]] = {
    "azure-openai": {"AZURE_OPENAI_ENDPOINT": "https://example-resource.openai.azure.com"},
    "openai-compatible": {"OPENAI_COMPATIBLE_BASE_URL": "https://llm.example.test/v1"},
}

# Built without an API key, as a local Ollama server is called (auth is optional there).
KEYLESS: frozenset[str] = frozenset({"ollama"})

# (provider, case) -> (the typed error, a substring of its message): content the provider cannot take.
REFUSED: dict[tuple[str, str], tuple[type[router.APIError], str]] = {
    # Ollama's API takes base64 images only.
    ("ollama", "image_url"): (router.UnsupportedParamsError, "cannot take an image by URL"),
}


def _env_names(spec: dict[str, Any]) -> set[str]:
    """The environment variables one spec names: auth.env, base_url_env, variables.*.env."""
    names: set[str] = set()
    auth = spec.get("auth") or {}
    env = auth.get("env") if isinstance(auth, dict) else None
    names.update([env] if isinstance(env, str) else (env or []))
    if isinstance(spec.get("base_url_env"), str):
        names.add(spec["base_url_env"])
    for var in (spec.get("variables") or {}).values():
        if isinstance(var, dict) and isinstance(var.get("env"), str):
            names.add(var["env"])
    return names


def _provider_env() -> tuple[str, ...]:
    names: set[str] = set()
    for path in sorted(SPECS.glob("*.yaml")):
        names |= _env_names(yaml.safe_load(path.read_text()) or {})
    return tuple(sorted(names))


# Every env var any spec reads (a child spec's inherited ones come from its parent's spec).
PROVIDER_ENV: tuple[str, ...] = _provider_env()


def adapter(provider: str) -> Any:
    """The adapter of a provider id (the only way the translation tests reach one)."""
    return _registry.adapter(provider)


# One provider of each wire protocol, as "provider/model": the protocol-level tests run on these
# (openai-chat, anthropic-messages, gemini, ollama-chat, cohere-chat-v2, openai-responses).
PROTOCOL_MODELS: dict[str, str] = {
    p: f"{p}/{TEST_MODELS[p]}"
    for p in ("openai", "anthropic", "gemini", "ollama", "cohere", "openai-responses")
}
