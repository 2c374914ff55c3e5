"""Reading a YAML configuration file as data, whole: bounded, UTF-8, every problem at once.

``read_yaml(path)`` returns the document or raises ``TargetConfigError`` listing every
``Problem``. Before anything is built from the file it must be at most ``MAX_BYTES``, valid
UTF-8, nested at most ``MAX_DEPTH`` deep, free of duplicate keys and of alias cycles, and
expand (aliases followed) to at most ``MAX_NODES`` nodes. The expansion is measured on the
composed node graph, where an alias is a shared node, so a "billion laughs" document is
refused in microseconds instead of being built (the sensor daemon reads this file).

``problems_from(exc, where)`` turns a pydantic ``ValidationError`` into problems that each
name the field and the fix. Reads no settings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from fleet_assets.lib.failures import ConfigError

MAX_BYTES = 1_000_000
MAX_NODES = 200_000
MAX_DEPTH = 64


@dataclass(frozen=True)
class Problem:
    """One mistake in a configuration file: where it is, and what is wrong and how to fix it."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class TargetConfigError(ConfigError):
    """targets.yaml is invalid; ``problems`` lists every mistake, each naming field and fix."""

    def __init__(self, problems: str | Problem | Sequence[Problem], source: str = "") -> None:
        if isinstance(problems, str):
            problems = [Problem("", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.source = source
        if len(self.problems) == 1:
            text = str(self.problems[0])
        else:
            head = f"{len(self.problems)} problems" + (f" in {source}" if source else "")
            text = head + ":\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(text)


# -- the file ----------------------------------------------------------------------------------
def _graph_problems(root: yaml.Node) -> list[Problem]:
    """Duplicate keys, alias cycles, depth and expanded size of a composed YAML graph."""
    problems: list[Problem] = []
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    # Iterative post-order walk: a recursive one would itself overflow on a deep document.
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        nid = id(node)
        children = _children(node)
        if done:
            on_path.discard(nid)
            sizes[nid] = min(MAX_NODES + 1, 1 + sum(sizes[id(c)] for c in children))
            continue
        if nid in sizes:
            continue
        line = f"line {node.start_mark.line + 1}"
        if nid in on_path:
            return [Problem(line, "an alias refers to its own anchor (a cycle); remove it")]
        if depth > MAX_DEPTH:
            return [Problem(line, f"nested deeper than {MAX_DEPTH} levels; flatten the document")]
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, _ in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value != "<<":
                    if key.value in seen:
                        problems.append(Problem(f"line {key.start_mark.line + 1}",
                                                f"duplicate key {key.value!r}; keep one of them"))
                    seen.add(key.value)
        on_path.add(nid)
        stack.append((node, depth, True))
        stack.extend((c, depth + 1, False) for c in children if id(c) not in sizes)
    if sizes[id(root)] > MAX_NODES:
        problems.append(Problem("", f"aliases expand to more than {MAX_NODES} values (an alias "
                                    "bomb?); write the values out or use fewer aliases"))
    return problems


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's error on one line: where, what. Its own text spans four lines and names the
    file "<unicode string>" (the loader reads text, not the file)."""
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if not problem or mark is None:
        return f"not valid YAML: {' '.join(str(exc).split())}"
    context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and start is not None and (start.line, start.column) != (mark.line, mark.column):
        context += f" from line {start.line + 1}, column {start.column + 1}"
    return (f"line {mark.line + 1}, column {mark.column + 1}: not valid YAML: {problem}"
            + (f" ({context})" if context else ""))


def read_yaml(path: str | Path, *, missing_hint: str = "") -> Any:
    """The document in ``path``, refused whole (every problem listed) unless it is sane."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise TargetConfigError(f"{p}: no such file{'; ' + missing_hint if missing_hint else ''}",
                                str(p)) from None
    except OSError as exc:
        raise TargetConfigError(f"{p}: cannot be read ({exc.strerror}); check its permissions",
                                str(p)) from None
    if len(raw) > MAX_BYTES:
        raise TargetConfigError(f"{p}: larger than {MAX_BYTES} bytes; a targets file is a few "
                                "kilobytes, check that this is the right file", str(p))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise TargetConfigError(f"{p}: line {line}: byte {raw[exc.start]:#04x} is not UTF-8; "
                                "save the file as UTF-8", str(p)) from None
    try:  # the reader refuses control characters (a NUL) as soon as it is built
        loader = yaml.SafeLoader(text.removeprefix("\ufeff"))
    except yaml.YAMLError as exc:
        raise TargetConfigError(f"{p}: {_yaml_problem(exc)}; remove the control character",
                                str(p)) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        problems = _graph_problems(node)
        if problems:
            raise TargetConfigError([Problem(f"{p}: {q.where}".rstrip(": "), q.message)
                                     for q in problems], str(p))
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        fix = ("indent with spaces, YAML does not allow tabs" if "'\\t'" in str(exc)
               else "check the indentation, quotes and brackets there")
        raise TargetConfigError(f"{p}: {_yaml_problem(exc)}; {fix}", str(p)) from None
    except RecursionError:
        raise TargetConfigError(f"{p}: nested too deeply to read; flatten the document",
                                str(p)) from None
    finally:
        loader.dispose()


# -- pydantic errors as problems ----------------------------------------------------------------
def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"the number {value}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return "nothing" if value is None else type(value).__name__


def _model_at(model: type[BaseModel], path: Iterable[Any]) -> type[BaseModel] | None:
    """The model class that validates the value at ``path`` (to list its allowed keys).

    A model field steps to its annotation; any other part is a list index or a mapping key,
    which steps into the container's element type (``list[X]``, ``dict[K, X]`` -> ``X``).
    """
    current: Any = model
    for part in path:
        current = _model_or_type(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            if part not in current.model_fields:
                return None
            current = current.model_fields[part].annotation
        else:
            args = getattr(current, "__args__", None)
            if not args:
                return None
            current = args[-1]
    current = _model_or_type(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _model_or_type(annotation: Any) -> Any:
    """``X | None`` (or any union holding a model) as the model it validates with."""
    if get_origin(annotation) in (Union, UnionType):
        models = [a for a in get_args(annotation) if isinstance(a, type)
                  and issubclass(a, BaseModel)]
        return models[0] if models else annotation
    return annotation


def _fix(err: Mapping[str, Any], model: type[BaseModel]) -> str:
    kind, value, msg = err["type"], err.get("input"), err["msg"]
    if kind == "bool_type":
        return f"expected true or false, got {_kind(value)}; write true or false without quotes"
    if kind in ("int_type", "int_from_float", "int_parsing"):
        return f"expected a whole number, got {_kind(value)}; write digits without quotes"
    if kind in ("float_type", "float_parsing"):
        return f"expected a number, got {_kind(value)}; write digits without quotes"
    if kind == "finite_number":
        return f"expected a finite number, got {_kind(value)}; write an ordinary number"
    if kind == "string_type":
        return f"expected text, got {_kind(value)}; quote it"
    if kind in ("list_type", "tuple_type"):
        return f"expected a list, got {_kind(value)}; write [a, b] or one '- item' per line"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping, got {_kind(value)}; write 'key: value' lines"
    if kind == "missing":
        return "is required; add it"
    if kind == "extra_forbidden":
        parent = _model_at(model, err["loc"][:-1])
        allowed = ", ".join(sorted(parent.model_fields)) if parent else "see docs/targets-schema.md"
        return f"unknown key; allowed: {allowed}"
    if kind == "string_too_short":
        return "must not be empty; write a value or leave the key out"
    if kind == "too_short":
        return "must not be empty; list at least one"
    if kind == "literal_error":
        return f"{msg[0].lower()}{msg[1:]}, got {_kind(value)}"
    if kind.startswith(("greater_than", "less_than")):
        return f"{msg.replace('Input should', 'must')}, got {_kind(value)}"
    if kind == "value_error":
        return str(err["ctx"]["error"]) if "ctx" in err else msg.removeprefix("Value error, ")
    return f"{msg}; see docs/targets-schema.md"


def location(prefix: str, loc: Iterable[Any]) -> str:
    text = prefix
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part == "[key]":
            text += " (the name)"
        else:
            text += f".{part}" if text else str(part)
    return text


def problems_from(exc: ValidationError, where: str, model: type[BaseModel]) -> list[Problem]:
    return [Problem(location(where, e["loc"]), _fix(e, model)) for e in exc.errors()]
