"""``router chat``: one answer (``-m``), or a conversation read from stdin, streamed as it arrives."""

from __future__ import annotations

import sys
from typing import Any

import click

from router._accumulate import StreamAccumulator
from router._client import Stream
from router._client import completion
from router._cost import cost
from router._exceptions import APIError
from router._registry import resolve
from router._types import ChatCompletion
from router.cli._common import colour
from router.cli._common import error_line

__all__ = ["chat"]

_EXIT = ("/exit", "/quit")


@click.command(short_help="Talk to a model, tokens streamed as they arrive.")
@click.argument("model")
@click.option("-m", "--message", "message", help="Ask this once, print the answer and exit.")
@click.option("--system", help="A system message at the start of the conversation.")
@click.option("--max-tokens", type=click.IntRange(min=1), help="max_tokens for each answer.")
@click.option("--temperature", type=click.FloatRange(0, 2), help="temperature for each answer.")
@click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds for each answer (default 600)."
)
@click.option("--max-retries", type=click.IntRange(min=0), help="Retries of a failed call (default 2).")
def chat(
    model: str,
    message: str | None,
    system: str | None,
    max_tokens: int | None,
    temperature: float | None,
    timeout: float | None,
    max_retries: int | None,
) -> None:
    """Talk to MODEL: tokens are printed as they arrive, then the usage and cost (on stderr).

    With -m: one question, one answer. Without: each line on stdin is a turn, the conversation kept
    across turns, until end of input or /exit. Works offline against fake/echo and fake/lorem.

    \b
    router chat fake/echo -m "Hello"
    router chat anthropic/claude-sonnet-4-5
    """
    resolve(model)  # an unknown model or provider fails before any prompt
    options: dict[str, Any] = {
        k: v
        for k, v in {
            "max_tokens": max_tokens,
            "temperature": temperature,
            "timeout": timeout,
            "max_retries": max_retries,
        }.items()
        if v is not None
    }
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    if message is not None:
        sys.exit(0 if _turn(model, messages, message, options) else 1)
    stdin = sys.stdin  # CliRunner's input in tests
    tty = stdin.isatty()
    if tty:
        click.echo(
            colour(f"chatting with {model}; /exit or end of input (Ctrl-D) to leave", dim=True), err=True
        )
    failed = False
    while True:
        if tty:
            click.echo(colour("> ", bold=True), nl=False, err=True)
        line = stdin.readline()
        if not line:
            break
        text = line.rstrip("\r\n")
        if text.strip() in _EXIT:
            break
        if not text.strip():
            continue
        failed = not _turn(model, messages, text, options) or failed
    sys.exit(1 if failed else 0)


def _turn(model: str, messages: list[dict[str, Any]], text: str, options: dict[str, Any]) -> bool:
    """Ask ``text``, stream the answer; on success both join ``messages``. False on an error (printed)."""
    user = {"role": "user", "content": text}
    printed = False
    try:
        stream = completion(model, [*messages, user], stream=True, **options)
        assert isinstance(stream, Stream)
        acc = StreamAccumulator(stream.receipt)
        thinking = False  # reasoning text is shown dimmed on stderr, the answer on stdout
        for chunk in stream:
            acc.add(chunk)
            for choice in chunk.choices:
                if choice.index != 0:
                    continue
                if choice.delta.reasoning_content:
                    click.echo(colour(choice.delta.reasoning_content, dim=True), nl=False, err=True)
                    thinking = True
                piece = choice.delta.content
                if piece:
                    if thinking:
                        click.echo(err=True)
                        thinking = False
                    click.echo(piece, nl=False)  # click.echo flushes: each token shows as it comes
                    printed = True
        if thinking:
            click.echo(err=True)
        result = acc.result()
    except APIError as err:
        if printed:
            click.echo()
        click.echo(error_line(err), err=True)
        return False
    if printed:
        click.echo()
    answer = result.choices[0].message.to_dict() if result.choices else {"role": "assistant", "content": ""}
    messages += [user, answer]
    click.echo(colour(usage_line(result), dim=True), err=True)
    return True


def usage_line(result: ChatCompletion) -> str:
    """``[3 prompt + 3 completion = 6 tokens, $0.000012]`` for an answer."""
    u = result.usage
    if u is None:
        tokens = "no usage reported"
    else:
        extra = []
        if u.completion_tokens_details.reasoning_tokens:
            extra.append(f"{u.completion_tokens_details.reasoning_tokens} reasoning")
        if u.prompt_tokens_details.cached_tokens:
            extra.append(f"{u.prompt_tokens_details.cached_tokens} cached")
        more = f" ({', '.join(extra)})" if extra else ""
        tokens = (
            f"{u.prompt_tokens} prompt + {u.completion_tokens} completion = {u.total_tokens} tokens{more}"
        )
    usd = result.cost if result.cost is not None else cost(result)
    price = f"${usd:.6f}" if usd is not None else "cost unknown (no price in the catalogue)"
    finish = result.choices[0].finish_reason if result.choices else None
    stop = f", finish {finish}" if finish and finish != "stop" else ""
    return f"[{tokens}, {price}{stop}]"
