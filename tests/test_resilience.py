"""The sixteen fault scenarios a gateway must survive, each against a misbehaving upstream on 127.0.0.1,
sync and async, plain and streamed: the outcome, the number of upstream requests, and the wall time
against the configured limits (tests/scenario_server.py is the upstream).

A primary deployment ``m`` misbehaves as its scenario says; ``backup`` always answers. Limits are
small (0.4 s first token, 0.4 s stall) so every scenario ends in a second or two.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import pytest
from scenario_server import ROLE
from scenario_server import Conn
from scenario_server import ScenarioServer
from scenario_server import chunk
from scenario_server import end_frames
from scenario_server import tokens

import router
from router import Deployment
from router import Router

MSGS = [{"role": "user", "content": "Hi"}]
MODES = [("sync", "plain"), ("sync", "stream"), ("async", "plain"), ("async", "stream")]
MODE_IDS = [f"{a}-{b}" for a, b in MODES]
LIMIT = 0.4  # first-token and stall limits in these tests
SLACK = 1.0  # seconds of scheduling slack a wall-time bound allows on a loaded 2-core machine


# ----------------------------------------------------------------------------- upstream behaviours


def ok(c: Conn, n: int) -> None:
    c.ok("backup answer")


def ok_big(c: Conn, n: int) -> None:
    c.ok("big window answer")


def retry_after_once(c: Conn, n: int) -> None:
    if n == 1:
        c.error(429, "slow down", "rate_limit_exceeded", "requests", **{"retry-after": "1"})
    else:
        c.ok("primary after waiting")


def retry_after_always(c: Conn, n: int) -> None:
    c.error(429, "slow down", "rate_limit_exceeded", "requests", **{"retry-after": "1"})


def retry_after_far(c: Conn, n: int) -> None:
    c.error(429, "slow down", "rate_limit_exceeded", "requests", **{"retry-after": "120"})


def rate_limited(c: Conn, n: int) -> None:
    c.error(429, "slow down", "rate_limit_exceeded", "requests")


def fail_500_once(c: Conn, n: int) -> None:
    if n == 1:
        c.error(500, "boom")
    else:
        c.ok("primary second try")


def unavailable(c: Conn, n: int) -> None:
    c.error(503, "overloaded")


def reset(c: Conn, n: int) -> None:
    c.reset()


def hang(c: Conn, n: int) -> None:
    c.sleep(20)


def slow_first_token(c: Conn, n: int) -> None:
    if not c.stream:
        c.sleep(20)  # the headers of a plain answer come late
        c.ok("too late")
        return
    c.sse([ROLE])  # the headers and a role chunk at once, the first token after 20 s
    c.sleep(20)
    c.sse([chunk({"content": "late"}), *end_frames()])


def cut_after_40(c: Conn, n: int) -> None:
    if not c.stream:
        body = json.dumps({"id": "c1", "object": "chat.completion", "choices": []}).encode()
        c.head(200, {"content-type": "application/json"}, len(body) + 500)
        c.send(body[:40])  # the body stops short of its content-length
        return
    c.sse([ROLE, *tokens(40)])  # then the connection closes: no finish, no [DONE]


def cut_before_content(c: Conn, n: int) -> None:
    if not c.stream:
        c.head(200, {"content-type": "application/json"}, 400)
        return
    c.sse([ROLE])


def stall_mid(c: Conn, n: int) -> None:
    if not c.stream:
        body = json.dumps({"id": "c1"}).encode()
        c.head(200, {"content-type": "application/json"}, len(body) + 300)
        c.send(body)
        c.sleep(20)
        return
    c.sse([ROLE, *tokens(10)])
    c.sleep(20)


def malformed(c: Conn, n: int) -> None:
    if not c.stream:
        page = b"<html><body>502 Bad Gateway</body></html>"
        c.head(200, {"content-type": "application/json"}, len(page))
        c.send(page)
        return
    c.sse([ROLE, *tokens(3), b"data: {not json\n\n", *end_frames()])


def malformed_first(c: Conn, n: int) -> None:
    if not c.stream:
        malformed(c, n)
        return
    c.sse([ROLE, b"data: {not json\n\n", *end_frames()])


def no_done(c: Conn, n: int) -> None:
    if not c.stream:
        cut_after_40(c, n)
        return
    c.sse([ROLE, *tokens(5)])  # ends without a finish reason and without [DONE]


def context_length(c: Conn, n: int) -> None:
    c.error(
        400,
        "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
        "context_length_exceeded",
        "invalid_request_error",
    )


def content_filter(c: Conn, n: int) -> None:
    c.error(
        400,
        "Your request was flagged as potentially violating our usage policy (category: violence).",
        "content_policy_violation",
        "invalid_request_error",
    )


def in_band_error(c: Conn, n: int) -> None:
    if not c.stream:
        c.json(200, {"error": {"message": "overloaded", "type": "server_error", "code": "server_overloaded"}})
        return
    err = {
        "error": {"message": "the engine is overloaded", "type": "server_error", "code": "server_overloaded"}
    }
    c.sse([ROLE, b"data: " + json.dumps(err).encode() + b"\n\n"])


def anthropic_in_band(c: Conn, n: int) -> None:
    def ev(name: str, data: dict[str, Any]) -> bytes:
        return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()

    start = {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
             "model": "claude-x", "content": [], "usage": {"input_tokens": 5, "output_tokens": 1}}}  # fmt: skip
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    if not c.stream:
        c.json(529, error)
        return
    c.sse([ev("message_start", start), ev("ping", {"type": "ping"}), ev("error", error)])


def flapping(c: Conn, n: int) -> None:
    if n <= 3:
        c.error(503, "flapping")
    else:
        c.ok("primary is back")


BEHAVIOURS = {
    name: fn for name, fn in globals().items() if callable(fn) and getattr(fn, "__module__", "") == __name__
}


@pytest.fixture(scope="module")
def server() -> Iterator[ScenarioServer]:
    behaviours = {k.replace("_", "-"): v for k, v in BEHAVIOURS.items() if k not in ("server", "call")}
    with ScenarioServer(behaviours) as s:
        yield s


# ----------------------------------------------------------------------------- calling


@dataclass
class Outcome:
    text: str = ""
    receipt: router.Receipt | None = None
    error: BaseException | None = None
    wall: float = 0.0
    seen: list[str] = field(default_factory=list)  # content pieces the caller saw (streams)
    usage: Any = None


def deployments(server: ScenarioServer, tag: str, **primary: Any) -> list[Deployment]:
    """``m`` on the scenario's behaviour, falling back to ``backup`` (always answers)."""
    fallbacks = primary.pop("fallbacks", ["backup"])
    return [
        Deployment("m", "openai-compatible/m", base_url=server.url(tag), fallbacks=fallbacks, **primary),
        Deployment("backup", "openai-compatible/b", base_url=server.url("ok"), max_retries=0),
        Deployment("big", "openai-compatible/big", base_url=server.url("ok-big"), max_retries=0),
    ]


def call(r: Router, mode: tuple[str, str], model: str = "m", **kw: Any) -> Outcome:
    how, shape = mode
    out = Outcome()
    start = time.monotonic()
    if how == "sync":
        try:
            if shape == "plain":
                resp = r.completion(model, MSGS, **kw)
                out.text, out.receipt, out.usage = (
                    resp.choices[0].message.content or "",
                    resp.router,
                    resp.usage,
                )
            else:
                s = r.completion(model, MSGS, stream=True, **kw)
                try:
                    for ch in s:
                        if ch.choices and ch.choices[0].delta.content:
                            out.seen.append(ch.choices[0].delta.content)
                        if ch.usage:
                            out.usage = ch.usage
                finally:
                    out.receipt = s.receipt
                out.text = "".join(out.seen)
        except router.RouterError as e:
            out.error = e
    else:

        async def run() -> None:
            async with r:
                try:
                    if shape == "plain":
                        resp = await r.acompletion(model, MSGS, **kw)
                        out.text, out.receipt, out.usage = (
                            resp.choices[0].message.content or "",
                            resp.router,
                            resp.usage,
                        )
                    else:
                        s = await r.acompletion(model, MSGS, stream=True, **kw)
                        try:
                            async for ch in s:
                                if ch.choices and ch.choices[0].delta.content:
                                    out.seen.append(ch.choices[0].delta.content)
                                if ch.usage:
                                    out.usage = ch.usage
                        finally:
                            out.receipt = s.receipt
                        out.text = "".join(out.seen)
                except router.RouterError as e:
                    out.error = e

        asyncio.run(run())
    out.wall = time.monotonic() - start
    return out


def fresh(server: ScenarioServer, tag: str, **kw: Any) -> Router:
    router_opts = {
        k: kw.pop(k)
        for k in list(kw)
        if k in ("breaker_threshold", "breaker_cooldown", "clock", "hooks", "timeout")
    }
    return Router(
        deployments(server, tag, **kw), timeout=router_opts.pop("timeout", 10), first_token_timeout=LIMIT,
        stall_timeout=LIMIT, **router_opts,
    )  # fmt: skip


def served_by(out: Outcome, deployment: str) -> None:
    assert out.error is None, f"{type(out.error).__name__}: {out.error}"
    assert out.receipt is not None and out.receipt.deployment == deployment, out.receipt


def unique_tag(server: ScenarioServer, behaviour: str, mode: tuple[str, str]) -> str:
    """Each test's own URL tag (counts per test), the behaviour looked up by its prefix."""
    tag = f"{behaviour}--{mode[0]}-{mode[1]}-{time.monotonic_ns()}"
    server.behaviours[tag] = server.behaviours[behaviour]
    return tag


# ----------------------------------------------------------------------------- the scenarios


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_01_429_with_retry_after_waits_as_told_then_succeeds(
    server: ScenarioServer, mode: tuple[str, str]
) -> None:
    tag = unique_tag(server, "retry-after-once", mode)
    out = call(fresh(server, tag, max_retries=2), mode)
    served_by(out, "m")
    assert server.count(tag) == 2
    assert 0.9 <= out.wall < 1 + SLACK + 0.5  # waited the 1 s it was told, no more


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_01b_429_retry_after_then_falls_back(server: ScenarioServer, mode: tuple[str, str]) -> None:
    tag = unique_tag(server, "retry-after-always", mode)
    out = call(fresh(server, tag, max_retries=1), mode)
    served_by(out, "backup")
    assert server.count(tag) == 2
    assert out.receipt is not None and [a.error for a in out.receipt.attempts] == ["RateLimitError", None]
    assert 0.9 <= out.wall < 1 + SLACK + 0.5


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_01c_a_retry_after_past_the_deadline_is_not_waited(
    server: ScenarioServer, mode: tuple[str, str]
) -> None:
    tag = unique_tag(server, "retry-after-far", mode)
    out = call(fresh(server, tag, max_retries=3, timeout=5), mode)
    served_by(out, "backup")
    assert server.count(tag) == 1  # a 120 s wait does not fit in 5 s: no retry, straight to the fallback
    assert out.wall < SLACK


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_02_429_without_retry_after_backs_off_a_bounded_number_of_times(
    server: ScenarioServer, mode: tuple[str, str]
) -> None:
    tag = unique_tag(server, "rate-limited", mode)
    out = call(fresh(server, tag, max_retries=2), mode)
    served_by(out, "backup")
    assert server.count(tag) == 3  # 1 + max_retries
    # backoff with jitter: about 0.5 s then 1 s (each 50-100 % of its step), never the 60 s cap
    assert 0.7 <= out.wall < 1.5 + SLACK + 1


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_03_500_once_is_retried_once(server: ScenarioServer, mode: tuple[str, str]) -> None:
    tag = unique_tag(server, "fail-500-once", mode)
    out = call(fresh(server, tag, max_retries=2), mode)
    served_by(out, "m")
    assert out.text.strip() in ("primary second try", "primary second try".replace(" ", " "))
    assert server.count(tag) == 2
    assert out.wall < 1 + SLACK


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_04_503_persistently_falls_back_after_the_retries(
    server: ScenarioServer, mode: tuple[str, str]
) -> None:
    tag = unique_tag(server, "unavailable", mode)
    out = call(fresh(server, tag, max_retries=1), mode)
    served_by(out, "backup")
    assert server.count(tag) == 2
    assert out.wall < 1 + SLACK


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_05_tcp_reset_retries_then_falls_back(server: ScenarioServer, mode: tuple[str, str]) -> None:
    tag = unique_tag(server, "reset", mode)
    out = call(fresh(server, tag, max_retries=1), mode)
    served_by(out, "backup")
    assert server.count(tag) == 2
    assert out.receipt is not None and out.receipt.attempts[0].error == "APIConnectionError"
    assert out.wall < 1 + SLACK


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_06_no_answer_gives_up_at_the_first_byte_limit(server: ScenarioServer, mode: tuple[str, str]) -> None:
    tag = unique_tag(server, "hang", mode)
    out = call(fresh(server, tag, max_retries=0), mode)
    served_by(out, "backup")
    assert server.count(tag) == 1
    assert out.receipt is not None and out.receipt.attempts[0].error in (
        "FirstTokenTimeoutError",
        "APITimeoutError",
    )
    assert LIMIT <= out.wall < LIMIT + SLACK  # never the 20 s the upstream would hold it


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_07_late_first_token_gives_up_at_the_first_token_limit(
    server: ScenarioServer, mode: tuple[str, str]
) -> None:
    tag = unique_tag(server, "slow-first-token", mode)
    out = call(fresh(server, tag, max_retries=0), mode)
    served_by(out, "backup")
    assert out.seen == [] or "late" not in out.text  # nothing of the slow attempt reached the caller
    assert server.count(tag) == 1
    assert LIMIT <= out.wall < LIMIT + SLACK


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_08_cut_stream_is_never_a_success(server: ScenarioServer, mode: tuple[str, str]) -> None:
    tag = unique_tag(server, "cut-after-40", mode)
    out = call(fresh(server, tag, max_retries=0), mode)
    if mode[1] == "plain":  # the body was cut before anything reached the caller: the fallback answers
        served_by(out, "backup")
    else:  # 40 tokens were yielded: the stream ends with a typed error carrying them
        assert isinstance(out.error, router.APIError), out.error
        assert len(out.seen) == 40
        partial = out.error.partial
        assert partial is not None and partial.choices[0].message.content == "".join(out.seen)
        assert [a.error for a in out.error.attempts] == [type(out.error).__name__]
    assert server.count(tag) == 1
    assert out.wall < 1 + SLACK


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_08b_cut_before_any_content_falls_back_invisibly(
    server: ScenarioServer, mode: tuple[str, str]
) -> None:
    tag = unique_tag(server, "cut-before-content", mode)
    out = call(fresh(server, tag, max_retries=0), mode)
    served_by(out, "backup")
    assert out.text.split() == ["backup", "answer"]
    assert server.count(tag) == 1


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_09_mid_stream_stall_hits_the_stall_limit(server: ScenarioServer, mode: tuple[str, str]) -> None:
    tag = unique_tag(server, "stall-mid", mode)
    out = call(fresh(server, tag, max_retries=0), mode)
    if mode[1] == "plain":
        served_by(out, "backup")
    else:
        assert isinstance(out.error, router.APITimeoutError), out.error
        assert len(out.seen) == 10 and out.error.partial is not None
    assert server.count(tag) == 1
    assert LIMIT <= out.wall < LIMIT + SLACK


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_10_malformed_chunk_is_a_typed_error(server: ScenarioServer, mode: tuple[str, str]) -> None:
    tag = unique_tag(server, "malformed", mode)
    out = call(fresh(server, tag, max_retries=0), mode)
    assert isinstance(out.error, router.InvalidResponseError), out.error
    if mode[1] == "stream":
        assert len(out.seen) == 3 and out.error.partial is not None
    assert server.count(tag) == 1


@pytest.mark.parametrize(
    "mode", [m for m in MODES if m[1] == "stream"], ids=[i for i in MODE_IDS if "stream" in i]
)
def test_10b_malformed_first_chunk_falls_back(server: ScenarioServer, mode: tuple[str, str]) -> None:
    tag = unique_tag(server, "malformed-first", mode)
    out = call(fresh(server, tag, max_retries=0), mode)
    served_by(out, "backup")
    assert out.receipt is not None and out.receipt.attempts[0].error == "InvalidResponseError"


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_11_no_terminal_event_is_detected(server: ScenarioServer, mode: tuple[str, str]) -> None:
    tag = unique_tag(server, "no-done", mode)
    out = call(fresh(server, tag, max_retries=0), mode)
    if mode[1] == "plain":
        served_by(out, "backup")
    else:
        assert isinstance(out.error, router.APIError), out.error
        assert len(out.seen) == 5 and out.error.partial is not None
    assert server.count(tag) == 1


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_12_context_length_goes_only_to_a_larger_window(
    server: ScenarioServer, mode: tuple[str, str]
) -> None:
    tag = unique_tag(server, "context-length", mode)
    before = server.count("ok")
    out = call(fresh(server, tag, max_retries=3, context_window_fallbacks=["big"]), mode)
    served_by(out, "big")
    assert server.count(tag) == 1  # no same-model retry
    assert server.count("ok") == before  # the ordinary fallback is not used for a window error
    # without a larger window configured: raised at once, nothing else tried
    tag2 = unique_tag(server, "context-length", mode)
    out = call(fresh(server, tag2, max_retries=3), mode)
    assert isinstance(out.error, router.ContextWindowExceededError), out.error
    assert server.count(tag2) == 1 and server.count("ok") == before


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_13_content_policy_is_not_retried(server: ScenarioServer, mode: tuple[str, str]) -> None:
    tag = unique_tag(server, "content-filter", mode)
    before = server.count("ok")
    out = call(fresh(server, tag, max_retries=3), mode)
    assert isinstance(out.error, router.ContentFilterError), out.error
    assert "violence" in str(out.error)  # the provider's detail
    assert server.count(tag) == 1 and server.count("ok") == before


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_14_in_band_error_after_the_first_frames_falls_back_invisibly(
    server: ScenarioServer, mode: tuple[str, str]
) -> None:
    tag = unique_tag(server, "in-band-error", mode)
    out = call(fresh(server, tag, max_retries=0), mode)
    served_by(out, "backup")
    assert out.text.split() == ["backup", "answer"]
    assert server.count(tag) == 1


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_14b_anthropic_error_event_after_message_start(
    server: ScenarioServer, mode: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_ANTHROPIC_KEY", "sk-ant-test")
    tag = unique_tag(server, "anthropic-in-band", mode)
    deps = [
        Deployment(
            "m",
            "anthropic/claude-x",
            base_url=server.url(tag).removesuffix("/v1"),
            api_key_env="TEST_ANTHROPIC_KEY",
            max_retries=0,
            fallbacks=["backup"],
        ),
        Deployment("backup", "openai-compatible/b", base_url=server.url("ok"), max_retries=0),
    ]
    out = call(Router(deps, timeout=10, first_token_timeout=LIMIT, stall_timeout=LIMIT), mode)
    served_by(out, "backup")
    assert out.text.split() == ["backup", "answer"]
    assert out.receipt is not None and out.receipt.attempts[0].error in (
        "ServiceUnavailableError",
        "InternalServerError",
    )
    assert server.count(tag) == 1


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_15_a_flapping_primary_opens_its_breaker(server: ScenarioServer, mode: tuple[str, str]) -> None:
    tag = unique_tag(server, "flapping", mode)
    clock = FakeClock()
    r = fresh(server, tag, max_retries=0, breaker_threshold=2, breaker_cooldown=30, clock=clock)
    answered = []
    counts = []
    for step in range(7):
        if step in (3, 5):
            clock.now += 31  # past the cooldown: the next call is the half-open probe
        out = call(r, mode)
        assert out.error is None, out.error
        answered.append(out.receipt.deployment if out.receipt else None)
        counts.append(server.count(tag))
    # calls 1-2 fail on m (503) and fall back; the breaker opens: call 3 skips m (no request);
    # call 4 is the probe (m fails again: open again); call 5 skips; call 6 probes and m is back; 7 uses m
    assert counts == [1, 2, 2, 3, 3, 4, 5]
    assert answered == ["backup", "backup", "backup", "backup", "backup", "m", "m"]
    assert r.breaker("m").state == "closed"


def test_15b_skipped_attempts_say_why(server: ScenarioServer) -> None:
    tag = unique_tag(server, "unavailable", ("sync", "plain"))
    clock = FakeClock()
    r = fresh(server, tag, max_retries=0, breaker_threshold=1, breaker_cooldown=30, clock=clock)
    call(r, ("sync", "plain"))
    out = call(r, ("sync", "plain"))
    assert out.receipt is not None
    assert [(a.deployment, a.skipped, a.error) for a in out.receipt.attempts] == [
        ("m", "circuit_open", None),
        ("backup", None, None),
    ]


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_16_a_fail_over_says_what_happened(server: ScenarioServer, mode: tuple[str, str]) -> None:
    tag = unique_tag(server, "unavailable", mode)
    events: list[router.Event] = []

    def record(ev: router.Event) -> None:
        events.append(ev)

    hooks = [{f"on_{k}": record for k in ("request", "retry", "fallback", "response", "error")}]
    out = call(fresh(server, tag, max_retries=1, hooks=hooks), mode)
    served_by(out, "backup")
    assert out.receipt is not None
    attempts = out.receipt.attempts
    # a 503 with OpenAI's type "server_error": the spec's error table reads the type first
    assert [(a.deployment, a.model, a.error, a.status) for a in attempts] == [
        ("m", "openai-compatible/m", "InternalServerError", 503),
        ("backup", "openai-compatible/b", None, None),
    ]
    assert all(a.latency > 0 for a in attempts)
    assert out.receipt.model == "b"  # the answer's model, usage and cost: the backup's only
    assert out.usage is not None and out.usage.total_tokens in (7, 8)
    kinds = [(e.kind, e.deployment, e.attempt) for e in events]
    assert kinds == [
        ("request", "m", 0),
        ("retry", "m", 0),  # the transport's one retry of m
        ("fallback", "m", 0),
        ("request", "backup", 1),
        ("response", "backup", 1),
    ], kinds
    assert len({e.call_id for e in events}) == 1
    final = events[-1]
    assert final.duration is not None and final.duration > 0
    if mode[1] == "stream":
        assert final.time_to_first_token is not None and final.time_to_first_token > 0
