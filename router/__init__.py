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

from typing import TYPE_CHECKING
from typing import Any

from router import _checkout  # noqa: F401 - in a source checkout, router.generated is ./generated
from router._client import AsyncStream
from router._client import Stream
from router._client import acompletion
from router._client import completion
from router._exceptions import APIConnectionError
from router._exceptions import APIError
from router._exceptions import APITimeoutError
from router._exceptions import AuthenticationError
from router._exceptions import BadRequestError
from router._exceptions import ConfigError
from router._exceptions import ContentFilterError
from router._exceptions import ContextWindowExceededError
from router._exceptions import FirstTokenTimeoutError
from router._exceptions import InternalServerError
from router._exceptions import InvalidResponseError
from router._exceptions import NotFoundError
from router._exceptions import PermissionDeniedError
from router._exceptions import QuotaExceededError
from router._exceptions import RateLimitError
from router._exceptions import RequestTooLargeError
from router._exceptions import RouterError
from router._exceptions import ServiceUnavailableError
from router._exceptions import SpecError
from router._exceptions import StallTimeoutError
from router._exceptions import StreamConsumedError
from router._exceptions import UnsupportedParamsError
from router._registry import resolve
from router._types import Attempt
from router._types import ChatCompletion
from router._types import ChatCompletionChunk
from router._types import Choice
from router._types import ChunkChoice
from router._types import CustomCall
from router._types import CustomToolCall
from router._types import Delta
from router._types import FunctionCall
from router._types import HttpRequest
from router._types import Message
from router._types import Receipt
from router._types import ToolCall
from router._types import ToolCallDelta
from router._types import Usage

if TYPE_CHECKING:
    from router._accumulate import StreamAccumulator
    from router._accumulate import accumulate
    from router._adapter import Adapter
    from router._breaker import CircuitBreaker
    from router._cost import cost
    from router._deployment import Deployment
    from router._events import Event
    from router._events import Hooks
    from router._openai_client import AsyncOpenAI
    from router._openai_client import OpenAI
    from router._params_types import AsyncCompletionParams
    from router._params_types import CompletionParams
    from router._probe import Health
    from router._probe import health
    from router._probe import list_models
    from router._providers import ProviderStatus
    from router._providers import models
    from router._providers import providers
    from router._ratelimit import RateLimiter
    from router._registry import use_adapters
    from router._router import AsyncRouterStream
    from router._router import Router
    from router._router import RouterStream
    from router._tokens import count_tokens

__version__ = "0.1.0"

# Loaded on first use (PEP 562), so `import router` stays small: configuration, probes, cost and
# token counting are not on the path of a plain completion call.
_LAZY = {
    "Adapter": "router._adapter",
    "StreamAccumulator": "router._accumulate",
    "accumulate": "router._accumulate",
    "cost": "router._cost",
    "Deployment": "router._deployment",
    "ProviderStatus": "router._providers",
    "Router": "router._router",
    "RouterStream": "router._router",
    "AsyncRouterStream": "router._router",
    "Hooks": "router._events",
    "Event": "router._events",
    "CircuitBreaker": "router._breaker",
    "RateLimiter": "router._ratelimit",
    "models": "router._providers",
    "providers": "router._providers",
    "Health": "router._probe",
    "health": "router._probe",
    "list_models": "router._probe",
    "count_tokens": "router._tokens",
    "OpenAI": "router._openai_client",
    "AsyncOpenAI": "router._openai_client",
    "CompletionParams": "router._params_types",
    "AsyncCompletionParams": "router._params_types",
    "use_adapters": "router._registry",
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
    "AsyncCompletionParams",
    "AsyncOpenAI",
    "AsyncRouterStream",
    "AsyncStream",
    "Attempt",
    "AuthenticationError",
    "BadRequestError",
    "ChatCompletion",
    "ChatCompletionChunk",
    "Choice",
    "ChunkChoice",
    "CircuitBreaker",
    "CompletionParams",
    "ConfigError",
    "ContentFilterError",
    "ContextWindowExceededError",
    "CustomCall",
    "CustomToolCall",
    "Delta",
    "Deployment",
    "Event",
    "FirstTokenTimeoutError",
    "FunctionCall",
    "Health",
    "Hooks",
    "HttpRequest",
    "InternalServerError",
    "InvalidResponseError",
    "Message",
    "NotFoundError",
    "OpenAI",
    "PermissionDeniedError",
    "ProviderStatus",
    "QuotaExceededError",
    "RateLimitError",
    "RateLimiter",
    "Receipt",
    "RequestTooLargeError",
    "Router",
    "RouterError",
    "RouterStream",
    "ServiceUnavailableError",
    "SpecError",
    "StallTimeoutError",
    "Stream",
    "StreamAccumulator",
    "StreamConsumedError",
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
    "use_adapters",
]
