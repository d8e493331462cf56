"""Reading a configuration file, with errors that carry the file's line and the field.

Before the document is built, the file is checked for what YAML itself lets through: a key
given twice in one mapping (YAML keeps the last, silently) and nesting deeper than any
configuration needs (PyYAML builds nodes recursively and would exhaust the stack).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tenantsync.config.schema import UNION_TAGS, Document
from tenantsync.errors import ConfigError

MAX_DEPTH = 64  # a task's rules sit about ten levels deep; options get plenty of room


@dataclass(frozen=True)
class LoadedDocument:
    """A validated document and what is needed to point at its lines."""

    document: Document
    source: str
    node: yaml.Node | None
    data: Any

    def where(self, *loc: Any) -> str:
        """``file:line`` of the field at ``loc``."""
        return f"{self.source}:{self.line(*loc)}"

    def line(self, *loc: Any) -> int:
        """The line of the field at ``loc``."""
        return line_of(self.node, list(loc))

    def path(self, *loc: Any) -> str:
        """A readable path to the field at ``loc``."""
        return describe_path(self.data, list(loc))


def load_document(path: Path) -> LoadedDocument:
    """Parse and validate ``path``; every problem is reported with its line and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte {exc.start} cannot be read)", where=str(path)
        ) from None
    return parse_document(text, str(path))


def parse_document(text: str, source: str) -> LoadedDocument:
    """Parse and validate ``text`` read from ``source`` (named in every error)."""
    try:
        _check_depth(text, source)
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", where=where) from None
    _check_unique_keys(node, data, source)
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with 'organizations:'", where=f"{source}:1")
    try:
        document = Document.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, node, data, source) from None
    return LoadedDocument(document=document, source=source, node=node, data=data)


def _check_depth(text: str, source: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH, reading events (which PyYAML does without
    recursion) before anything builds nodes."""
    depth = 0
    for event in yaml.parse(text):
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                where = f"{source}:{mark.line + 1}" if mark is not None else source
                raise ConfigError(f"nested more than {MAX_DEPTH} levels deep", where=where)
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1


def _check_unique_keys(node: yaml.Node | None, data: Any, source: str) -> None:
    """Refuse a mapping that gives one key twice, naming the key and both lines."""
    stack: list[tuple[yaml.Node, list[Any]]] = [(node, [])] if node is not None else []
    seen_nodes: set[int] = set()  # an alias shares its anchor's node; walk it once
    while stack:
        current, loc = stack.pop()
        if id(current) in seen_nodes:
            continue
        seen_nodes.add(id(current))
        if isinstance(current, yaml.SequenceNode):
            stack.extend((child, [*loc, i]) for i, child in enumerate(current.value))
        elif isinstance(current, yaml.MappingNode):
            first: dict[tuple[str, str], int] = {}
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    line = key.start_mark.line + 1
                    if (key.tag, key.value) in first:
                        path = describe_path(data, [*loc, key.value])
                        raise ConfigError(
                            f"{path}: {key.value!r} is given twice "
                            f"(first on line {first[key.tag, key.value]})",
                            where=f"{source}:{line}",
                        )
                    first[key.tag, key.value] = line
                    stack.append((value, [*loc, key.value]))


def validation_error(
    exc: ValidationError, node: yaml.Node | None, data: Any, source: str
) -> ConfigError:
    """One ConfigError listing each invalid field as ``file:line: path: message``."""
    lines = []
    for err in exc.errors():
        loc = [p for p in err["loc"] if not _is_union_tag(p)]
        line = line_of(node, loc)
        message = err["msg"].removeprefix("Value error, ")
        lines.append(f"{source}:{line}: {describe_path(data, loc)}: {message}")
    first = lines[0]
    more = "" if len(lines) == 1 else "\n" + "\n".join(lines[1:])
    return ConfigError(first + more)


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and part in UNION_TAGS


def line_of(node: yaml.Node | None, loc: list[Any]) -> int:
    """The 1-based line of the deepest YAML node on ``loc`` that exists."""
    line = 1 if node is None else node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if key.value == part:
                    node = value
                    line = key.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def describe_path(data: Any, loc: list[Any]) -> str:
    """A path such as ``organizations[contoso].tasks[nightly].schedule`` (names, not indexes)."""
    out: list[str] = []
    for part in loc:
        if isinstance(part, int) and isinstance(data, list) and part < len(data):
            item = data[part]
            name = item.get("name") if isinstance(item, dict) else None
            out[-1] += f"[{name}]" if name else f"[{part}]"
            data = item
        else:
            out.append(str(part))
            data = data.get(part) if isinstance(data, dict) else None
    return ".".join(out)
