"""``Adapter``: a provider's compiled ``ProviderConfig`` bound to the codec of its wire protocol.

This is the one typed contract between the runtime and a generated module (``ADAPTER`` in
``generated/<id>.py``). Every method is pure apart from reading the API key's environment variable:

>>> from router.generated.openai import ADAPTER
>>> http = ADAPTER.build_request({"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}]}, api_key="k")
>>> http.method, http.url
('POST', 'https://api.openai.com/v1/chat/completions')
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any

from router._exceptions import APIError
from router._streaming import Event
from router._streaming import iter_events
from router._types import ChatCompletion
from router._types import ChatCompletionChunk
from router._types import HttpRequest
from router._types import Receipt
from router.protocols import _driver
from router.protocols import _errors
from router.protocols._config import Model
from router.protocols._config import ProviderConfig
from router.protocols._driver import Codec
from router.protocols._driver import StreamDriver

__all__ = ["Adapter", "Codec", "StreamDriver"]


class Adapter:
    """A provider: its tables (``config``) and the translation of its wire protocol (``codec``)."""

    __slots__ = ("capabilities", "codec", "config")

    def __init__(self, config: ProviderConfig, codec: Codec) -> None:
        self.config = config
        self.codec = codec
        self.capabilities: Mapping[str, frozenset[str]] = {m.id: m.capabilities for m in config.models}

    def __repr__(self) -> str:
        return f"Adapter({self.config.id!r}, {self.config.protocol!r})"

    # ----------------------------------------------------------------- metadata

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def protocol(self) -> str:
        return self.config.protocol

    @property
    def models(self) -> Mapping[str, Model]:
        """The catalogue: model id -> Model."""
        return self.config.by_id

    @property
    def aliases(self) -> Mapping[str, str]:
        """Router-only alias -> model id (the names resolved before sending; API aliases go out as named)."""
        return self.config.aliases

    def model(self, *names: str | None) -> Model | None:
        """The catalogue entry for the first of ``names`` that is a model id, alias or API alias here."""
        for name in names:
            if name:
                found = self.config.by_name.get(name)
                if found is not None:
                    return found
        return None

    # ----------------------------------------------------------------- translation

    def build_request(
        self,
        request: Mapping[str, Any],
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        strict: bool = False,
        receipt: Receipt | None = None,
    ) -> HttpRequest:
        """The HTTP request for an OpenAI-style ``request`` dict; what the spec's parameter policy did
        is recorded on ``receipt``. ``strict`` raises instead of dropping."""
        return _driver.build_request(
            self.config,
            self.codec,
            request,
            api_key=api_key,
            base_url=base_url,
            strict=strict,
            receipt=receipt,
        )

    def parse_response(
        self, status: int, headers: Mapping[str, str], body: Any, *, receipt: Receipt | None = None
    ) -> ChatCompletion:
        """The unified ChatCompletion for a response; raises the typed error for an error answer."""
        return _driver.parse_response(self.config, self.codec, status, headers, body, receipt=receipt)

    def stream_decoder(self, *, receipt: Receipt | None = None) -> StreamDriver:
        """An incremental decoder: ``feed(event)`` -> chunks, ``done``, ``close()`` -> chunks."""
        return StreamDriver(self.config, self.codec, receipt)

    def parse_stream(
        self, events: Iterable[Event], *, receipt: Receipt | None = None
    ) -> Iterator[ChatCompletionChunk]:
        """Unified chunks for framed stream events; raises the typed error for an error frame or a
        cut-off stream."""
        return self.stream_decoder(receipt=receipt).decode(events)

    def parse_stream_bytes(
        self, chunks: Iterable[bytes], *, receipt: Receipt | None = None
    ) -> Iterator[ChatCompletionChunk]:
        """Unified chunks for raw stream bytes, framed as the spec's ``stream.framing`` says."""
        return self.parse_stream(iter_events(chunks, self.config.stream.framing), receipt=receipt)

    def map_error(
        self, status: int, headers: Mapping[str, str], body: Any, *, model: str | None = None
    ) -> APIError:
        """The typed exception for an error answer."""
        return _errors.map_error(self.config, status, headers, body, model=model)

    def retry_after(self, headers: Mapping[str, str]) -> float | None:
        """Seconds the provider asked to wait, from the headers the spec names."""
        return _errors.retry_after(headers, self.config.errors.retry_after)
