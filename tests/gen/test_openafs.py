"""The shipped tapsets/openafs against the real openafs.ko: up to date, and accepted by stap and tapkit check.

The script that uses everything is built here by parsing the tapset files (every function called, every
alias probed), not taken from tapkit gen, so a function gen forgot to exercise is still checked.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tapkit.cache import cache_dir
from tapkit.semantic import CheckOptions, check_script
from tapkit.syntax import ast, parse
from tapkit.syntax.probes import probe_point_text
from tests.gen.conftest import GOLDEN
from tests.tooling import REPO, stap_offline

pytestmark = pytest.mark.slow

TAPSETS = REPO / "tapsets" / "openafs"
SEED = Path(__file__).parent / "seed"
MAKEFILE_RUNS = [  # what `make tapsets` runs for openafs (relative paths, as the headers record them)
    ["vcache", "dcache", "fcache", "afs_lock", "VenusFid", "-o", "tapsets/openafs/"],
    ["probes", "afs_linux_*", "afs_GetDCache", "afs_PutDCache", "afs_dir_GetVerifiedBlob", "--prefix", "openafs",
     "-o", "tapsets/openafs/probes.stp"],
]


def use_everything(directory: Path, probe: str = "never") -> tuple[str, int, int]:
    """A script calling every function and probing every alias the directory's files define."""
    calls, aliases = [], []
    for path in sorted(directory.glob("*.stp")):
        tree = parse(path.read_text(), str(path), library=True).file
        for item in tree.items:
            if isinstance(item, ast.FunctionDecl):
                args = ", ".join('""' if p.type == "string" else "0" for p in item.params)
                call = f"{item.name}({args})"
                calls.append(f"\tprintln({call})" if item.return_type else f"\t{call}")
            elif isinstance(item, ast.AliasDecl):
                aliases += [probe_point_text(n) for n in item.names]
    lines = [f"probe {probe}\n{{", *calls, "}"]
    lines += [f'probe {a} {{ printf("%s\\n", name) }}' for a in aliases]
    return "\n".join(lines) + "\n", len(calls), len(aliases)


def test_generated_files_are_up_to_date(openafs_ko: Path, tmp_path: Path) -> None:
    """What `make tapsets` would write now is what is committed (same input, same bytes)."""
    shutil.copytree(TAPSETS, tmp_path / "tapsets" / "openafs")
    # The headers record the Makefile's default OPENAFS_DIR ($HOME/.cache/tapkit/fixtures/openafs); the
    # fixture may live in another cache dir (TAPKIT_CACHE_DIR), so run under a HOME where it is found there.
    home = tmp_path / "home"
    (home / ".cache/tapkit/fixtures/openafs").mkdir(parents=True)
    ko = home / ".cache/tapkit/fixtures/openafs/openafs.ko"
    ko.symlink_to(openafs_ko)
    env = {**os.environ, "HOME": str(home), "TAPKIT_CACHE_DIR": str(cache_dir())}
    base = [sys.executable, "-m", "tapkit.cli", "gen", "--module", "openafs",
            "--debuginfo", f"openafs={ko}", "-I", "tapsets/openafs"]
    for run in MAKEFILE_RUNS:
        proc = subprocess.run(base + run, cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr
    for path in sorted(TAPSETS.glob("*.stp")):
        assert (tmp_path / "tapsets" / "openafs" / path.name).read_text() == path.read_text(), path.name


@pytest.mark.parametrize("name", ["vcache", "dcache", "afs_lock"])
def test_golden_openafs_types(openafs_ko: Path, name: str) -> None:
    """Golden text for the three types the issue names, generated alone (with their embedded types)."""
    from tapkit.gen import GenRequest, generate

    result = generate(GenRequest(what=(name,), module="openafs", overrides={"openafs": str(openafs_ko)},
                                 include_dirs=(str(TAPSETS),), command=f"tapkit gen {name} --module openafs",
                                 check=False))
    text = result.outputs[0].text
    golden = GOLDEN / f"openafs_{name}.stp"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_stap_accepts_everything_shipped(openafs_ko: Path, tmp_path: Path) -> None:
    script, functions, aliases = use_everything(TAPSETS)
    assert functions > 200 and aliases > 90
    (tmp_path / "all.stp").write_text(script)
    proc = stap_offline("-p2", "-I", str(TAPSETS), str(tmp_path / "all.stp"), module=openafs_ko)
    assert proc.returncode == 0, proc.stderr[-4000:]


def test_tapkit_check_accepts_everything_shipped(openafs_ko: Path, tmp_path: Path) -> None:
    script, _, _ = use_everything(TAPSETS)
    (tmp_path / "all.stp").write_text(script)
    result = check_script(str(tmp_path / "all.stp"), CheckOptions(include_dirs=(str(TAPSETS),),
                                                                   debuginfo=(f"openafs={openafs_ko}",)))
    assert result.ok, [f"{d.span}: {d.message}" for d in result.diagnostics if d.is_error][:10]


@pytest.mark.parametrize("name", ["print_vcache", "print_dcache", "lock_leak"])
def test_seed_code_passes_tapkit_check_and_stap(openafs_ko: Path, name: str) -> None:
    """The talk's PrintVcache, PrintDcache and lock-leak probe against the real module and our tapsets."""
    path = SEED / f"{name}.stp"
    result = check_script(str(path), CheckOptions(include_dirs=(str(TAPSETS),),
                                                  debuginfo=(f"openafs={openafs_ko}",)))
    assert result.ok, [f"{d.span}: {d.message}" for d in result.diagnostics]
    proc = stap_offline("-p2", "-I", str(TAPSETS), str(path), module=openafs_ko)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_seed_fault_injection_needs_guru_mode(openafs_ko: Path) -> None:
    path = str(SEED / "fault_injection.stp")
    options = dict(include_dirs=(str(TAPSETS),), debuginfo=(f"openafs={openafs_ko}",))
    refused = check_script(path, CheckOptions(**options))  # type: ignore[arg-type]
    assert [d.message for d in refused.diagnostics if d.is_error] == [
        "write to target variable not permitted; need stap -g"]
    assert check_script(path, CheckOptions(guru=True, **options)).ok  # type: ignore[arg-type]


def test_seed_writepage_alias(openafs_ko: Path) -> None:
    """The talk's alias calls the vfs tapset's __page_dev/__page_ino, which read "kernel" types: with the
    running kernel's BTF tapkit resolves them; for Debian's 6.1 (no kernel debuginfo here) stap and tapkit
    both stop at exactly those casts, and at nothing of ours."""
    path = str(SEED / "writepage.stp")
    host = check_script(path, CheckOptions(include_dirs=(str(TAPSETS),), release=platform.release(),
                                           debuginfo=(f"openafs={openafs_ko}",)))
    assert host.ok, [f"{d.span}: {d.message}" for d in host.diagnostics if d.is_error]
    offline = check_script(path, CheckOptions(include_dirs=(str(TAPSETS),), debuginfo=(f"openafs={openafs_ko}",)))
    errors = {(d.span.file, d.message) for d in offline.diagnostics if d.is_error}
    assert errors == {("/usr/share/systemtap/tapset/linux/vfs.stp", "type definition 'inode' not found in 'kernel'")}
    proc = stap_offline("-p2", "-I", str(TAPSETS), path, module=openafs_ko)
    assert proc.returncode != 0 and "type definition 'inode' not found in 'kernel'" in proc.stderr
    assert "writepage.stp" not in proc.stderr.split("Pass 2")[0].replace(path, "")


def test_watch_script_checks(openafs_ko: Path) -> None:
    """A user's script over the shipped tapset (generated accessors, Get/Print, aliases, helpers)."""
    path = str(Path(__file__).parent / "fixtures" / "openafs_watch.stp")
    result = check_script(path, CheckOptions(include_dirs=(str(TAPSETS),), debuginfo=(f"openafs={openafs_ko}",)))
    assert result.ok, [f"{d.span}: {d.message}" for d in result.diagnostics if d.is_error]
    proc = stap_offline("-p2", "-I", str(TAPSETS), path, module=openafs_ko)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_p4_compiles_everything_into_a_kernel_module(openafs_ko: Path, tmp_path: Path) -> None:
    """Cross-instrumentation as in the talk: every shipped function and alias built into a module for
    Debian's 6.1 kernel (about a minute on this machine's 2 cores)."""
    script, _, _ = use_everything(TAPSETS, probe="begin")
    (tmp_path / "openafs_all.stp").write_text(script)
    stap_offline("-V")  # skips (fails in CI) without stap
    start = time.monotonic()
    # stap writes the module into its working directory: keep it in tmp_path
    proc = subprocess.run([str(REPO / "scripts" / "stap-offline"), "--module", str(openafs_ko), "-p4",
                           "-m", "openafs_all", "-I", str(TAPSETS), "openafs_all.stp"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=900)
    took = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr[-4000:]
    built = tmp_path / proc.stdout.strip().splitlines()[-1]
    assert built.name == "openafs_all.ko" and built.stat().st_size > 0, (built, took)
    print(f"stap -p4 of {len(script.splitlines())} lines: {took:.1f} s")
