"""router: one OpenAI-style call to every LLM provider.

>>> import router
>>> resp = router.completion(model="fake/echo", messages=[{"role": "user", "content": "Hi"}])
>>> resp.choices[0].message.content
'Hi'

Each provider's behaviour is declared in ``specs/<id>.yaml`` and compiled by ``router build`` into
``generated/<id>.py``; this package holds the runtime (types, errors, HTTP, codecs) and the compiler.
Importing it loads neither yaml, jsonschema, jinja2 nor click.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from router._adapter import Adapter
from router._client import AsyncStream, Stream, acompletion, completion
from router._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ContentFilterError,
    ContextWindowExceededError,
    InternalServerError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RouterError,
    ServiceUnavailableError,
    SpecError,
    UnsupportedParamsError,
)
from router._registry import resolve
from router._types import (
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ChunkChoice,
    Delta,
    FunctionCall,
    HttpRequest,
    Message,
    Receipt,
    ToolCall,
    ToolCallDelta,
    Usage,
)

if TYPE_CHECKING:
    from router._accumulate import StreamAccumulator, accumulate
    from router._cost import cost
    from router._deployment import Deployment
    from router._probe import Health, health, list_models
    from router._providers import ProviderStatus, models, providers
    from router._router import Router
    from router._tokens import count_tokens

__version__ = "0.1.0"

# Loaded on first use (PEP 562), so `import router` stays small: configuration, probes, cost and
# token counting are not on the path of a plain completion call.
_LAZY = {
    "StreamAccumulator": "router._accumulate",
    "accumulate": "router._accumulate",
    "cost": "router._cost",
    "Deployment": "router._deployment",
    "ProviderStatus": "router._providers",
    "Router": "router._router",
    "models": "router._providers",
    "providers": "router._providers",
    "Health": "router._probe",
    "health": "router._probe",
    "list_models": "router._probe",
    "count_tokens": "router._tokens",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'router' has no attribute {name!r}")
    import importlib  # PEP 562 lazy loading: these modules stay off `import router` until used

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "Adapter",
    "AsyncStream",
    "AuthenticationError",
    "BadRequestError",
    "ChatCompletion",
    "ChatCompletionChunk",
    "Choice",
    "ChunkChoice",
    "ConfigError",
    "ContentFilterError",
    "ContextWindowExceededError",
    "Delta",
    "Deployment",
    "FunctionCall",
    "Health",
    "HttpRequest",
    "InternalServerError",
    "InvalidResponseError",
    "Message",
    "NotFoundError",
    "PermissionDeniedError",
    "ProviderStatus",
    "RateLimitError",
    "Receipt",
    "Router",
    "RouterError",
    "ServiceUnavailableError",
    "SpecError",
    "Stream",
    "StreamAccumulator",
    "ToolCall",
    "ToolCallDelta",
    "UnsupportedParamsError",
    "Usage",
    "accumulate",
    "acompletion",
    "completion",
    "cost",
    "count_tokens",
    "health",
    "list_models",
    "models",
    "providers",
    "resolve",
]
