"""The user's whole journey, as a new user takes it: a wheel built from this checkout, installed into a
fresh venv, used from an app folder elsewhere.

The app writes a spec extending a built-in (``acme`` extends ``openai``) and one overriding a built-in
id, validates and builds them into its own folder, checks the build from another working directory,
and calls its provider against a server on 127.0.0.1 and a built-in one (``fake``) in the same
process. The app also has a ``generated/`` package of its own, which must not shadow anything.

The app installs ``spec-router[cli]`` (the command and the compiler); a second venv installs the plain
``spec-router``, where ``import router`` and the adapters work and the ``router`` command names the
install of the extra in one line.

Offline: the wheel is built without build isolation (hatchling comes from .venv), and each fresh venv
gets the package only from that wheel; its dependencies come from .venv's site-packages through a .pth
line, so nothing is downloaded. That line points at a folder holding only the distributions the wheel's
metadata asks for (its Requires-Dist, with the extra or without, and theirs, resolved in .venv): what
the wheel forgets to declare is missing there, as it would be on a user's machine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import venv
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from loopback import Loopback
from loopback import Reply
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]

ACME = """\
# yaml-language-server: $schema=https://example.invalid/provider.v1.schema.json
spec_version: 1
id: acme
extends: openai
name: Acme AI
base_url: https://api.acme.example/v1
base_url_env: ACME_BASE_URL
auth: {env: ACME_API_KEY}
models:
  - id: acme-1
    context_window: 32000
"""

# A user spec may take a built-in id: it wins over the built-in, and may extend it.
OPENAI_OVERRIDE = """\
spec_version: 1
id: openai
extends: openai
name: OpenAI through our proxy
base_url_env: OUR_PROXY_URL
"""

APP = """\
import sys
import router

router.use_adapters("my_adapters")
from router import _registry

resp = router.completion(model="acme/acme-1", messages=[{"role": "user", "content": "Hi"}])
echo = router.completion(model="fake/echo", messages=[{"role": "user", "content": "built-in too"}])
print(json.dumps({
    "router_file": router.__file__,
    "acme": resp.choices[0].message.content,
    "acme_model": resp.model,
    "acme_provider": resp.router.provider,
    "echo": echo.choices[0].message.content,
    "openai_name": _registry.adapter("openai").name,
    "origins": {k: _registry.origins()[k] for k in ("acme", "openai", "fake")},
    "generated_imported": "generated" in sys.modules,
}))
"""


def _run(cmd: list[str], cwd: Path, env: dict[str, str], ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    if ok:
        assert proc.returncode == 0, f"{' '.join(cmd)}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout."""
    wheels = tmp_path_factory.mktemp("wheels")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    (built,) = wheels.glob("spec_router-*.whl")
    return built


def _requires(whl: Path) -> list[Requirement]:
    with zipfile.ZipFile(whl) as z:
        (name,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        text = z.read(name).decode()
    return [
        Requirement(line.split(":", 1)[1].strip())
        for line in text.splitlines()
        if line.startswith("Requires-Dist:")
    ]


def _closure(requires: list[Requirement], extras: frozenset[str]) -> set[str]:
    """The distributions (as installed in .venv) that ``requires`` pulls in with ``extras``, transitively."""
    seen: set[str] = set()
    todo = [(r, extras) for r in requires]
    while todo:
        req, asked = todo.pop()
        if req.marker is not None and not any(req.marker.evaluate({"extra": e}) for e in {"", *asked}):
            continue
        dist = metadata.distribution(req.name)  # .venv must hold every dependency the wheel declares
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        todo += [(Requirement(r), frozenset(req.extras)) for r in dist.requires or []]
    return seen


def _deps_folder(folder: Path, dists: set[str]) -> Path:
    """A folder of links to those distributions' top-level files in .venv's site-packages."""
    folder.mkdir()
    for name in dists:
        dist = metadata.distribution(name)
        tops = {f.parts[0] for f in dist.files or [] if f.parts[0] not in ("..", "__pycache__")}
        for top in tops:
            target = Path(str(dist.locate_file(top)))
            if target.exists() and not (folder / top).exists():
                (folder / top).symlink_to(target)
    return folder


def _fresh_venv(base: Path, whl: Path, extras: frozenset[str]) -> Path:
    """A fresh venv holding the wheel (``pip install 'spec_router-….whl[cli]'`` with ``extras``) and, on
    its path, only the dependencies the wheel declares for them; returns its bin folder."""
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    deps = _deps_folder(base / "deps", _closure(_requires(whl), extras))
    (site / "zz_router_deps.pth").write_text(f"{deps}\n")
    target = f"{whl}[{','.join(sorted(extras))}]" if extras else str(whl)
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(py),
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            target,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    return env_dir / "bin"


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install 'spec-router[cli]'`` from the wheel, in a fresh venv; returns its bin folder."""
    return _fresh_venv(tmp_path_factory.mktemp("journey"), wheel, frozenset({"cli"}))


@pytest.fixture(scope="module")
def installed_runtime(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install spec-router`` (no extra) from the wheel, in a fresh venv; returns its bin folder."""
    return _fresh_venv(tmp_path_factory.mktemp("runtime"), wheel, frozenset())


def test_the_wheel_declares_the_build_tools_as_the_cli_extra(wheel: Path) -> None:
    tools = {"click", "jinja2", "jsonschema", "pyyaml"}
    runtime = {
        r.name.lower() for r in _requires(wheel) if r.marker is None or r.marker.evaluate({"extra": ""})
    }
    cli = {
        r.name.lower()
        for r in _requires(wheel)
        if r.marker is not None and r.marker.evaluate({"extra": "cli"})
    }
    assert not tools & runtime, runtime
    assert tools <= cli, cli


def test_a_plain_install_runs_the_library_and_names_the_extra(
    installed_runtime: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROUTER_", "OPENAI_"))}
    py = str(installed_runtime / "python")
    script = textwrap.dedent(
        """
        import importlib.util, sys
        import router, router.generated.openai, router.generated.anthropic
        print(router.completion(model="fake/echo", messages=[{"role": "user", "content": "hi"}]).choices[0].message.content)
        print(router.__file__.startswith(sys.prefix))
        print(sorted(m for m in ("click", "jinja2", "jsonschema", "yaml") if importlib.util.find_spec(m)))
        try:
            router.Router.from_config("router.yaml")
        except router.ConfigError as err:
            print(err)
        """
    )
    out = _run([py, "-c", script], tmp_path, env)
    hint = "pip install 'spec-router[cli]'"
    assert out.stdout.splitlines() == [
        "hi",
        "True",
        "[]",  # the build tools are not there: the closure of the runtime's Requires-Dist holds none
        f"Router.from_config needs jinja2, jsonschema, pyyaml: {hint}",
    ], out.stderr
    for cmd in ([str(installed_runtime / "router"), "--version"], [py, "-m", "router", "build"]):
        bad = _run(cmd, tmp_path, env, ok=False)
        assert (bad.returncode, bad.stdout) == (1, ""), bad.stderr
        assert bad.stderr == f"error: the router command needs click, jinja2, jsonschema, pyyaml: {hint}\n"


def test_the_wheel_holds_specs_schemas_and_adapters_inside_router(installed: Path) -> None:
    py = installed / "python"
    out = subprocess.run(
        [
            str(py),
            "-c",
            "import router, router.generated, pathlib; p = pathlib.Path(router.__file__).parent;"
            "print(router.__file__); print(router.generated.__file__);"
            "print(sorted(x.name for x in (p / '_specs').glob('*.yaml')));"
            "print(sorted(x.name for x in (p / '_schemas').glob('*.json')));"
            "print(sorted(x.name for x in (p / 'generated').iterdir() if x.suffix in ('.py', '.typed')))",
        ],
        capture_output=True,
        text=True,
        cwd="/",
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(str(installed.parent)), lines  # the wheel's copy, not the checkout
    assert lines[1].startswith(str(installed.parent)) and "router/generated/" in lines[1], lines
    # every shipped spec, schema and compiled adapter, byte for byte the checkout's list
    assert lines[2] == str(sorted(x.name for x in (ROOT / "specs").glob("*.yaml")))
    assert lines[3] == str(sorted(x.name for x in (ROOT / "schemas").glob("*.json")))
    assert lines[4] == str(
        sorted(x.name for x in (ROOT / "generated").iterdir() if x.suffix in (".py", ".typed"))
    )


def test_user_journey(installed: Path, tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "my_specs").mkdir(parents=True)
    (app / "my_specs" / "acme.yaml").write_text(ACME)
    (app / "my_specs" / "openai.yaml").write_text(OPENAI_OVERRIDE)
    # An app's own top-level generated/ package: once, it broke `import router`.
    (app / "generated").mkdir()
    (app / "generated" / "__init__.py").write_text("raise ImportError('the app generated package')\n")
    (app / "app.py").write_text("import json\n" + APP)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROUTER_", "ACME_", "OPENAI_"))}
    env["PATH"] = f"{installed}{os.pathsep}{env.get('PATH', '')}"
    router_cli = str(installed / "router")

    # 1. validate one file: `extends: openai` resolves from the installed specs
    out = _run([router_cli, "validate", "my_specs/acme.yaml"], app, env)
    assert "ok: 1 spec valid" in out.stdout

    # 2. build into the app's folder; the header names the spec relative to its folder's parent
    out = _run([router_cli, "build", "--specs", "my_specs", "--out", "my_adapters"], app, env)
    assert "built 2 adapters into my_adapters" in out.stdout
    acme_py = (app / "my_adapters" / "acme.py").read_text()
    assert acme_py.startswith("# Code generated by `router build` from my_specs/acme.yaml. DO NOT EDIT.")
    # acme extends the app's own openai (a sibling); the app's openai extends the built-in one
    assert "from . import openai" in acme_py
    assert "from router.generated import openai" in (app / "my_adapters" / "openai.py").read_text()

    # 3. --check gives the same answer from any working directory, relative or absolute paths
    _run([router_cli, "build", "--specs", "my_specs", "--out", "my_adapters", "--check"], app, env)
    _run(
        [router_cli, "build", "--specs", str(app / "my_specs"), "--out", str(app / "my_adapters"), "--check"],
        tmp_path,
        env,
    )

    # 4. import and call it against a loopback server, and a built-in provider in the same process
    answer = {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": "acme-1",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello from Acme"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6},
    }
    with Loopback() as server:
        server.replies.append(Reply.json(answer))
        run_env = {**env, "ACME_BASE_URL": server.url + "/v1", "ACME_API_KEY": "sk-acme-secret"}
        out = _run([str(installed / "python"), "app.py"], app, run_env)
        seen = server.seen
    result = json.loads(out.stdout)
    assert result["router_file"].startswith(str(installed.parent))
    assert result["acme"] == "Hello from Acme"
    assert result["acme_provider"] == "acme"
    assert result["echo"] == "built-in too"
    assert result["openai_name"] == "OpenAI through our proxy"
    assert result["origins"]["acme"] == [str((app / "my_adapters").resolve())]
    assert result["origins"]["openai"] == [str((app / "my_adapters").resolve()), "built-in"]
    assert result["origins"]["fake"] == ["built-in"]
    assert result["generated_imported"] is False
    assert len(seen) == 1 and seen[0].path == "/v1/chat/completions"
    assert seen[0].headers["authorization"] == "Bearer sk-acme-secret"
    assert json.loads(seen[0].body)["model"] == "acme-1"

    # 5. ROUTER_ADAPTERS adds to the built-ins (it used to replace them): the CLI lists both
    listed = _run([router_cli, "list"], app, {**env, "ROUTER_ADAPTERS": str(app / "my_adapters")})
    ids = {line.split()[0] for line in listed.stdout.splitlines()[1:] if line.strip()}
    assert {"acme", "fake", "openai", "anthropic"} <= ids, listed.stdout
    script = textwrap.dedent(
        """
        import router
        print(router.completion(model="fake/echo", messages=[{"role": "user", "content": "x"}]).choices[0].message.content)
        print(router.resolve("acme-1")[0].id)
        """
    )
    out = _run(
        [str(installed / "python"), "-c", script],
        tmp_path,
        {**env, "ROUTER_ADAPTERS": str(app / "my_adapters")},
    )
    assert out.stdout.split() == ["x", "acme"]

    # 6. ROUTER_ADAPTERS pointing nowhere: one line, exit 1, no traceback
    bad = _run([router_cli, "list"], app, {**env, "ROUTER_ADAPTERS": str(app / "nowhere")}, ok=False)
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and "no such folder" in bad.stderr


@pytest.fixture(scope="module")
def installed_gateway(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install 'spec-router[gateway]'`` from the wheel, in a fresh venv; returns its bin folder."""
    return _fresh_venv(tmp_path_factory.mktemp("gateway"), wheel, frozenset({"gateway"}))


def _readme_gateway_config() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("# router.yaml for router serve")
    return text[start : text.index("```", start)]


def test_gateway_journey(installed_gateway: Path, tmp_path: Path) -> None:
    """The README's gateway section as a user runs it, from the installed wheel: its config (with a
    real redis-server of the test's own), the key hash it prints, router serve, the official SDKs."""
    import anthropic
    import httpx
    import openai
    from gateway_env import RedisServer
    from gateway_env import free_port

    app = tmp_path / "app"
    app.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROUTER_", "OPENAI_", "ANTHROPIC_"))}
    router_cli = str(installed_gateway / "router")
    key = "sk-team-a-0123456789"
    printed = _run([router_cli, "serve", "--hash-key", key], app, env).stdout.strip()
    config = _readme_gateway_config()
    assert f'hash: "{printed}"' in config  # the README's hash is what the command prints
    (tmp_path / "redis").mkdir()
    with RedisServer(tmp_path / "redis") as redis_server:
        (app / "router.yaml").write_text(config.replace("redis://127.0.0.1:6379/0", redis_server.url))
        port = free_port()
        log = app / "serve.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [router_cli, "serve", "--config", "router.yaml", "--port", str(port)],
                cwd=app,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                assert proc.poll() is None, log.read_text()
                try:
                    health = httpx.get(url + "/health", timeout=1)
                    if health.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            assert health.json()["state"] == "redis"
            msgs = [{"role": "user", "content": "Hi"}]
            with openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0) as gpt:
                assert (
                    gpt.chat.completions.create(model="echo", messages=msgs).choices[0].message.content
                    == "Hi"
                )
                assert gpt.responses.create(model="echo", input="Hi").output_text == "Hi"
                with pytest.raises(openai.AuthenticationError):
                    openai.OpenAI(base_url=url + "/v1", api_key="sk-wrong", max_retries=0).models.list()
            with anthropic.Anthropic(base_url=url, api_key=key, max_retries=0) as claude:
                answer = claude.messages.create(model="echo", max_tokens=50, messages=msgs)
                assert answer.content[0].type == "text" and answer.content[0].text == "Hi"
            assert "router_requests_total" in httpx.get(url + "/metrics").text
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=20)
        assert code == 0, log.read_text()
    records = [json.loads(line) for line in (app / "spend.jsonl").read_text().splitlines()]
    assert [r["key"] for r in records] == ["team-a"] * 3
    assert key not in (app / "spend.jsonl").read_text() + log.read_text()
