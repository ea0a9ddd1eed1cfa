"""tapkit gen probes on a -O2 program with two static copies of one function: aliases, guards, stap's verdict."""

from __future__ import annotations

import os
from pathlib import Path

from tapkit.gen import GenRequest, generate
from tapkit.gen.probes import ProbeSet
from tests.tooling import stap_offline


def probes(copies: Path, *globs: str, **kw: object) -> tuple[ProbeSet, str]:
    result = generate(GenRequest(what=globs, module=str(copies), probes=True, prefix="demo",
                                 command="tapkit gen probes", **kw))  # type: ignore[arg-type]
    assert isinstance(result.model, ProbeSet)
    assert result.verdict.ok, [d.message for d in result.diagnostics]
    return result.model, result.outputs[0].text


def test_aliases_for_matching_functions(copies: Path) -> None:
    model, text = probes(copies, "scale*", "move", "reset", check=False)
    assert [a.name for a in model.aliases] == ["demo.move", "demo.reset", "demo.scale", "demo.scale_a"]
    point = f'process("{os.path.realpath(copies)}").function("move")'
    assert f"probe demo.move = {point}\n" in text
    assert f"probe demo.move.return = {point}.return\n" in text
    move = model.aliases[0]
    assert [(p.var, p.format) for p in move.params] == [("p", "%p"), ("dx", "%d"), ("why", "%p")]
    assert move.skipped == ("by_value (struct point): passed by value, stap cannot copy it",)
    assert move.return_format == "%d" and model.aliases[1].return_format is None  # reset is void
    assert '\tretstr = ""\n' in text and 'argstr = sprintf("p=%p dx=%d why=%p", p, dx, why)' in text


def test_parameter_missing_from_one_copy_is_guarded(copies: Path) -> None:
    model, text = probes(copies, "scale", check=False)
    scale = model.aliases[0]
    assert {p.param: p.guarded for p in scale.params}["offset"] is True
    assert "\toffset = @defined($offset) ? $offset : 0\n" in text


def test_compare_build_guards_what_it_lacks(copies: Path, shapes: Path) -> None:
    model, _ = probes(copies, "main", check=False, compare=(str(shapes),))
    # shapes' main has no parameters: argc and argv differ between the two builds
    assert all(p.guarded for p in model.aliases[0].params)


def test_stap_accepts_the_aliases(copies: Path, tmp_path: Path) -> None:
    """Entry aliases only: stap 4.8 built for Debian's 6.1 here reports "process return probes not available"
    for any process(...).return probe (it finds no uretprobe support for that release), and so does tapkit
    check: --no-return leaves them out."""
    stap_offline("-V")
    model, text = probes(copies, "scale*", "move", "reset", "main", returns=False)
    assert ".return" not in text
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "demo.stp").write_text(text)
    script = tmp_path / "use.stp"
    script.write_text("".join(f'probe {a.name} {{ printf("%s(%s)\\n", name, argstr) }}\n' for a in model.aliases))
    proc = stap_offline("-p2", "-I", str(tmp_path / "lib"), str(script))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("process(") >= len(model.aliases)
