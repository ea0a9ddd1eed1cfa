"""Lexer details, the generic walker, node_at, library file order, the parse cache and the CLI."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from tapkit.cli import main
from tapkit.syntax import ast as A
from tapkit.syntax.library import library_files, parse_cached, search_dirs
from tapkit.syntax.parser import parse
from tapkit.syntax.tokens import lex, string_value
from tapkit.syntax.walk import children, node_at, path_at, walk
from tapkit.target import Target

T = Target(release="6.1.0-56-amd64", arch="x86_64")


def test_lexer_cuts_like_stap() -> None:
    toks = lex('a<<<b >>>= c%{ x %}$x$$ @cast @1 $# "s\\q\\n" 0x1Fz # c\n/* d */ `', "t").tokens
    assert [(t.type, t.text) for t in toks] == [
        ("IDENT", "a"), ("STATASSIGN", "<<<"), ("IDENT", "b"), ("SHIFT_OP", ">>>"), ("EQUAL", "="),
        ("IDENT", "c"), ("EMBEDDED", "%{ x %}"), ("TVAR", "$x$$"), ("AT_CAST", "@cast"), ("ARGSTR", "@1"),
        ("ARGNUM", "$#"), ("STRING", '"s\\q\\n"'), ("NUMBER", "0x1Fz"), ("OP_OTHER", "`")]
    assert string_value('"s\\q\\n\\"x"') == 's q\\n"x'.replace(" ", "")
    comments = lex("x # one\n// two\n/* three */", "t").comments
    assert [(c.text, c.line) for c in comments] == [("# one", 1), ("// two", 2), ("/* three */", 3)]


def test_walker_visits_everything_in_order_and_node_at_finds_the_innermost() -> None:
    src = "function f(a) {\n  return a + g(1)\n}\n"
    r = parse(src, "t.stp", T)
    kinds = [type(n).__name__ for n in walk(r.file)]
    assert kinds == ["File", "FunctionDecl", "Param", "Block", "ReturnStatement", "Binary", "Var", "FunctionCall",
                     "NumberLiteral"]
    n = node_at(r.file, 2, 16)
    assert isinstance(n, A.NumberLiteral) and n.value == 1
    assert [type(x).__name__ for x in path_at(r.file, 2, 10)] == ["File", "FunctionDecl", "Block",
                                                                   "ReturnStatement", "Binary", "Var"]
    fn = r.file.items[0]
    assert [type(c).__name__ for c in children(fn)] == ["Param", "Block"]
    assert node_at(r.file, 99, 1) is None


def test_search_dirs_and_library_order(tmp_path: Path) -> None:
    dirs = [str(d.relative_to(tmp_path)) for d in search_dirs(tmp_path, T)]
    assert dirs[:2] == ["linux/6.1.0-56-amd64/x86_64", "linux/6.1.0-56-amd64"]
    order = [dirs.index(d) for d in ["linux/6.1/x86_64", "linux/x86_64", "linux", "6.1.0", "x86_64", "."]]
    assert order == sorted(order) and dirs[-1] == "."
    for rel in ["a.stp", "linux/b.stp", "linux/x86_64/c.stp", "x86_64/d.stp", "arm/e.stp", "m.stpm", "linux/n.stpm"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    files = library_files(T, tapset_dir=tmp_path)
    assert [str(p.relative_to(tmp_path)) for p in files.macro_files] == ["linux/n.stpm", "m.stpm"]
    assert [str(p.relative_to(tmp_path)) for p in files.script_files] == [
        "linux/x86_64/c.stp", "linux/b.stp", "x86_64/d.stp", "a.stp"]


def test_parse_cache_round_trips_by_content(tmp_path: Path) -> None:
    src = "probe begin { printf(\"%d\\n\", $1) }\n"
    first = parse_cached(src, "x.stp", T, cache=tmp_path)
    assert first.tokens and len(list(tmp_path.iterdir())) == 1
    again = parse_cached(src, "x.stp", T, cache=tmp_path)
    assert not again.tokens and again.file == first.file and again.diagnostics == first.diagnostics
    parse_cached(src + "\n", "x.stp", T, cache=tmp_path)
    assert len(list(tmp_path.iterdir())) == 2
    assert pickle.loads(pickle.dumps(first.file)) == first.file


def test_cli_exit_codes_json_and_dump(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.stp"
    good.write_text("probe begin { exit() }\n")
    bad = tmp_path / "bad.stp"
    bad.write_text("probe begin { x = }\n")
    assert main(["parse", "-r", "6.1.0-56-amd64", str(good)]) == 0
    assert main(["parse", "--dump", str(good)]) == 0
    assert "FunctionCall" in capsys.readouterr().out
    assert main(["parse", str(good), str(bad)]) == 1
    err = capsys.readouterr().err
    assert "parse error: expected literal string or number" in err and f"{bad}:1:19" in err
    assert main(["parse", "--json", str(bad)]) == 1
    (diag,) = json.loads(capsys.readouterr().out)
    assert (diag["code"], diag["span"]["line"], diag["span"]["column"]) == ("parse.expected-value", 1, 19)
    assert main(["parse", str(tmp_path / "missing.stp")]) == 2
    assert main(["parse", "-I", str(tmp_path / "nodir"), str(good)]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["parse"])
    assert exc.value.code == 2


def test_probe_point_groups_expand_like_stap() -> None:
    from tapkit.syntax.probes import expand_probe_point, probe_point_text

    assert not parse('probe kernel.{function("a"), function("b")?}.return {}', "t.stp", T).ok
    r = parse('probe kernel.function("a").{return, call?}, x.{y, z}.w! {}', "t.stp", T)
    assert r.ok, r.diagnostics
    probe = r.file.items[0]
    assert isinstance(probe, A.ProbeDecl)
    texts = [probe_point_text(e) for pp in probe.points for e in expand_probe_point(pp)]
    assert texts == ['kernel.function("a").return', 'kernel.function("a").call?', "x.y.w!", "x.z.w!"]
    assert probe_point_text(probe.points[1]) == "x.{y,z}.w!"
