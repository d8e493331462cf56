"""A small OPATH filter language (Exchange's -Filter and RecipientFilter) parser and evaluator.

Supports -eq, -ne, -like, -notlike, -and, -or, -not, parentheses, quoted values, $null,
$true and $false; property names are case-insensitive; multi-valued properties match
when any value matches.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Value = str | bool | None | list[str]
Predicate = Callable[[Mapping[str, Value]], bool]

_TOKEN = re.compile(
    r"\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<op>-(?:eq|ne|like|notlike|and|or|not)\b)"
    r"|'(?P<sq>(?:[^']|'')*)'|\"(?P<dq>[^\"]*)\"|(?P<var>\$(?:null|true|false))"
    r"|(?P<word>[^\s()'\"]+))",
    re.IGNORECASE,
)


class OpathError(ValueError):
    """The filter text cannot be parsed."""


@dataclass(slots=True)
class _Tok:
    kind: str
    text: str


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            if text[pos:].strip():
                raise OpathError(f"Invalid filter syntax near position {pos}: {text[pos:]!r}")
            break
        pos = match.end()
        kind = match.lastgroup or ""
        value = match.group(kind) if kind else ""
        if kind == "sq":
            out.append(_Tok("str", value.replace("''", "'")))
        elif kind == "dq":
            out.append(_Tok("str", value))
        elif kind == "op":
            out.append(_Tok("op", value.lower()))
        else:
            out.append(_Tok(kind, value))
    return out


def compile_filter(text: str) -> Predicate:
    """Compile OPATH text into a predicate over a property mapping (lower-case keys)."""
    toks = _tokens(text)
    pos = 0

    def peek() -> _Tok | None:
        return toks[pos] if pos < len(toks) else None

    def take() -> _Tok:
        nonlocal pos
        if pos >= len(toks):
            raise OpathError("Unexpected end of filter")
        pos += 1
        return toks[pos - 1]

    def or_expr() -> Predicate:
        left = and_expr()
        while (t := peek()) and t.kind == "op" and t.text == "-or":
            take()
            right, prev = and_expr(), left
            left = _or(prev, right)
        return left

    def and_expr() -> Predicate:
        left = unary()
        while (t := peek()) and t.kind == "op" and t.text == "-and":
            take()
            right, prev = unary(), left
            left = _and(prev, right)
        return left

    def unary() -> Predicate:
        tok = take()
        if tok.kind == "op" and tok.text == "-not":
            inner = unary()
            return lambda props: not inner(props)
        if tok.kind == "lp":
            inner = or_expr()
            if take().kind != "rp":
                raise OpathError("Missing closing parenthesis")
            return inner
        if tok.kind != "word":
            raise OpathError(f"Expected a property name, found {tok.text!r}")
        op = take()
        if op.kind != "op" or op.text not in ("-eq", "-ne", "-like", "-notlike"):
            raise OpathError(f"Expected a comparison after {tok.text!r}")
        val = take()
        if val.kind == "var":
            literal: str | bool | None = {"$null": None, "$true": True, "$false": False}[
                val.text.lower()
            ]
        elif val.kind in ("str", "word"):
            literal = val.text
        else:
            raise OpathError(f"Expected a value after {op.text}")
        return _compare(tok.text.lower(), op.text, literal)

    predicate = or_expr()
    if pos != len(toks):
        raise OpathError(f"Unexpected text in filter: {toks[pos].text!r}")
    return predicate


def _or(a: Predicate, b: Predicate) -> Predicate:
    return lambda props: a(props) or b(props)


def _and(a: Predicate, b: Predicate) -> Predicate:
    return lambda props: a(props) and b(props)


def _compare(name: str, op: str, literal: str | bool | None) -> Predicate:
    def values(props: Mapping[str, Value]) -> list[str | bool]:
        raw = props.get(name)
        if raw is None:
            return []
        return list(raw) if isinstance(raw, list) else [raw]

    def equal(have: str | bool, want: str | bool | None) -> bool:
        if isinstance(want, bool) or isinstance(have, bool):
            return str(have).lower() == str(want).lower()
        return str(have).lower() == str(want).lower()

    if op in ("-eq", "-ne"):
        positive = op == "-eq"

        def check(props: Mapping[str, Value]) -> bool:
            vals = values(props)
            hit = not vals if literal is None else any(equal(v, literal) for v in vals)
            return hit if positive else not hit

        return check
    pattern = str(literal or "").lower()
    positive = op == "-like"

    def like(props: Mapping[str, Value]) -> bool:
        hit = any(fnmatch.fnmatchcase(str(v).lower(), pattern) for v in values(props))
        return hit if positive else not hit

    return like
