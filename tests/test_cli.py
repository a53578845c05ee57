"""The ``router`` command: every subcommand's help, exit codes (0 ok, 1 a problem, 2 usage), JSON
output, masked keys, chat against the fake provider, new -> validate, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from click.testing import Result
from conftest import ROOT

from router.cli import _chat
from router.cli import main

COMMANDS = ["validate", "build", "docs", "new", "inspect", "chat", "list", "models", "health"]
ROUTER = str(Path(sys.executable).with_name("router"))


def run(
    *args: str, input: str | None = None, color: bool = False, env: dict[str, str] | None = None
) -> Result:
    return CliRunner().invoke(main, list(args), input=input, color=color, env=env, catch_exceptions=False)


@pytest.fixture
def in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def _sub(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **(env or {})}
    return subprocess.run(args, cwd=cwd, env=full, capture_output=True, text=True, timeout=60)


# -- help, usage errors, entry points -------------------------------------------------------------------


def test_main_help_lists_every_command() -> None:
    r = run("--help")
    assert r.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in r.output, name


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    r = run(command, "--help")
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"Usage: main {command}") or r.output.startswith(f"Usage: router {command}")


@pytest.mark.parametrize(
    "args",
    [
        ["nope"],
        ["list", "--bogus"],
        ["inspect"],
        ["chat"],
        ["models"],
        ["new", "Not_An_Id"],
        ["inspect", "fake/echo", "-m", "x", "--file", "-"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert run(*args, input="{}").exit_code == 2


def test_python_dash_m_router_and_the_script() -> None:
    r = _sub(sys.executable, "-m", "router", "--help")
    assert r.returncode == 0 and "Usage: router" in r.stdout, r.stderr
    r = _sub(ROUTER, "--version")
    assert r.returncode == 0 and "0.1.0" in r.stdout


# -- validate --------------------------------------------------------------------------------------------


def test_validate_missing_path_is_a_diagnostic(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    r = run("validate", str(missing))
    assert r.exit_code == 1
    first = r.stderr.splitlines()[0]
    assert first.startswith(f"{missing.as_posix()}:1:1: error: no such file or directory"), first
    assert "Usage:" not in r.output and "cannot read the file" not in r.output


def test_validate_json(in_root: None) -> None:
    r = run("validate", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["ok"] is True and "openai" in data["specs"] and data["diagnostics"] == []
    r = run("validate", "--json", "does-not-exist.yaml")
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert data["ok"] is False and data["diagnostics"][0]["file"] == "does-not-exist.yaml"


# -- errors are one line ---------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["list"], ["models", "fake"], ["chat", "fake/echo", "-m", "hi"]])
def test_router_adapters_pointing_nowhere_is_one_line(args: list[str], tmp_path: Path) -> None:
    nowhere = str(tmp_path / "nowhere")
    r = _sub(ROUTER, *args, env={"ROUTER_ADAPTERS": nowhere})
    assert r.returncode == 1, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ROUTER_ADAPTERS="), lines[0]
    assert nowhere in lines[0] and "Traceback" not in r.stderr


def test_unknown_model_and_provider_are_one_line() -> None:
    for args in (
        ["inspect", "nosuch/model"],
        ["models", "nosuch"],
        ["health", "nosuch"],
        ["chat", "nosuch/x", "-m", "hi"],
    ):
        r = run(*args)
        assert r.exit_code == 1, args
        assert r.stderr.strip().startswith("error: ConfigError: unknown provider 'nosuch'"), r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


# -- inspect ---------------------------------------------------------------------------------------------


def test_inspect_masks_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-secret")
    r = run("inspect", "anthropic/claude-sonnet-4-5", "-m", "Hi", "--stream")
    assert r.exit_code == 0, r.output
    assert "sk-secret" not in r.output
    assert "POST https://api.anthropic.com/v1/messages" in r.output
    assert "x-api-key: ****" in r.output
    assert "key from ANTHROPIC_API_KEY" in r.output
    assert "defaulted: max_tokens = 4096" in r.output
    r = run("inspect", "anthropic/claude-sonnet-4-5", "-m", "Hi", "--json")
    assert "sk-secret" not in r.output
    data = json.loads(r.stdout)
    assert data["request"]["headers"]["x-api-key"] == "****"
    assert data["request"]["json"]["messages"] == [{"role": "user", "content": "Hi"}]


def test_inspect_placeholder_key_and_receipt(tmp_path: Path) -> None:
    body = {
        "model": "gpt-5",
        "messages": [{"role": "user", "content": "x"}],
        "max_tokens": 10,
        "temperature": 0.5,
        "top_k": 3,
    }
    f = tmp_path / "request.json"
    f.write_text(json.dumps(body))
    r = run("inspect", "--file", str(f), "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert (
        data["provider"] == "openai"
        and data["request"]["url"] == "https://api.openai.com/v1/chat/completions"
    )
    assert data["request"]["headers"]["Authorization"] == "Bearer ****"
    assert "placeholder" in data["key"]
    assert data["receipt"]["renamed"] == {"max_tokens": "max_completion_tokens"}
    assert set(data["receipt"]["dropped"]) == {"temperature", "top_k"}
    assert data["request"]["json"]["max_completion_tokens"] == 10
    # MODEL beats the file's model; the same body on another protocol
    r = run("inspect", "gemini-2.5-flash", "--file", str(f))
    assert r.exit_code == 0, r.output
    assert ":generateContent" in r.output and '"maxOutputTokens": 10' in r.output
    assert "renamed:" in r.output and "placeholder" in r.output
    # strict: what would be dropped is an error
    r = run("inspect", "openai/gpt-5", "--file", str(f), "--strict")
    assert r.exit_code == 1 and r.stderr.startswith("error: UnsupportedParamsError:")


def test_inspect_bad_file(tmp_path: Path) -> None:
    f = tmp_path / "bad.json"
    f.write_text("[1, 2")
    r = run("inspect", "fake/echo", "--file", str(f))
    assert r.exit_code == 1 and "not JSON" in r.stderr


def test_inspect_spec_shows_where_each_value_comes_from(in_root: None) -> None:
    r = run("inspect", "--spec", "fake")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "# fake: resolved from specs/fake.yaml -> specs/openai.yaml"

    def origin(prefix: str) -> str:
        line = next(x for x in lines if x.startswith(prefix))
        return line.rsplit("# ", 1)[1]

    assert origin("base_url:") == "specs/fake.yaml"
    assert origin("protocol:") == "specs/openai.yaml"
    assert origin("  optional:") == "specs/fake.yaml"  # auth.optional is fake's, auth.header openai's
    assert origin("  header:") == "specs/openai.yaml"
    r = run("inspect", "--spec", "openai-responses", "--json")
    data = json.loads(r.stdout)
    assert data["extends"] == ["specs/openai.yaml"]
    assert data["origins"]["models"] == ["specs/openai.yaml"]  # models_from: openai
    assert data["origins"]["protocol"] == ["specs/openai-responses.yaml"]
    assert data["origins"]["auth"]["env"] == ["specs/openai.yaml"]
    assert list(data["resolved"])[:3] == ["spec_version", "id", "name"]


def test_inspect_spec_unknown_and_specs_dir(tmp_path: Path, in_root: None) -> None:
    r = run("inspect", "--spec", "opnai")
    assert r.exit_code == 1 and "did you mean openai" in r.stderr
    r = run("inspect", "--spec", "fake", "--specs", str(tmp_path / "none"))
    assert r.exit_code == 1 and "no such directory" in r.stderr


# -- chat ------------------------------------------------------------------------------------------------


def test_chat_one_shot() -> None:
    r = run("chat", "fake/echo", "-m", "Hello there")
    assert r.exit_code == 0, r.output
    assert r.stdout == "Hello there\n"
    assert "prompt +" in r.stderr and "tokens" in r.stderr


def test_chat_interactive_keeps_the_conversation(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[dict[str, Any]]] = []
    real = _chat.completion

    def spy(model: str, messages: list[Any], **kw: Any) -> Any:
        seen.append(list(messages))
        return real(model, messages, **kw)

    monkeypatch.setattr(_chat, "completion", spy)
    r = run("chat", "fake/echo", "--system", "be brief", input="one\n\ntwo words\n/exit\nnever sent\n")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == ["one", "two words"]
    assert len(seen) == 2
    assert [m["role"] for m in seen[1]] == ["system", "user", "assistant", "user"]
    assert seen[1][2]["content"] == "one"
    assert r.stderr.count("tokens") == 2


def test_chat_ends_at_end_of_input_and_lorem_streams() -> None:
    r = run("chat", "fake/lorem", "--max-tokens", "3", input="go\n")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == "Lorem ipsum dolor"
    assert "finish length" in r.stderr


def test_chat_errors_are_one_line() -> None:
    r = run("chat", "fake/error-400", "-m", "hi")
    assert r.exit_code == 1
    assert r.stderr.strip().startswith("error: BadRequestError: ")
    assert len(r.stderr.strip().splitlines()) == 1
    # interactive: the failed turn is reported, the others answered, exit 1 at the end
    r = run("chat", "fake/error-400", input="a\nb\n")
    assert r.exit_code == 1 and r.stderr.count("error: BadRequestError") == 2


def test_chat_needs_a_key() -> None:
    r = run("chat", "openai/gpt-4o", "-m", "hi")
    assert r.exit_code == 1
    assert r.stderr.strip() == "error: ConfigError: openai: no API key; set OPENAI_API_KEY or pass api_key="


# -- new -------------------------------------------------------------------------------------------------


def test_new_writes_a_skeleton_that_validates(tmp_path: Path) -> None:
    out = tmp_path / "specs"
    r = run("new", "acme", "--out", str(out))
    assert r.exit_code == 0, r.output
    text = (out / "acme.yaml").read_text()
    first = text.splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=") and first.endswith("provider.v1.schema.json")
    schema_ref = first.split("=", 1)[1]
    assert (out / schema_ref).resolve().is_file()  # the hint points at the schema, relative to the file
    for field in (
        "spec_version: 1",
        "id: acme",
        "protocol: openai-chat",
        "base_url:",
        "auth:",
        "endpoints:",
        "ACME_API_KEY",
    ):
        assert field in text, field
    r = run("validate", "--strict", str(out))
    assert r.exit_code == 0, r.output
    r = run("build", "--specs", str(out), "--out", str(tmp_path / "gen"))
    assert r.exit_code == 0, r.output
    # never overwritten
    (out / "acme.yaml").write_text(text + "# mine\n")
    r = run("new", "acme", "--out", str(out))
    assert r.exit_code == 1 and "already exists" in r.stderr
    assert (out / "acme.yaml").read_text().endswith("# mine\n")


def test_new_extends_a_builtin(tmp_path: Path) -> None:
    r = run("new", "acme-eu", "--extends", "openai", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    text = (tmp_path / "acme-eu.yaml").read_text()
    assert "extends: openai" in text and "protocol:" not in text
    r = run("validate", "--strict", str(tmp_path))
    assert r.exit_code == 0, r.output
    r = run("new", "x", "--extends", "opnai", "--out", str(tmp_path))
    assert r.exit_code == 1 and "did you mean openai" in r.stderr


# -- models, health, list ---------------------------------------------------------------------------------


def test_models() -> None:
    r = run("models", "anthropic")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].split()[:2] == ["MODEL", "ALIASES"]
    row = next(x for x in lines if x.startswith("claude-sonnet-4-5-20250929"))
    assert "claude-sonnet-4-5 (api)" in row and "200,000" in row and "3.00" in row and "15.00" in row
    data = json.loads(run("models", "openai", "--json").stdout)
    gpt = next(m for m in data if m["id"] == "gpt-4o")
    assert (
        gpt["context_window"] == 128000 and gpt["price"]["input"] == 2.5 and "vision" in gpt["capabilities"]
    )
    r = run("models", "vllm")
    assert r.exit_code == 0 and "no catalogue" in r.stderr
    r = run("models", "fake", "--remote", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout) == [
        {"id": "echo", "in_catalogue": True},
        {"id": "lorem", "in_catalogue": True},
    ]


def test_health(monkeypatch: pytest.MonkeyPatch) -> None:
    r = run("health", "fake")
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0].split() == ["PROVIDER", "STATUS", "LATENCY", "DETAIL"]
    assert r.output.splitlines()[1].split()[:2] == ["fake", "ok"]
    data = json.loads(run("health", "fake", "--json").stdout)
    assert data[0]["status"] == "ok" and data[0]["latency_ms"] is not None
    monkeypatch.setenv("VLLM_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens on the discard port
    r = run("health", "vllm", "--json", "--timeout", "2")
    assert r.exit_code == 1
    assert json.loads(r.stdout)[0]["status"] == "down"


def test_list_plain(in_root: None) -> None:
    r = run("list")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].split() == ["PROVIDER", "PROTOCOL", "MODELS", "STATUS", "WHY", "SOURCE"]
    assert "REACHABLE" not in r.output and "\x1b[" not in r.output
    fake = next(x for x in lines if x.startswith("fake "))
    assert "enabled" in fake and "needs no key" in fake and "built-in" in fake
    openai = next(x for x in lines if x.startswith("openai "))
    assert "disabled" in openai and "OPENAI_API_KEY" in openai
    r = run("list", "--models")
    assert "MODEL NAMES" in r.output.splitlines()[0]
    assert next(x for x in r.output.splitlines() if x.startswith("fake ")).endswith("echo, lorem")


def test_list_json_and_check(monkeypatch: pytest.MonkeyPatch) -> None:
    data = json.loads(run("list", "--json").stdout)
    fake = next(p for p in data if p["id"] == "fake")
    assert fake["enabled"] is True and fake["models"] == ["echo", "lorem"] and fake["source"] == "built-in"
    assert fake["overrides_builtin"] is False and "reachable" not in fake
    # local servers answer "down" at once: point every enabled one at a closed port
    for var in ("OLLAMA_HOST", "VLLM_BASE_URL"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    r = run("list", "--check", "--timeout", "2")
    assert r.exit_code == 0, r.output
    assert "REACHABLE" in r.output.splitlines()[0]
    fake_row = next(x for x in r.output.splitlines() if x.startswith("fake "))
    assert fake_row.split("built-in")[1].split()[0] == "ok"
    data = json.loads(run("list", "--check", "--json", "--timeout", "2").stdout)
    assert next(p for p in data if p["id"] == "fake")["reachable"]["status"] == "ok"
    assert next(p for p in data if p["id"] == "openai")["reachable"] is None  # disabled: not checked


def test_list_colour_only_on_a_terminal() -> None:
    assert "\x1b[" in run("list", color=True).output
    assert "\x1b[" not in run("list", color=True, env={"NO_COLOR": "1"}).output
    assert "\x1b[" not in run("list").output


def test_list_source_marks_an_overridden_builtin(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "fake.yaml").write_text(
        (ROOT / "specs" / "fake.yaml").read_text().replace("Fake (in-process)", "My fake")
    )
    out = tmp_path / "adapters"
    r = run("build", "--specs", str(specs), "--out", str(out))
    assert r.exit_code == 0, r.output
    r = _sub(ROUTER, "list", "--json", env={"ROUTER_ADAPTERS": str(out)})
    assert r.returncode == 0, r.stderr
    fake = next(p for p in json.loads(r.stdout) if p["id"] == "fake")
    assert fake["name"] == "My fake" and fake["overrides_builtin"] is True
    assert Path(fake["source"]).resolve() == out.resolve()
    r = _sub(ROUTER, "list", env={"ROUTER_ADAPTERS": str(out)})
    assert "(overrides built-in)" in next(x for x in r.stdout.splitlines() if x.startswith("fake "))


def test_chat_shows_reasoning_dimmed_on_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    from router import ChatCompletionChunk
    from router import ChunkChoice
    from router import Delta
    from router import Receipt
    from router import Stream
    from router import Usage

    class Scripted(Stream):
        def __init__(self, chunks: list[ChatCompletionChunk]) -> None:  # no connection: the chunks given
            self.receipt = Receipt("fake", "thinker")
            self._chunks = chunks

        def __iter__(self) -> Any:
            return iter(self._chunks)

    def chunk(delta: Delta, usage: Usage | None = None, finish: Any = None) -> ChatCompletionChunk:
        return ChatCompletionChunk("c", 0, "thinker", [ChunkChoice(0, delta, finish)], usage=usage)

    chunks = [
        chunk(Delta(role="assistant", reasoning_content="Let me think. ")),
        chunk(Delta(reasoning_content="Done.")),
        chunk(Delta(content="Yes")),
        chunk(Delta(), Usage(2, 5, 7), "stop"),
    ]
    monkeypatch.setattr(_chat, "completion", lambda *a, **k: Scripted(chunks))
    r = run("chat", "fake/echo", "-m", "Well?")
    assert r.exit_code == 0, r.output
    assert r.stdout == "Yes\n"
    assert r.stderr.startswith("Let me think. Done.\n")
    assert "[2 prompt + 5 completion = 7 tokens" in r.stderr
