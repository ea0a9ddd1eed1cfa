"""Completion by context, from pass 1 and the library's declarations."""

from __future__ import annotations

from pathlib import Path

from tapkit.ide import CompletionKind, Completions, Settings, Workspace, complete, path_to_uri, resolve_completion
from tests.ide.conftest import FIXTURE_TAPSET, RELEASE, Docs, cursor

K = CompletionKind


def run(docs: Docs, marked: str) -> Completions:
    snap, uri, pos = docs.at(marked)
    return complete(snap, uri, pos)


def labels(result: Completions) -> list[str]:
    return [c.label for c in result.items]


def test_top_level_offers_items(docs: Docs) -> None:
    result = run(docs, "global a\n|")
    assert {"probe", "function", "global", "private", "@define", "%("} <= set(labels(result))
    probe = next(c for c in result.items if c.label == "probe" and c.kind is K.SNIPPET)
    assert probe.snippet and probe.insert_text == "probe ${1:begin} {\n\t$0\n}"
    assert labels(run(docs, "glo|")) == ["global", "global"]  # keyword and snippet


def test_probe_point_families_and_aliases(docs: Docs) -> None:
    first = labels(run(docs, "probe |"))
    assert {"begin", "end", "kernel", 'module("…")', "process", 'process("…")', "timer", "demo"} <= set(first)
    assert first[-1] == "__demo"  # internal names sort last
    kernel = run(docs, "probe kernel.|")
    fn = next(c for c in kernel.items if c.label == 'function("…")')
    assert fn.insert_text == 'function("$1")' and fn.filter_text == "function" and fn.kind is K.PROBE
    after_fn = labels(run(docs, 'probe kernel.function("vfs_read").|'))
    assert {"call", "return", "inline", "exported"} <= set(after_fn) and "function" not in after_fn
    assert labels(run(docs, "probe timer.|"))[:3] == ["hz(N)", "jiffies(N)", "ms(N)"]
    demo = run(docs, "probe demo.|")
    assert labels(demo) == ["open"]
    assert demo.items[0].resolve == ("alias", "demo.open")  # what the alias's body defines is read on resolve
    snap = docs.ws.snapshot()
    assert "Defines: `flags`" in resolve_completion(snap, next(iter(snap.documents)), demo.items[0]).documentation
    assert labels(run(docs, "probe demo.open.|")) == ["return"]
    assert labels(run(docs, "probe begin, demo.o|")) == ["open"]


def test_replace_span_is_the_typed_word(docs: Docs) -> None:
    result = run(docs, "probe begin { x = demo_r| }")
    span = result.replace
    assert (span.line, span.column, span.end_column) == (1, 19, 25)
    assert labels(result) == ["demo_read", "_demo_internal"]  # two overloads, one label; then letters in order


def test_body_offers_scope_functions_keywords(docs: Docs) -> None:
    src = "global g\nfunction f(p1, p2) { loc = 1\n  | }\n"
    result = run(docs, src)
    by_label = {c.label: c for c in result.items}
    assert by_label["p1"].kind is K.PARAMETER and by_label["loc"].kind is K.VARIABLE
    assert by_label["g"].kind is K.GLOBAL and by_label["f"].kind is K.FUNCTION
    assert by_label["demo_read"].detail == "demo_read:long (addr:long)"
    assert "Read a value from an address" in by_label["demo_read"].documentation
    assert by_label["demo_read"].insert_text == "demo_read(${1:addr})"
    assert by_label["printf"].insert_text == 'printf("${1:%s}\\n", $2)'
    assert {"if", "foreach", "return", "delete"} <= set(by_label)
    assert "demo_secret" not in by_label  # private to its tapset file
    order = labels(result)
    assert order.index("p1") < order.index("f") < order.index("demo_read") < order.index("if")
    assert order.index("if") < order.index("_demo_internal")


def test_variables_an_alias_defines(docs: Docs) -> None:
    result = run(docs, "probe demo.open { |")
    by_label = {c.label: c for c in result.items}
    assert by_label["flags"].detail == "from probe demo.open: long"  # with the type the semantic pass inferred
    assert by_label["flags"].documentation == "the open flags"
    assert by_label["filename"].detail == "from probe __demo.open: string"  # through the alias chain
    assert "_hidden" not in by_label


def test_sigils(docs: Docs) -> None:
    at = run(docs, "@define m(aa, bb) %( @| %)\n")
    assert {"@aa", "@bb", "@cast", "@count", "@demo_pick", "@m"} <= set(labels(at))
    assert labels(run(docs, "probe begin { x = @demo_p| }")) == ["@demo_pick"]
    assert labels(run(docs, "probe begin { $| }")) == []  # begin has no target variables
    # a DWARF probe whose debuginfo is not on this machine: what every such probe offers
    generic = run(docs, 'probe kernel.function("no_such_function_here") { $| }')
    assert labels(generic) == ["$$locals", "$$parms", "$$return", "$$vars"]


def test_preprocessor_conditions_and_function_types(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("CONFIG_SMP=y\nCONFIG_SLUB=y\n")
    ws = Workspace([tmp_path], Settings(release=RELEASE, kernel_config=config), tapset_dir=FIXTURE_TAPSET)
    docs = Docs(ws, tmp_path)
    assert labels(run(docs, "%( ker| %? %)")) == ["kernel_v", "kernel_vr"]
    assert labels(run(docs, "%( CONFIG_S| %? %)")) == ["CONFIG_SLUB", "CONFIG_SMP"]
    assert labels(run(docs, "function f:| ()")) == ["long", "string"]


def test_nothing_where_nothing_fits(docs: Docs) -> None:
    for marked in ("# comm|ent\n", 'probe begin { x = "ab|c" }', "probe begin { p->| }", "global |",
                   "probe kernel.function(\"x\")|", "function f(|", "/* a | */"):
        assert run(docs, marked).items == (), marked


def test_half_typed_code(docs: Docs) -> None:
    assert "demo_read" in labels(run(docs, "probe begin {\n  x = demo|"))
    assert "open" in labels(run(docs, "probe demo.|"))  # trailing spaces and no body yet
    assert "open" in labels(run(docs, "probe demo.|   "))


def test_real_library_syscall_alias_and_overloads(lib_docs: Docs) -> None:
    result = run(lib_docs, "probe syscall.open { | }")
    assert {"filename", "flags", "mode", "argstr", "name"} <= set(labels(result))
    names = labels(run(lib_docs, "probe syscall.|"))
    assert {"open", "read", "write", "close"} <= set(names)
    assert "user_string_n" in labels(run(lib_docs, "probe begin { user_string_| }"))


def test_open_documents_are_their_own_uri(docs: Docs, tmp_path: Path) -> None:
    snap, uri = docs.open("function mine() { return 1 }\nprobe begin { mi }\n")
    assert path_to_uri(Path(snap.document(uri).filename)) == uri
    _text, pos = cursor("function mine() { return 1 }\nprobe begin { mi| }\n")
    assert "mine" in labels(complete(snap, uri, pos))
