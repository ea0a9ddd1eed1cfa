"""Signature help, hover and go-to-definition from declarations."""

from __future__ import annotations

from tapkit.ide import definition, hover, signature_help
from tests.ide.conftest import FIXTURE_TAPSET, Docs

DEMO = str(FIXTURE_TAPSET / "demo.stp")


def test_signature_help_picks_the_overload_and_parameter(docs: Docs) -> None:
    help = signature_help(*docs.at("probe begin { x = demo_read(1, | }"))
    assert help is not None
    assert [s.label for s in help.signatures] == ["demo_read:long (addr:long)",
                                                  "demo_read:long (addr:long, dflt:long)"]
    assert (help.active_signature, help.active_parameter) == (1, 1)
    assert help.signatures[1].params == ("addr:long", "dflt:long")
    assert help.signatures[1].param_docs[1] == "what to return when addr is 0"
    first = signature_help(*docs.at("probe begin { x = demo_read(| }"))
    assert first is not None and (first.active_signature, first.active_parameter) == (0, 0)


def test_signature_help_nesting_builtins_and_macros(docs: Docs) -> None:
    inner = signature_help(*docs.at("probe begin { printf(\"%d %d\", demo_read(a[1, 2], |), 3) }"))
    assert inner is not None and inner.signatures[1].label.startswith("demo_read") and inner.active_parameter == 1
    outer = signature_help(*docs.at("probe begin { printf(\"%d %d\", demo_read(1), |) }"))
    assert outer is not None and outer.signatures[0].label == "printf(fmt:string, ...)"
    assert outer.active_parameter == 1  # the variadic tail stays on `...`
    macro = signature_help(*docs.at("probe begin { x = @demo_pick(1, |) }"))
    assert macro is not None and macro.signatures[0].label == "@demo_pick(a, b)" and macro.active_parameter == 1
    cast = signature_help(*docs.at('probe begin { x = @cast(p, "|") }'))
    assert cast is not None and cast.active_parameter == 1
    assert signature_help(*docs.at("probe begin { x = (1 + |) }")) is None
    assert signature_help(*docs.at("probe begin { nosuch(|) }")) is None
    assert signature_help(*docs.at("probe begin { demo_read(1); | }")) is None


def test_hover_shows_signatures_docs_and_alias_variables(docs: Docs) -> None:
    h = hover(*docs.at("probe begin { x = demo_r|ead(1, 2) }"))
    assert h is not None
    assert "function demo_read:long (addr:long, dflt:long)" in h.markdown and "or a default" in h.markdown
    assert "(addr:long)\n" not in h.markdown  # the one-argument overload is not what is called
    assert (h.span.column, h.span.end_column) == (19, 28)
    a = hover(*docs.at("probe demo.op|en { }"))
    assert a is not None and "probe demo.open = __demo.open?, begin" in a.markdown
    assert "A file is opened" in a.markdown and "Defines: `flags`, `filename`" in a.markdown
    # what the semantic pass derived from it, and the types of what the aliases on the way set
    a = hover(*docs.at("probe demo.op|en { println(flags) }"))
    assert a is not None and "Expands to: `never`, `begin`" in a.markdown
    assert "Variables: `filename`: string, `flags`: long" in a.markdown
    m = hover(*docs.at("probe begin { x = @demo_p|ick(1, 2) }"))
    assert m is not None and "@define demo_pick(a, b)" in m.markdown and "Pick one of two values" in m.markdown
    op = hover(*docs.at('probe begin { x = @ca|st(p, "t") }'))
    assert op is not None and "view addr as a pointer" in op.markdown
    fam = hover(*docs.at("probe ker|nel.function(\"x\") { }"))
    assert fam is not None and "the kernel" in fam.markdown
    assert hover(*docs.at("probe begin { x = 1 |}")) is None


def test_definition_of_functions_aliases_macros_and_variables(docs: Docs) -> None:
    [one] = definition(*docs.at("probe begin { x = demo_r|ead(1) }"))
    assert (one.file, one.line) == (DEMO, 12)
    [alias] = definition(*docs.at("probe demo.o|pen { }"))
    assert (alias.file, alias.line) == (DEMO, 45)
    [macro] = definition(*docs.at("probe begin { x = @demo_pi|ck(1, 2) }"))
    assert macro.file == str(FIXTURE_TAPSET / "demo.stpm") and macro.line == 7
    snap, uri, pos = docs.at("global total\nfunction f(n) { total += n\n  return |n }\n")
    [param] = definition(snap, uri, pos)
    assert (param.line, param.column) == (2, 12)
    text = "global total\nfunction f(n) { tot|al += n }\n"
    snap, uri, pos = docs.at(text)
    [glob] = definition(snap, uri, pos)
    assert (glob.line, glob.column) == (1, 8)
    own = definition(*docs.at("function demo_read(a) { return a }\nprobe begin { demo_r|ead(1) }\n"))
    assert [(s.line, s.column) for s in own] == [(1, 10)]  # the script's own function wins
    [local] = definition(*docs.at("probe begin { local = 1; x = lo|cal }"))
    assert (local.line, local.column, local.end_column) == (1, 15, 20)  # where it is first set
