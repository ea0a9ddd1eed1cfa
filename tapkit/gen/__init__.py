"""tapkit.gen: tapset code from debuginfo, through jinja2 templates, checked before it is written.

    from tapkit.gen import GenRequest, generate
    result = generate(GenRequest(what=("vcache",), module="openafs", overrides={"openafs": "/path/openafs.ko"},
                                 include_dirs=("tapsets/openafs",)))
    result.outputs[0].text      # accessors, Getvcache, Printvcache and those of the types vcache embeds
    result.exercise             # a script using every generated function (what the checks run on)
    result.verdict.ok           # tapkit's parser (and `tapkit check`, stap -p2 when asked) accepted it

Models, computed from tapkit.debuginfo in plain Python: tapkit.gen.types (TypeSet of TypeSpec: Accessor,
Field), tapkit.gen.probes (ProbeSet of ProbeAlias). Rendering: tapkit.gen.render with the templates beside
this file (types.stp.j2, probes.stp.j2, exercise.stp.j2, header.j2), each overridable with --templates DIR.
"""

from tapkit.gen.generate import GenRequest, GenResult, Output, generate
from tapkit.gen.probes import AliasParam, ProbeAlias, ProbeSet, build_probes
from tapkit.gen.target import GenTarget, target_for
from tapkit.gen.types import Accessor, Field, GenError, TypeOptions, TypeSet, TypeSpec, build_types
from tapkit.gen.verify import Verdict

__all__ = [
    "Accessor", "AliasParam", "Field", "GenError", "GenRequest", "GenResult", "GenTarget", "Output", "ProbeAlias",
    "ProbeSet", "TypeOptions", "TypeSet", "TypeSpec", "Verdict", "build_probes", "build_types", "generate",
    "target_for",
]
