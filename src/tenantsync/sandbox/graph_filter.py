"""The OData $filter forms a sync engine sends to Graph, parsed and evaluated.

Basic (no headers needed): eq, in, startswith, and/or, parentheses, lambda `any` on
multi-valued properties (`proxyAddresses/any(x:x eq '…')`,
`assignedLicenses/any(x:x/skuId eq <guid>)`, `groupTypes/any(c:c eq 'Unified')`),
ge/le/gt/lt on dates and strings. Advanced (needs `ConsistencyLevel: eventual` and
`$count=true`, as on Graph): ne, not, endswith.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tenantsync.sandbox.errors import GraphError, bad_request, unsupported_query

Getter = Callable[[Any, str], Any]
Pred = Callable[[Any], bool]


def _bind(get: Getter, name: str) -> Callable[[Any], Any]:
    return lambda obj: get(obj, name)


def _either(a: Pred, b: Pred) -> Pred:
    return lambda obj: a(obj) or b(obj)


def _both(a: Pred, b: Pred) -> Pred:
    return lambda obj: a(obj) and b(obj)


_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<lp>\()|(?P<rp>\))|(?P<comma>,)|(?P<colon>:)"
    r"|(?P<word>[A-Za-z_$@][\w./$@-]*(?:/[\w$]+)*)|(?P<num>-?[\d][\w.:+-]*))"
)
OPS = {"eq", "ne", "gt", "ge", "lt", "le"}
ADVANCED_OPS = {"ne", "not", "endswith"}


@dataclass(slots=True)
class Filter:
    """A compiled filter: `predicate` plus whether it needs the advanced-query headers."""

    predicate: Pred
    advanced: bool
    ids: list[str] | None  # set when the filter is only `id eq '…' or …` (delta's form)


def compile_filter(text: str, resource: str, fields: Mapping[str, Getter]) -> Filter:
    """Compile `$filter` for `resource` ('User' / 'Group'); raises GraphError 400."""
    toks = list(_TOKEN.finditer(text))
    if "".join(m.group(0) for m in toks).strip() != text.strip():
        raise bad_request(f"Invalid filter clause: syntax error in '{text}'.")
    items = [(m.lastgroup or "", m.group(m.lastgroup or 0).strip()) for m in toks]
    state = {"pos": 0, "advanced": False}
    ids: list[str] = []
    only_ids = [True]

    def peek() -> tuple[str, str]:
        pos = int(state["pos"])
        return items[pos] if pos < len(items) else ("end", "")

    def take(kind: str | None = None) -> str:
        k, v = peek()
        if k == "end" or (kind and k != kind):
            raise bad_request(f"Invalid filter clause: unexpected '{v or 'end'}' in '{text}'.")
        state["pos"] = int(state["pos"]) + 1
        return v

    def getter(prop: str) -> Callable[[Any], Any]:
        key = prop.lower()
        for name, get in fields.items():
            if name.lower() == key:
                return _bind(get, name)
        raise unsupported_query(
            f"Unsupported or invalid query filter clause specified for property '{prop}' "
            f"of resource '{resource}'."
        )

    def literal(tok: tuple[str, str]) -> Any:
        kind, value = tok
        if kind == "str":
            return value[1:-1].replace("''", "'")
        if value in ("true", "false"):
            return value == "true"
        if value == "null":
            return None
        if kind in ("num", "word"):
            return value
        raise bad_request(f"Invalid filter clause: bad value '{value}'.")

    def or_expr() -> Pred:
        left = and_expr()
        while peek() == ("word", "or"):
            take()
            a, b = left, and_expr()
            left = _either(a, b)
        return left

    def and_expr() -> Pred:
        left = unary()
        while peek() == ("word", "and"):
            take()
            only_ids[0] = False
            a, b = left, unary()
            left = _both(a, b)
        return left

    def unary() -> Pred:
        kind, value = peek()
        if kind == "lp":
            take()
            inner = or_expr()
            take("rp")
            return inner
        if value.lower() == "not":
            take()
            state["advanced"] = True
            only_ids[0] = False
            inner = unary()
            return lambda o: not inner(o)
        name = take("word")
        if peek()[0] == "lp" and name.lower() in ("startswith", "endswith"):
            only_ids[0] = False
            take("lp")
            prop = take("word")
            take("comma")
            arg = str(literal((peek()[0], take())))
            take("rp")
            if name.lower() == "endswith":
                state["advanced"] = True
            get = getter(prop)
            return _string_fn(get, name.lower(), arg.lower())
        if name.lower().endswith("/any"):
            only_ids[0] = False
            return any_expr(name)
        return comparison(name)

    def any_expr(name: str) -> Pred:
        prop = name[: name.lower().index("/any")]
        get = getter(prop)
        take("lp")
        var = take("word")
        take("colon")
        if peek()[1].lower() == "startswith":
            take()
            take("lp")
            take("word")
            take("comma")
            arg = str(literal((peek()[0], take()))).lower()
            take("rp")
            take("rp")
            return lambda o: any(str(v).lower().startswith(arg) for v in get(o) or [])
        path = take("word")
        op = take("word").lower()
        value = literal((peek()[0], take()))
        take("rp")
        sub = path[len(var) + 1 :] if path.startswith(var + "/") else None
        if op != "eq":
            raise unsupported_query()

        def check(o: Any) -> bool:
            for item in get(o) or []:
                have = item.get(sub) if sub and isinstance(item, dict) else item
                if str(have).lower() == str(value).lower():
                    return True
            return False

        return check

    def comparison(prop: str) -> Pred:
        op = take("word").lower()
        get = getter(prop)
        if op == "in":
            take("lp")
            values = [literal((peek()[0], take()))]
            while peek()[0] == "comma":
                take()
                values.append(literal((peek()[0], take())))
            take("rp")
            wanted = {_norm(v) for v in values}
            if prop.lower() == "id":
                ids.extend(str(v) for v in values)
            else:
                only_ids[0] = False
            return lambda o: _norm(get(o)) in wanted
        if op not in OPS:
            raise bad_request(f"Invalid filter clause: unknown operator '{op}'.")
        value = literal((peek()[0], take()))
        if op == "ne":
            state["advanced"] = True
        if prop.lower() == "id" and op == "eq":
            ids.append(str(value))
        else:
            only_ids[0] = False
        return _compare(get, op, value)

    predicate = or_expr()
    if peek()[0] != "end":
        raise bad_request(f"Invalid filter clause: unexpected '{peek()[1]}' in '{text}'.")
    return Filter(predicate, bool(state["advanced"]), ids if only_ids[0] and ids else None)


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _string_fn(get: Callable[[Any], Any], fn: str, arg: str) -> Pred:
    def check(o: Any) -> bool:
        have = get(o)
        if have is None:
            return False
        text = str(have).lower()
        return text.startswith(arg) if fn == "startswith" else text.endswith(arg)

    return check


def _compare(get: Callable[[Any], Any], op: str, value: Any) -> Pred:
    want = _norm(value)

    def check(o: Any) -> bool:
        have = _norm(get(o))
        if op == "eq":
            return bool(have == want)
        if op == "ne":
            return bool(have != want)
        if have is None or want is None:
            return False
        have, cmp = str(have), str(want)
        return {"gt": have > cmp, "ge": have >= cmp, "lt": have < cmp, "le": have <= cmp}[op]

    return check


def check_advanced(flt: Filter | None, eventual: bool, count: bool) -> None:
    """Graph's gate: advanced operators need ConsistencyLevel: eventual and $count=true."""
    if flt is not None and flt.advanced and not (eventual and count):
        raise GraphError(400, "Request_UnsupportedQuery", "Unsupported Query.")
