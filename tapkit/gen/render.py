"""Models to text through jinja2 templates: the package's own, or a directory of overrides (--templates DIR).

Rendering is deterministic: the same model gives the same bytes (no dates, no hashes of unordered things).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from tapkit.gen.probes import ProbeSet
from tapkit.gen.types import Accessor, Field, TypeSet, TypeSpec

TEMPLATE_NAMES = ("header.j2", "types.stp.j2", "probes.stp.j2", "exercise.stp.j2")


def environment(templates: str | os.PathLike[str] | None = None) -> jinja2.Environment:
    """The jinja2 environment: templates from DIR first when given, then the package's."""
    loaders: list[jinja2.BaseLoader] = []
    if templates is not None:
        loaders.append(jinja2.FileSystemLoader(os.fspath(templates)))
    loaders.append(jinja2.FileSystemLoader(os.fspath(Path(__file__).parent)))
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             autoescape=False)
    env.filters["comment"] = comment_text
    env.filters["cstring"] = string_literal_body
    env.globals.update(describe=describe, chunks=get_parts, max_args=MAX_PRINT_ARGS)
    return env


def comment_text(text: str) -> str:
    """Text that can stand inside a /* */ comment."""
    return str(text).replace("*/", "* /")


def string_literal_body(text: str) -> str:
    """Text that can stand between the quotes of a stap string literal."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def cast_of(spec: TypeSpec, module: str) -> str:
    return f'@cast({spec.param}, "{spec.cast_name}", "{module}")'


def read_expression(spec: TypeSpec, a: Accessor, module: str, reader: str) -> str:
    """The expression an accessor returns."""
    ref = f"{cast_of(spec, module)}{a.chain}"
    if a.kind == "string":
        return f"{reader}(&{ref}, {a.length})"
    if a.kind == "address":
        return f"&{ref}"
    return ref


def describe(a: Accessor) -> str:
    where = f"offset {a.offset}"
    if a.bit_size is not None:
        where += f", bits {a.bit_offset}..{(a.bit_offset or 0) + a.bit_size - 1}"
    what = {"value": "", "bitfield": "", "address": "address of ", "string": "string in "}[a.kind]
    return f"{what}{a.member} ({a.c_type}, {where})"


MAX_PRINT_ARGS = 32  # stap's translator refuses a print/sprintf with more values ("too many arguments to print")


@dataclass(frozen=True, slots=True)
class GetPart:
    """Consecutive fields whose values fit one sprintf."""

    fields: tuple[Field, ...]
    first: bool

    @property
    def args(self) -> list[str]:
        return [e for f in self.fields for e in f.exprs]


def get_parts(spec: TypeSpec) -> list[GetPart]:
    parts: list[list[Field]] = [[]]
    count = 0
    for f in spec.fields:
        if parts[-1] and count + len(f.exprs) > MAX_PRINT_ARGS:
            parts.append([])
            count = 0
        parts[-1].append(f)
        count += len(f.exprs)
    return [GetPart(tuple(p), i == 0) for i, p in enumerate(parts) if p]


def render_types(types: TypeSet, specs: Sequence[TypeSpec], roots: Sequence[str], source: str, command: str,
                 env: jinja2.Environment) -> str:
    """One tapset file holding specs (all of types.types, or one root's group)."""
    template = env.get_template("types.stp.j2")
    formatters = sorted({e.split("(", 1)[0] for s in specs for f in s.fields for e in f.exprs
                         if e.split("(", 1)[0] in types.formatters})
    target = types.target

    def read(spec: TypeSpec, a: Accessor) -> str:
        return read_expression(spec, a, target.cast_module, target.string_reader)

    return template.render(types=specs, roots=list(roots), source=source, command=command, formatters=formatters,
                           read=read)


def render_probes(probes: ProbeSet, source: str, command: str, env: jinja2.Environment) -> str:
    return env.get_template("probes.stp.j2").render(probes=probes, source=source, command=command)


def render_exercise(types: TypeSet | None, probes: ProbeSet | None, source: str, command: str,
                    env: jinja2.Environment) -> str:
    """A script that calls every generated function and uses every generated alias (for stap -p2/-p4)."""
    context: dict[str, Any] = {"types": types.types if types else (), "probes": probes.aliases if probes else (),
                               "source": source, "command": command}
    return env.get_template("exercise.stp.j2").render(**context)


def write_text(path: Path, text: str) -> bool:
    """Write text unless the file already holds exactly it; True when written."""
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return True
