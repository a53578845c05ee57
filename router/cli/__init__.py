"""The ``router`` command (also ``python -m router``).

router validate [--strict] [--json] [PATHS]...     check specs: every problem as file:line:col: error: ...
router build [--specs DIR] [--out DIR] [--check] [--diff]
router docs [--specs DIR] [--out DIR] [--check]   provider pages, capability matrix, spec reference
router new ID [--extends ID] [--out DIR]          a commented spec skeleton that validates as written
router inspect MODEL [-m TEXT | --file FILE]      the exact request an adapter would send, and the receipt
router inspect --spec ID                          a resolved spec, each value with the file it comes from
router chat MODEL [-m TEXT]                       one answer, or a conversation on stdin; streamed
router list [--models] [--check] [--json]         every provider: protocol, models, usable here or not and why
router models PROVIDER [--remote] [--json]        a provider's catalogue: context, output, prices
router health [PROVIDER] [--json]                 is it reachable with the key we hold

Exit codes: 0 ok, 1 a problem found (an invalid spec, stale docs, a failed call), 2 a usage error.
Any router error is printed as one line (``error: <Class>: message``), never a traceback.

The command needs the ``cli`` extra (click, pyyaml, jsonschema, jinja2): ``pip install 'spec-router[cli]'``.
Its entry point (``router.__main__.run``) checks for them first and names any missing in one line.
"""

from __future__ import annotations

from router._extras import CLI_MODULES
from router._extras import needs

try:  # click comes with the cli extra (pip install 'spec-router[cli]'), as the compiler's tools do
    import click
except ImportError as err:
    raise needs("the router command", CLI_MODULES, err) from None

from router import __version__
from router.cli._build import build
from router.cli._build import validate
from router.cli._chat import chat
from router.cli._common import Group
from router.cli._docs import docs
from router.cli._inspect import inspect
from router.cli._new import new
from router.cli._providers import health
from router.cli._providers import list_providers
from router.cli._providers import models
from router.cli._serve import serve

__all__ = ["main"]


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="router")
def main() -> None:
    """One OpenAI-style call to every LLM provider: compile provider specs (YAML) into adapters,
    inspect them, and talk to the models.

    Exit codes: 0 ok, 1 a problem found (an invalid spec, stale docs, a failed call), 2 a usage
    error. `router COMMAND --help` describes each command.
    """


for _command in (validate, build, docs, new, inspect, chat, list_providers, models, health, serve):
    main.add_command(_command)
