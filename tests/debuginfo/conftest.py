"""Builds the small C fixtures once per session: DWARF 4 and 5, -O0 and -O2, PIE and not, a shared
object, a relocatable object posing as a kernel module, a stripped binary with its debug file
found by build-id and by .gnu_debuglink, and raw BTF that pahole encodes from the same types."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.tooling import require_tool

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass(frozen=True)
class Builds:
    dir: Path
    dw5: Path  # -O0 -gdwarf-5, PIE
    dw4: Path  # -O0 -gdwarf-4, PIE
    o2: Path  # -O2 -gdwarf-5: location lists, inlining, a hot/cold split
    o2_dw4: Path  # -O2 -gdwarf-4: .debug_loc and .debug_ranges
    nopie: Path  # -O0, -no-pie
    shared: Path  # libshape.so
    obj: Path  # shapes.o: ET_REL, relocations applied by tapkit
    stripped: Path  # o2 without debug sections, with .gnu_debuglink
    debug_file: Path  # o2's debug sections alone (objcopy --only-keep-debug)
    debug_root: Path  # holds .build-id/xx/rest.debug for stripped_by_id
    stripped_by_id: Path  # dw5 stripped, no debuglink: found through the build-id only
    btf: Path | None  # raw BTF of dw5's types, encoded by pahole -J (None without pahole)
    two: Path  # shapes.c + second.c: two compile units sharing types
    two_dwz: Path  # the same after dwz: shared types in a partial unit, DW_FORM_ref_addr across units
    multi: Path  # o2 after dwz -m: DIEs and strings in a supplementary file (.gnu_debugaltlink)
    multi_common: Path  # that supplementary file


def _run(*cmd: str | Path) -> None:
    subprocess.run([str(c) for c in cmd], check=True, capture_output=True)


def build_id(path: Path) -> str:
    out = subprocess.run(["readelf", "-n", str(path)], capture_output=True, text=True, check=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    assert m, f"{path} has no build-id"
    return m.group(1)


@pytest.fixture(scope="session")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    gcc = require_tool("gcc")
    require_tool("objcopy")
    out = tmp_path_factory.mktemp("debuginfo-fixtures")
    src = FIXTURES / "shapes.c"

    def cc(name: str, *flags: str, source: Path = src) -> Path:
        target = out / name
        _run(gcc, "-I", FIXTURES, *flags, "-o", target, source)
        return target

    dw5 = cc("shapes-dw5", "-g", "-gdwarf-5", "-O0")
    dw4 = cc("shapes-dw4", "-g", "-gdwarf-4", "-O0")
    o2 = cc("shapes-o2", "-g", "-gdwarf-5", "-O2")
    o2_dw4 = cc("shapes-o2-dw4", "-g", "-gdwarf-4", "-O2")
    nopie = cc("shapes-nopie", "-g", "-O0", "-no-pie", "-fno-pie")
    shared = cc("libshape.so", "-g", "-O2", "-shared", "-fPIC", source=FIXTURES / "libshape.c")
    obj = cc("shapes.o", "-g", "-gdwarf-5", "-O2", "-c")

    debug_file = out / "shapes-o2.debug"
    _run("objcopy", "--only-keep-debug", o2, debug_file)
    stripped_dir = out / "stripped"
    stripped_dir.mkdir()
    stripped = stripped_dir / "shapes-o2"
    _run("objcopy", "--strip-debug", f"--add-gnu-debuglink={debug_file}", o2, stripped)
    shutil.copy(debug_file, stripped_dir / debug_file.name)  # debuglink looks beside the binary

    debug_root = out / "debugroot"
    bid = build_id(dw5)
    link = debug_root / ".build-id" / bid[:2] / f"{bid[2:]}.debug"
    link.parent.mkdir(parents=True)
    _run("objcopy", "--only-keep-debug", dw5, link)
    stripped_by_id = out / "shapes-dw5-stripped"
    _run("objcopy", "--strip-debug", dw5, stripped_by_id)

    btf = None
    if shutil.which("pahole"):
        encoded = out / "shapes-btf"
        shutil.copy(dw5, encoded)
        _run("pahole", "-J", encoded)
        btf = out / "shapes.btf"
        _run("objcopy", f"--dump-section=.BTF={btf}", encoded, out / "scratch")
    two = out / "two"
    _run(gcc, "-I", FIXTURES, "-g", "-O0", "-o", two, src, FIXTURES / "second.c")
    dwz = require_tool("dwz")
    two_dwz = out / "two-dwz"
    shutil.copy(two, two_dwz)
    _run(dwz, two_dwz)
    multi_dir = out / "multi"
    multi_dir.mkdir()
    multi, partner, common = multi_dir / "shapes-o2", multi_dir / "two", multi_dir / "common.debug"
    shutil.copy(o2, multi)
    shutil.copy(two, partner)
    _run(dwz, "-m", common, "-M", common.name, multi, partner)  # a relative name: found beside the file
    return Builds(out, dw5, dw4, o2, o2_dw4, nopie, shared, obj, stripped, debug_file, debug_root,
                  stripped_by_id, btf, two, two_dwz, multi, common)
