"""The seed's scripts as the talk shows them (examples/seed/openafs, module("openafs")) pass `tapkit check`
against the real openafs.ko and tapsets/openafs, and stap -p4 builds them (scripts/stap-offline)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.seed.conftest import SEED, tapkit
from tests.tooling import REPO, fixture_cache, stap_offline

TAPSETS = str(REPO / "tapsets" / "openafs")
MODULE_SCRIPTS = ["cs1-step1-counts.stp", "cs1-step2-backtrace.stp", "cs2-fault-injection.stp", "cs2-lock-leak.stp",
                  "perf-timing.stp"]
GURU = {"cs2-fault-injection.stp"}  # a target write: stap -g


def _flags(name: str) -> list[str]:
    return ["-g"] if name in GURU else []


@pytest.mark.slow
@pytest.mark.parametrize("name", MODULE_SCRIPTS)
def test_module_versions_pass_tapkit_check(openafs_ko: Path, name: str) -> None:
    proc = tapkit("check", *_flags(name), "-I", TAPSETS, "--debuginfo", f"openafs={openafs_ko}",
                  str(SEED / "openafs" / name))
    assert proc.returncode == 0, proc.stderr
    assert "error" not in proc.stderr


@pytest.mark.slow
def test_fault_injection_needs_guru_mode(openafs_ko: Path) -> None:
    proc = tapkit("check", "-I", TAPSETS, "--debuginfo", f"openafs={openafs_ko}",
                  str(SEED / "openafs" / "cs2-fault-injection.stp"))
    assert proc.returncode == 1 and "need stap -g" in proc.stderr


@pytest.mark.slow
def test_kernel_chain_checks_against_btf() -> None:
    """Step 3 probes kernel functions: tapkit checks them through the running kernel's BTF (stap would need
    the kernel's DWARF debuginfo, which this host lacks, so it has no -p4 test)."""
    btf = "/sys/kernel/btf/vmlinux"
    if not os.path.exists(btf):
        pytest.skip("no kernel BTF on this host")
    proc = tapkit("check", "--debuginfo", f"kernel={btf}", str(SEED / "openafs" / "cs1-step3-chain.stp"))
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def stap_tapset() -> Path:
    """stap 4.8's tapset with one fix for Linux >= 5.11 headers: linux/kretprobe.stp reads pi->rp, which
    became get_kretprobe(pi) (the -p4 of any .return probe using @entry values, as cs2-lock-leak's $adc,
    fails to compile without it). Given to stap through SYSTEMTAP_TAPSET."""
    import shutil

    stock = Path("/usr/share/systemtap/tapset")
    if not stock.is_dir():
        pytest.skip("no systemtap tapset directory")
    out = fixture_cache() / "seed" / "stap-tapset"
    stamp = out / ".patched"
    if not stamp.exists():
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(stock, out)
        f = out / "linux" / "kretprobe.stp"
        f.write_text(f.read_text().replace("end <= pi->rp->data_size", "end <= get_kretprobe(pi)->data_size"))
        stamp.touch()
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", MODULE_SCRIPTS)
def test_module_versions_compile_with_stap(openafs_ko: Path, stap_tapset: Path, name: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYSTEMTAP_TAPSET", str(stap_tapset))
    proc = stap_offline("-p4", *_flags(name), "-I", TAPSETS, str(SEED / "openafs" / name), module=openafs_ko)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith(".ko")
