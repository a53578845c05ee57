"""The parameter policy: how the OpenAI-named parameters of a request become provider body fields
(unsupported, exclusive groups, limits, lists, renames, defaults, per-model overrides), the
reasoning-effort table, and the one merge rule for nested body fragments (``deep_merge``)."""

from __future__ import annotations

import copy
import difflib
import fnmatch
import logging
from collections.abc import Mapping
from typing import Any

from router._exceptions import BadRequestError
from router._exceptions import UnsupportedParamsError
from router._types import Receipt
from router.protocols._config import Limit
from router.protocols._config import ParamRules
from router.protocols._config import ProviderConfig
from router.protocols._config import ReasoningRules
from router.protocols._normalise import get_path

__all__ = [
    "OPENAI_PARAMS",
    "ROUTER_KWARGS",
    "apply_params",
    "apply_reasoning",
    "deep_merge",
    "reasoning_for",
    "rules_for",
]

log = logging.getLogger("router")


# The OpenAI Chat Completions request vocabulary (plus top_k, which several providers take). A key
# outside it and outside ROUTER_KWARGS is a typo or an unsupported extension: it gets a typed error
# before any network call instead of being forwarded or dropped. Provider-specific fields go in
# ``extra_body``.
OPENAI_PARAMS = frozenset(
    {
        "model", "messages", "stream", "stream_options", "temperature", "top_p", "top_k", "n", "stop",
        "max_tokens", "max_completion_tokens", "presence_penalty", "frequency_penalty", "logit_bias",
        "logprobs", "top_logprobs", "user", "seed", "tools", "tool_choice", "parallel_tool_calls",
        "functions", "function_call", "response_format", "reasoning_effort", "modalities", "audio",
        "prediction", "service_tier", "store", "metadata", "web_search_options", "verbosity",
        "prompt_cache_key", "safety_identifier", "prompt_cache_retention", "prompt_cache_options",
        "moderation",
    }
)  # fmt: skip
# tests/test_rules.py fails when the installed openai package's CompletionCreateParams names a key
# that is not here (or in ROUTER_KWARGS): the vocabulary follows the official SDK.


# Keyword arguments the router itself consumes; never sent.
ROUTER_KWARGS = frozenset(
    {
        "api_key",
        "base_url",
        "timeout",
        "max_retries",
        "extra_headers",
        "extra_body",
        "extra_query",
        "strict",
        "max_response_bytes",
        "max_event_bytes",
        "first_token_timeout",
        "stall_timeout",
    }
)


def _merge_rules(base: ParamRules, over: ParamRules) -> ParamRules:
    return ParamRules(
        rename={**base.rename, **over.rename},
        defaults={**base.defaults, **over.defaults},
        limits={**base.limits, **over.limits},
        unsupported=base.unsupported | over.unsupported,
        to_list=base.to_list | over.to_list,
        exclusive=base.exclusive + tuple(g for g in over.exclusive if g not in base.exclusive),
        extension_prefix=over.extension_prefix or base.extension_prefix,
        native=base.native | over.native,
    )


def rules_for(cfg: ProviderConfig, model: str) -> ParamRules:
    """The provider's parameter rules with every matching model-pattern override applied in order."""
    rules = cfg._rules_cache.get(model)
    if rules is None:
        rules = cfg.params
        for ov in cfg.overrides:
            if any(fnmatch.fnmatchcase(model, p) for p in ov.patterns):
                rules = _merge_rules(rules, ov.params)
        cfg._rules_cache[model] = rules
    return rules


def reasoning_for(cfg: ProviderConfig, model: str) -> ReasoningRules:
    """The reasoning rules for ``model``: the last matching override that has some, else the provider's."""
    rr = cfg._reasoning_cache.get(model)
    if rr is None:
        rr = cfg.reasoning
        for ov in cfg.overrides:
            if ov.reasoning is not None and any(fnmatch.fnmatchcase(model, p) for p in ov.patterns):
                rr = ov.reasoning
        cfg._reasoning_cache[model] = rr
    return rr


def _set_dotted(body: dict[str, Any], target: str, value: Any) -> None:
    if "." not in target:
        body[target] = value
        return
    split = _DOTTED.get(target)
    if split is None:
        *parents, leaf = target.split(".")
        split = (tuple(parents), leaf)
        if len(_DOTTED) < 4096:  # spec field names: a few dozen in all; bounded all the same
            _DOTTED[target] = split
    node = body
    for p in split[0]:
        child = node.get(p)
        if not isinstance(child, dict):
            child = {}
            node[p] = child
        node = child
    node[split[1]] = value


# A dotted body path, split once: (parents, leaf).
_DOTTED: dict[str, tuple[tuple[str, ...], str]] = {}


def _check_limit(
    cfg: ProviderConfig, name: str, value: Any, limit: Limit, receipt: Receipt, strict: bool
) -> Any:
    kind = type(value)
    if (
        kind is not int
        and kind is not float
        and (isinstance(value, bool) or not isinstance(value, int | float))
    ):
        raise BadRequestError(f"{name} must be a number, got {type(value).__name__}", provider=cfg.id)
    lo, hi = limit.min, limit.max
    if (lo is None or value >= lo) and (hi is None or value <= hi):
        return value
    rng = f"[{'' if lo is None else lo}, {'' if hi is None else hi}]"
    if limit.policy == "error" or strict:
        raise UnsupportedParamsError(f"{name}={value} is outside {cfg.id}'s range {rng}", provider=cfg.id)
    if limit.policy == "drop":
        receipt.dropped.append(name)
        return _DROP
    clamped = max(lo, value) if lo is not None else value
    clamped = min(hi, clamped) if hi is not None else clamped
    receipt.clamped[name] = {"from": value, "to": clamped}
    return clamped


_DROP = object()


def _reasoning_fragment(
    cfg: ProviderConfig, rr: ReasoningRules, effort: Any, receipt: Receipt, strict: bool
) -> Mapping[str, Any] | None:
    if effort not in _EFFORT_LEVELS:
        raise BadRequestError(
            f"reasoning_effort={effort!r} is not a level, expected one of: {', '.join(_EFFORT_LEVELS)}",
            provider=cfg.id,
        )
    fragment = rr.effort.get(effort)
    if fragment is None:
        levels = ", ".join(rr.effort)
        if strict:
            raise UnsupportedParamsError(
                f"{cfg.id} has no reasoning_effort={effort!r} (it has: {levels})", provider=cfg.id
            )
        receipt.dropped.append("reasoning_effort")
    return fragment


def deep_merge(base: dict[str, Any], extra: Mapping[str, Any], *, keep: bool = False) -> None:
    """Merge ``extra`` into ``base`` in place: mappings key by key, recursively; anything else replaces
    the value in ``base`` (or, with ``keep``, fills only keys ``base`` does not have)."""
    for k, v in extra.items():
        cur = base.get(k)
        if (type(v) is dict or isinstance(v, Mapping)) and isinstance(cur, dict):
            deep_merge(cur, v, keep=keep)
        elif not keep or k not in base:
            base[k] = copy.deepcopy(v) if isinstance(v, Mapping | list) else v


def apply_reasoning(
    cfg: ProviderConfig, body: dict[str, Any], fragment: Mapping[str, Any], receipt: Receipt
) -> None:
    """Merge the effort fragment; keep the output limit above a thinking budget the provider counts in it."""
    deep_merge(body, fragment)
    rr = reasoning_for(cfg, receipt.model)
    if rr.budget_path is None:
        return
    budget = get_path(body, rr.budget_path)
    if not isinstance(budget, int):
        return
    key = rr.max_tokens_key
    current = get_path(body, tuple(key.split(".")))
    if not isinstance(current, int) or current > budget:
        return  # no output limit set (the provider's own maximum applies), or room enough already
    # The answer keeps the room the caller asked for (or the spec's default), on top of the budget.
    raised = budget + current
    _set_dotted(body, key, raised)
    receipt.clamped[key] = {"from": current, "to": raised}


def _excluded(cfg: ProviderConfig, rules: ParamRules, request: Mapping[str, Any], strict: bool) -> set[str]:
    out: set[str] = set()
    for group in rules.exclusive:
        present = [n for n in group if request.get(n) is not None and n not in rules.unsupported]
        if len(present) > 1:
            if strict:
                raise UnsupportedParamsError(
                    f"{cfg.id} does not take {' and '.join(present)} together", provider=cfg.id
                )
            out.update(present[1:])
    return out


_EFFORT_LEVELS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")


def apply_params(
    cfg: ProviderConfig,
    request: Mapping[str, Any],
    body: dict[str, Any],
    *,
    handled: frozenset[str],
    receipt: Receipt,
    strict: bool,
) -> None:
    """Copy every plain parameter of ``request`` into ``body`` through the spec's rules, then apply
    the reasoning table (``reasoning_effort``) when the spec has one.

    ``handled`` names the keys the codec translates itself (messages, tools, ...).
    """
    rules = rules_for(cfg, receipt.model)
    excluded: set[str] | tuple[()] = _excluded(cfg, rules, request, strict) if rules.exclusive else ()
    fragment = None
    effort = request.get("reasoning_effort")
    rr = reasoning_for(cfg, receipt.model) if effort is not None else cfg.reasoning
    if effort is not None and rr.effort and "reasoning_effort" not in rules.unsupported:
        fragment = _reasoning_fragment(cfg, rr, effort, receipt, strict)
        handled = handled | {"reasoning_effort"}
        if fragment and rr.drops:
            excluded = set(excluded) | {n for n in rr.drops if request.get(n) is not None}
    for name, value in request.items():
        if name in handled or name in ROUTER_KWARGS or value is None:
            continue
        if name not in OPENAI_PARAMS:
            if name in rules.native:  # a field of the provider's own API (its SDK defines it)
                body[name] = value
                continue
            prefix = rules.extension_prefix
            if prefix is not None and name.startswith(prefix):
                body[name[len(prefix) :]] = value
                receipt.renamed[name] = name[len(prefix) :]
                continue
            hint = difflib.get_close_matches(name, sorted(OPENAI_PARAMS), n=1)
            maybe = f"; did you mean {hint[0]!r}?" if hint else ""
            raise UnsupportedParamsError(
                f"unknown parameter {name!r}{maybe} (provider-specific fields go in extra_body)",
                provider=cfg.id,
                param=name,
            )
        if name in rules.unsupported:
            if strict:
                raise UnsupportedParamsError(f"{cfg.id} does not support {name!r}", provider=cfg.id)
            receipt.dropped.append(name)
            continue
        if name in excluded:
            receipt.dropped.append(name)
            continue
        limit = rules.limits.get(name)
        if limit is not None:
            value = _check_limit(cfg, name, value, limit, receipt, strict)
            if value is _DROP:
                continue
        if name in rules.to_list and isinstance(value, str):
            value = [value]
        target = rules.rename.get(name)
        if target is not None:
            receipt.renamed[name] = target
            _set_dotted(body, target, value)
        else:
            body[name] = value
    for key, value in rules.defaults.items():
        if key not in body:
            body[key] = value
            receipt.defaulted[key] = value
    if fragment is not None:
        apply_reasoning(cfg, body, fragment, receipt)
    if receipt.dropped:
        log.debug("%s: dropped unsupported params %s", cfg.id, receipt.dropped)
