"""What keeps `tapkit parse`/`check` start-up short: cached library macros, positional token pickles, config digests."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from tapkit.syntax.library import collect_library_macros, library_files
from tapkit.syntax.parser import LibraryMacros
from tapkit.syntax.tokens import Token, lex
from tapkit.target import Target

MACROS = '@define twice(x) %( (@x) * 2 %)\n@define name %( "tapkit" %)\n'


def _library(root: Path, text: str = MACROS) -> Path:
    (root / "m.stpm").write_text(text)
    (root / "a.stp").write_text("function f() { return @twice(1) }\n")
    return root


def _shape(macros: LibraryMacros) -> list[tuple[str, list[str], list[tuple[str, str, int, int]], bool]]:
    return [(name, d.params, [(t.type, t.text, t.line, t.column) for t in d.body], d.library)
            for name, d in sorted(macros.macros.items())]


def test_library_macros_come_back_from_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAPKIT_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "tapsets").mkdir()
    root = _library(tmp_path / "tapsets")
    target = Target(release="6.1.0-56-amd64", arch="x86_64", kernel_config_file=str(tmp_path / "none"))
    files = library_files(target, tapset_dir=root)
    fresh = collect_library_macros(files.macro_files, target, use_cache=False)
    first = collect_library_macros(files.macro_files, target)
    stored = list((tmp_path / "cache" / "macros").iterdir())
    assert len(stored) == 1
    again = collect_library_macros(files.macro_files, target)
    assert again is not first and _shape(again) == _shape(first) == _shape(fresh)
    assert again.fingerprint == first.fingerprint == fresh.fingerprint
    assert [n for n, *_ in _shape(again)] == ["name", "twice"] and again.macros["twice"].library
    # another text is another entry, never the stale one
    (root / "m.stpm").write_text(MACROS.replace("* 2", "* 3"))
    changed = collect_library_macros(files.macro_files, target)
    assert "3" in [t.text for t in changed.macros["twice"].body] and changed.fingerprint != first.fingerprint
    assert len(list((tmp_path / "cache" / "macros").iterdir())) == 2


def test_library_files_without_scripts(tmp_path: Path) -> None:
    root = _library(tmp_path)
    target = Target(release="6.1.0-56-amd64", arch="x86_64")
    both = library_files(target, tapset_dir=root)
    macros_only = library_files(target, tapset_dir=root, scripts=False)
    assert macros_only.macro_files == both.macro_files == (root / "m.stpm",)
    assert both.script_files == (root / "a.stp",) and macros_only.script_files == ()


def test_tokens_pickle_with_their_origin_and_chain() -> None:
    body, call = lex("x + 1", "m.stpm").tokens[0], lex("@f", "s.stp").tokens[0]
    expanded = body.expanded_at(call, call)
    back = pickle.loads(pickle.dumps(expanded))
    assert isinstance(back, Token) and back is not expanded
    assert [getattr(back, n) for n in Token.__slots__ if n not in ("origin", "chain")] == \
        [getattr(expanded, n) for n in Token.__slots__ if n not in ("origin", "chain")]
    assert back.origin is not None and (back.origin.file, back.origin.text) == ("m.stpm", "x")
    assert back.chain is not None and (back.chain.file, back.chain.text) == ("s.stp", "@f")


def test_kernel_config_digest_follows_the_file(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("CONFIG_A=y\n")
    first = Target(release="6.1.0-56-amd64", kernel_config_file=str(config)).kernel_config_digest
    config.write_text("CONFIG_A=m\n")
    two = Target(release="6.1.0-56-amd64", kernel_config_file=str(config))
    assert first and first != two.kernel_config_digest
    assert two.kernel_config == {"CONFIG_A": "m"} and two.kernel_config_path == str(config)
    missing = Target(release="6.1.0-56-amd64", kernel_config_file=str(tmp_path / "absent"))
    assert missing.kernel_config_digest == "" and missing.kernel_config == {} and missing.kernel_config_path is None
