"""process(...).function(...).return in pass 2: stap 4.8's verdict depends on the release (its kernel
config and System.map), tapkit run's live engine places return probes on any kernel."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tapkit.semantic import AnalysisOptions, ScriptFile, TapsetLibrary, analyze
from tapkit.semantic.dwarfprobes import kernel_has_function
from tapkit.syntax import parse
from tapkit.target import Target, host_release
from tests.tooling import compile_c, fixture_cache, require_tool, stap_release

REFUSED = "process return probes not available [man error::inode-uprobes]"


@pytest.fixture(scope="module")
def prog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("uret") / "prog.c"
    src.write_text("int f(int x) { return x * 2; }\nint main(void) { return f(3) - 6; }\n")
    return compile_c(src, fixture_cache() / "semantic" / "uret-prog", "-O0")


def tapkit_verdict(prog: Path, target: Target, user_probes: str = "kernel") -> list[str]:
    text = f'probe process("{prog}").function("f").return {{ println($return) }}\n'
    lib = TapsetLibrary.load(target)
    parsed = parse(text, "r.stp", target, lib.macros)
    analysis = analyze([ScriptFile("r.stp", text, parsed)], lib, AnalysisOptions(target, user_probes=user_probes))
    return [d.message for d in analysis.diagnostics if d.is_error]


def stap_verdict(prog: Path, tree: Path) -> subprocess.CompletedProcess[str]:
    stap = require_tool("stap")
    return subprocess.run([stap, "-r", str(tree), "-p2", "-e",
                           f'probe process("{prog}").function("f").return {{ println($return) }}'],
                          capture_output=True, text=True, timeout=300)


def build_tree(tmp_path: Path, release: str, uprobes: bool, system_map: str | None) -> tuple[Path, Path]:
    """A copy of the release's build tree (symlinks) with its .config, less uprobes if asked, and a System.map."""
    build = Path(f"/lib/modules/{release}/build")
    tree = tmp_path / "build"
    tree.mkdir()
    for entry in build.iterdir():
        if entry.name not in (".config", "System.map"):
            (tree / entry.name).symlink_to(entry)
    config = (build / ".config").read_text()
    if not uprobes:
        config = "\n".join(line for line in config.splitlines()
                           if not line.startswith(("CONFIG_UPROBES=", "CONFIG_ARCH_SUPPORTS_UPROBES=")))
    (tree / ".config").write_text(config)
    if system_map is not None:
        (tree / "System.map").write_text(system_map)
    return tree, tree / ".config"


def test_release_with_uprobes_and_no_system_map_refuses(prog: Path, tmp_path: Path) -> None:
    release = stap_release()
    tree, _ = build_tree(tmp_path, release, uprobes=True, system_map=None)
    stap = stap_verdict(prog, tree)
    assert stap.returncode == 1 and REFUSED in stap.stderr
    assert any(REFUSED in m for m in tapkit_verdict(prog, Target(release=release)))
    assert tapkit_verdict(prog, Target(release=release), user_probes="live") == []


def test_release_without_inode_uprobes_accepts(prog: Path, tmp_path: Path) -> None:
    release = stap_release()
    tree, config = build_tree(tmp_path, release, uprobes=False, system_map=None)
    stap = stap_verdict(prog, tree)  # stap would build its own uprobes module, which has return probes
    assert stap.returncode == 0, stap.stderr
    assert tapkit_verdict(prog, Target(release=release, kernel_config_file=str(config))) == []


def test_symbol_table_with_uretprobes_accepts(prog: Path, tmp_path: Path) -> None:
    host = host_release()
    if not kernel_has_function(host, "arch_uretprobe_hijack_return_addr"):
        pytest.skip("the running kernel's /proc/kallsyms shows no uretprobes")
    kallsyms = Path("/proc/kallsyms").read_text()
    release = stap_release()
    tree, _ = build_tree(tmp_path, release, uprobes=True, system_map=kallsyms)
    stap = stap_verdict(prog, tree)
    assert stap.returncode == 0, stap.stderr
    # tapkit reads the running kernel's table for the host release (the config: the Debian release's)
    config = f"/lib/modules/{release}/build/.config"
    assert os.path.exists(config)
    assert tapkit_verdict(prog, Target(release=host, kernel_config_file=config)) == []
