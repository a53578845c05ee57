"""The gateway's upstream HTTP client: an httpx2 transport on aiohttp's connection pool.

Measured on this machine (64 requests in flight, 20 ms upstream latency, client CPU per request):
httpx2 alone 800-900 µs, aiohttp alone 226 µs, httpx 0.28 over aiohttp (the httpx-aiohttp package the
openai SDK offers) 479 µs. Most of httpx2's cost is httpcore's pool: it scans every connection it
holds for each request and polls each idle one's socket (cProfile: ~550 µs a request with the
connections a gateway keeps open). The Router still sees an ``httpx2.AsyncClient`` (its transport,
limits, retries, deadlines and codecs are unchanged); only the bytes move through aiohttp, with
decompression left to httpx so the router's body reader works as with any transport.

Without aiohttp installed, the same client runs on httpx's own pool. Either way it keeps no cookies.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from router._httpx import httpx

__all__ = ["AiohttpTransport", "gateway_client"]


def _map(err: BaseException, request: Any) -> Exception:
    """aiohttp's errors as httpx's, which the router's transport already types."""
    import aiohttp  # loaded with the transport, which only exists when aiohttp is installed

    if isinstance(err, aiohttp.ServerTimeoutError | asyncio.TimeoutError | TimeoutError):
        return httpx.ReadTimeout(str(err) or "timed out", request=request)
    if isinstance(err, aiohttp.ClientConnectorError):
        return httpx.ConnectError(str(err), request=request)
    if isinstance(err, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError(str(err) or "the server closed the connection", request=request)
    if isinstance(err, aiohttp.ClientError | OSError):
        return httpx.ReadError(str(err) or type(err).__name__, request=request)
    return httpx.TransportError(str(err), request=request)


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: Any, request: Any) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        # The router sets the body's read limit after the headers (router._transport.set_read_limit:
        # the stall limit, or what is left of the first token's): aiohttp fixed sock_read when the
        # request was sent, so the connection's limit is set again here, as httpcore reads it anew.
        limits = self._request.extensions.get("timeout")
        conn = self._response.connection
        protocol = getattr(conn, "protocol", None)
        if isinstance(limits, dict) and protocol is not None:
            protocol.read_timeout = limits.get("read")
            protocol.start_timeout()
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except Exception as e:  # a transport failure mid-body, typed as httpx's
            raise _map(e, self._request) from None

    async def aclose(self) -> None:
        self._response.release()  # back to the pool when read to the end; closed otherwise


class _NetworkStream:
    """The ``network_stream`` extension httpcore gives a response: here only ``get_extra_info``, so
    router/_watchdog.py can shut the socket down at the call's deadline (waking a blocked read)."""

    def __init__(self, response: Any) -> None:
        self._response = response

    def get_extra_info(self, name: str) -> Any:
        conn = self._response.connection
        transport = getattr(conn, "transport", None)
        return None if transport is None else transport.get_extra_info(name)


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, verify: Any = True, limit: int = 1000, keepalive: float = 30.0) -> None:
        self._verify = verify
        self._limit = limit
        self._keepalive = keepalive
        self._session: Any = None
        self._proxies: dict[tuple[str, str, int | None], Any] = {}

    def _proxy(self, url: Any) -> Any:
        """HTTP(S)_PROXY / NO_PROXY for this origin, as httpx's trust_env reads them (cached)."""
        key = (url.scheme, url.host, url.port)
        if key not in self._proxies:
            from aiohttp.helpers import get_env_proxy_for_url  # as above
            from yarl import URL  # aiohttp's URL type (its dependency)

            try:
                self._proxies[key] = get_env_proxy_for_url(URL(str(url)))
            except LookupError:
                self._proxies[key] = (None, None)
        return self._proxies[key]

    def _open(self) -> Any:
        import aiohttp  # as above: this class is used only with aiohttp installed

        connector = aiohttp.TCPConnector(
            limit=self._limit, limit_per_host=0, keepalive_timeout=self._keepalive, ssl=self._verify
        )
        return aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,  # httpx decodes Content-Encoding, as with its own transport
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
            # trust_env would read ~/.netrc and the proxy variables in a worker thread on every
            # request (two thread hops, ~60 µs, and netrc credentials we never want to send): the
            # proxy variables are read here once per origin instead (_proxy).
            trust_env=False,
            # Cookies set by one upstream answer must never ride along another caller's request.
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None),
        )

    async def handle_async_request(self, request: Any) -> Any:
        import aiohttp  # as above

        if self._session is None or self._session.closed:
            self._session = self._open()
        timeouts = request.extensions.get("timeout") or {}
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=timeouts.get("connect"), sock_read=timeouts.get("read")
        )
        body = await request.aread()
        proxy, proxy_auth = self._proxy(request.url)
        try:
            response = await self._session.request(
                request.method,
                str(request.url),
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw],
                data=body or None,
                allow_redirects=False,
                timeout=timeout,
                compress=None,
                proxy=proxy,
                proxy_auth=proxy_auth,
            )
        except Exception as e:
            raise _map(e, request) from None
        return httpx.Response(
            response.status,
            headers=list(response.raw_headers),
            stream=_Body(response, request),
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode(),
                "network_stream": _NetworkStream(response),
            },
            request=request,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def gateway_client() -> Any:
    """The Router's upstream client in the gateway: set up as the Router's own (SSL context, timeouts,
    ``fake://``), keeping no cookies, on aiohttp's pool (or httpx's own pool without aiohttp)."""
    # the router's transport and fake modules: loaded already by the Router this client serves
    from router import _transport
    from router._fake import FakeTransport

    try:
        # aiohttp: the gateway extra's, optional here and kept off `import router`
        import aiohttp  # noqa: F401
    except ImportError:
        transport: Any = httpx.AsyncHTTPTransport(verify=_transport._verify(), limits=_transport._LIMITS)
    else:
        transport = AiohttpTransport(verify=_transport._verify())
    return httpx.AsyncClient(
        transport=transport,
        timeout=_transport.DEFAULT_TIMEOUT,
        follow_redirects=False,
        mounts={"fake://": FakeTransport()},
        cookies=_transport.NoCookies(),  # one client for every caller: no cookie crosses
    )
