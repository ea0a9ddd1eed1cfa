"""One `tapkit gen` run: load the debuginfo, build the model, render it, and prove the text is good.

    from tapkit.gen import GenRequest, generate
    result = generate(GenRequest(what=("vcache",), module="openafs", overrides={"openafs": KO}))
    result.outputs      # [Output(path or None, text)]; result.exercise: the script using everything
    result.diagnostics  # from tapkit's parser (and `tapkit check` / stap -p2 when asked); empty when good
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import jinja2

from tapkit.debuginfo import Debuginfo, open_debuginfo, resolve
from tapkit.diagnostics import Diagnostic
from tapkit.gen.probes import ProbeSet, build_probes
from tapkit.gen.render import environment, render_exercise, render_probes, render_types
from tapkit.gen.target import GenTarget, target_for
from tapkit.gen.types import DEFAULT_LOCK_FORMATTERS, TypeOptions, TypeSet, build_types
from tapkit.gen.verify import Verdict, check_collisions, defined_functions, library_names, verify


@dataclass(frozen=True, slots=True)
class GenRequest:
    what: tuple[str, ...]  # type names, or function globs when probes
    module: str
    probes: bool = False
    release: str | None = None
    overrides: Mapping[str, str] = field(default_factory=dict)
    depth: int = 1
    nest: int = 8
    prefix: str | None = None  # types: before function names; probes: the alias prefix (default: module name)
    output: str | None = None  # a file, or a directory (one file per root type); None: one text
    templates: str | None = None
    include_dirs: tuple[str, ...] = ()  # the tapset path the output lives with (lock formatters, checks)
    headers: tuple[str, ...] = ()  # kernel headers stap may compile when it has no kernel debuginfo
    lock_formatters: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_LOCK_FORMATTERS))
    compare: tuple[str, ...] = ()  # other builds of the module (probe parameters they lack get guards)
    returns: bool = True  # probes: also the .return aliases
    command: str = "tapkit gen"  # the command line written into the header
    check: bool = True  # tapkit's own checks (parse; `tapkit check` once it exists)
    check_with_stap: tuple[str, ...] | None = None  # the stap command to run -p2 with, when asked


@dataclass(frozen=True, slots=True)
class Output:
    path: str | None
    text: str


@dataclass(frozen=True, slots=True)
class GenResult:
    outputs: tuple[Output, ...]
    exercise: str
    model: TypeSet | ProbeSet
    info: Debuginfo
    verdict: Verdict

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        return self.verdict.diagnostics


def generate(request: GenRequest, progress: Callable[[int, int], None] | None = None) -> GenResult:
    """Run one request; raises GenError or DebuginfoError when nothing can be generated."""
    source = resolve(request.module, release=request.release, overrides=request.overrides)
    info = open_debuginfo(source.path, module=source.module, progress=progress)
    target = target_for(source, info, request.headers)
    label = os.path.basename(source.path)
    env = environment(request.templates)
    library = library_names(request.release)
    model: TypeSet | ProbeSet
    outputs: tuple[Output, ...]
    if request.probes:
        compare = [open_debuginfo(p) for p in request.compare]
        prefix = request.prefix or _default_prefix(target)
        model = build_probes(info, request.what, target, prefix, compare, reserved=library.globals,
                             returns=request.returns)
        outputs = (Output(request.output, render_probes(model, label, request.command, env)),)
        exercise = render_exercise(None, model, label, request.command, env)
    else:
        available = defined_functions(request.include_dirs)
        options = TypeOptions(depth=request.depth, nest=request.nest, prefix=request.prefix or "",
                              lock_formatters=dict(request.lock_formatters), available=available)
        model = build_types(info, request.what, target, options)
        check_collisions(model, library)
        outputs = _type_outputs(model, request, label, env)
        exercise = render_exercise(model, None, label, request.command, env)
    verdict = Verdict(())
    if request.check or request.check_with_stap:
        verdict = verify(outputs, exercise, request, source.path, target)
    return GenResult(outputs, exercise, model, info, verdict)


def _default_prefix(target: GenTarget) -> str:
    from tapkit.gen.names import identifier

    return identifier(os.path.basename(target.name)) if target.kind != "module" else target.name


def _type_outputs(model: TypeSet, request: GenRequest, label: str, env: jinja2.Environment) -> tuple[Output, ...]:
    out = request.output
    if out is not None and (out.endswith("/") or os.path.isdir(out)):
        return tuple(Output(os.path.join(out, f"{group}.stp"), render_types(model, specs, [group], label,
                                                                             request.command, env))
                     for group, specs in model.groups())
    return (Output(out, render_types(model, model.types, list(request.what), label, request.command, env)),)
