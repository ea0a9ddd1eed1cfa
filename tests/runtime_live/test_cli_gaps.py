"""`tapkit run`/`tapkit check` on the cases issue 8 left open: process .return probes (stap's verdict for
the release in check, the live engine's in run), @entry at the entry, process(PID), @cast's module
forms, libraries by their bare name, and pn() of a probe with several points."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.tooling import require_tool, stap_offline, stap_release

TAPKIT = [sys.executable, "-m", "tapkit.cli"]


def tapkit(command: str, *args: str, timeout: float = 120, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TAPKIT, command, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, cwd=cwd)


def script(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.stp"
    path.write_text(text)
    return path


def program_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if not line.startswith(("ready ", "gaps done"))]


def test_return_probes_refused_by_check_as_stap_does_and_placed_by_run(gaps: Path, tmp_path: Path) -> None:
    s = script(tmp_path, f'probe process("{gaps}").function("twice").return {{ printf("%d\\n", $return) }}\n')
    release = stap_release()
    stap = stap_offline("-p2", str(s))
    check = tapkit("check", "-r", release, str(s))
    # stap reads uretprobes off the release's System.map, which Debian's headers package lacks
    assert stap.returncode == 1 and "process return probes not available [man error::inode-uprobes]" in stap.stderr
    assert check.returncode == 1, check.stderr
    assert "process return probes not available [man error::inode-uprobes]" in check.stderr
    run = tapkit("run", "-c", f"{gaps} 4", str(s))
    assert run.returncode == 0, run.stderr
    assert program_lines(run.stdout) == ["0", "2", "4", "6"]


def test_entry_is_evaluated_at_the_entry(gaps: Path, tmp_path: Path) -> None:
    # bump(c, by) adds by to c->v: at the entry c->v is the old value, at the return the new one
    s = script(tmp_path, f'probe process("{gaps}").function("bump").return {{\n'
                         '  printf("entry %d now %d return %d by %d sum %d\\n", @entry($c->v), $c->v, $return, $by,\n'
                         '         @entry($c->v + $c->hits * 100))\n}\n')
    run = tapkit("run", "-c", f"{gaps} 4", str(s))
    assert run.returncode == 0, run.stderr
    # v goes 10 -> 11 -> 13 -> 16 -> 20 (by is i+1); hits counts the calls before this one
    assert program_lines(run.stdout) == [
        "entry 10 now 11 return 11 by 1 sum 10",
        "entry 11 now 13 return 13 by 2 sum 111",
        "entry 13 now 16 return 16 by 3 sum 213",
        "entry 16 now 20 return 20 by 4 sum 316",
    ]
    assert run.stdout.splitlines()[-1] == "gaps done v 20 total 38"


def test_process_pid_probes_with_dash_x(gaps: Path, tmp_path: Path) -> None:
    prog = subprocess.Popen([str(gaps), "3000", "1000"], stdout=subprocess.PIPE, text=True)
    assert prog.stdout is not None
    assert prog.stdout.readline() == f"ready {prog.pid}\n"
    pid = prog.pid
    s = script(tmp_path, f"""global n, by, m
probe process({pid}).function("twice") {{
  n++; if (n == 1) printf("%s %d\\n", pp(), pid() == target()); if (n == 5) exit()
}}
probe process({pid}).function("bump").return {{ if (n < 5) {{ by[$by] = $return - @entry($c->v); m++ }} }}
probe end {{ foreach (b in by) if (by[b] != b) printf("bad %d %d\\n", b, by[b]); printf("returns %d\\n", m > 3) }}
""")
    entry_only = tmp_path / "entry.stp"
    entry_only.write_text(f'probe process({pid}).function("twice") {{ printf("%s %d\\n", pp(), $i) }}\n')
    check = tapkit("check", str(entry_only))  # pass 2 takes the pid too (.return: stap refuses it here)
    assert check.returncode == 0, check.stderr
    no_x = tapkit("run", str(entry_only))
    assert no_x.returncode == 1 and f"(for process({pid}): -x {pid})" in no_x.stderr
    run = tapkit("run", "-x", str(pid), str(s))
    assert run.returncode == 0, run.stderr
    # stap names the point by the executable of /proc/PID/exe
    assert run.stdout.splitlines() == [f'process("{gaps}").function("twice@{gaps_source()}:24") 1', "returns 1"]
    rest, _ = prog.communicate(timeout=60)
    assert prog.returncode == 0 and rest == "gaps done v 4501510 total 22506390\n"


def test_process_pid_that_is_not_running(tmp_path: Path) -> None:
    pid = _dead_pid()
    s = script(tmp_path, f'probe process({pid}).function("main") {{ println(1) }}\n')
    stap = stap_offline("-p2", str(s))
    check = tapkit("check", str(s))
    message = f"cannot probe pid {pid}: No such process"
    assert stap.returncode == 1 and message in stap.stderr
    assert check.returncode == 1 and message in check.stderr


def test_cast_module_relative_path(gaps: Path, tmp_path: Path) -> None:
    s = script(tmp_path, f'probe process("{gaps}").function("bump") {{ println(@cast($c, "counter", "./gaps")->v) }}\n')
    run = tapkit("run", "-c", "./gaps 2", str(s), cwd=gaps.parent)
    assert run.returncode == 0, run.stderr
    assert program_lines(run.stdout) == ["10", "11"]
    # stap 4.8 takes only an absolute path as a file ("./gaps" is a kernel module's name to it)
    require_tool("stap")
    stap = subprocess.run([str(Path(__file__).resolve().parents[2] / "scripts" / "stap-offline"), "-p2", str(s)],
                          capture_output=True, text=True, timeout=600, cwd=gaps.parent)
    check = tapkit("check", str(s), cwd=gaps.parent)
    message = "type definition 'counter' not found in './gaps'"
    assert stap.returncode == 1 and message in stap.stderr
    assert check.returncode == 1 and message in check.stderr


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def gaps_source() -> str:
    return str(Path(__file__).resolve().parent / "fixtures" / "gaps.c")


def test_cast_module_forms(gaps: Path, tmp_path: Path) -> None:
    process_form = f'process(\\"{gaps}\\")'
    s = script(tmp_path, f'''probe process("{gaps}").function("bump") {{
  printf("%d %d %d %d %d\\n", @cast($c, "struct counter", "{process_form}")->v,
         @cast($c, "counter", "{gaps}")->hits, @cast($c, "struct counter")->v,
         @cast($c, "struct counter", "kernel:{gaps}")->hits,
         @cast($c, "struct timeval", "<sys/time.h>")->tv_usec)  # a user-space header laid over the same bytes
}}
''')
    run = tapkit("run", "-c", f"{gaps} 3", str(s))
    assert run.returncode == 0, run.stderr
    assert program_lines(run.stdout) == ["10 0 10 0 0", "11 1 11 1 1", "13 2 13 2 2"]
    # stap 4.8 takes process("PATH") as a kernel module's name and finds no type: check says so too
    stap = stap_offline("-p2", str(s))
    check = tapkit("check", str(s))
    message = f"type definition 'struct counter' not found in 'process(\"{gaps}\")'"
    assert stap.returncode == 1 and message in stap.stderr
    assert check.returncode == 1 and message in check.stderr


def test_libraries_by_bare_name(gaps: Path, libraries: dict[str, Path], tmp_path: Path) -> None:
    lib, exe = libraries["lib"], libraries["exe"]
    s = script(tmp_path, f'''global sleeps, entries
probe process("{gaps}").library("libc.so.6").function("usleep") {{ sleeps[$useconds]++ }}
probe process("{exe}").library("libprobe*").function("lib_entry") {{ entries++ }}
probe end {{ foreach (u in sleeps) printf("usleep(%d) x%d\\n", u, sleeps[u]); printf("lib_entry %d\\n", entries) }}
''')
    run = tapkit("run", "-c", f"{gaps} 3 7", str(s))
    assert run.returncode == 0, run.stderr
    assert program_lines(run.stdout) == ["usleep(7) x3", "lib_entry 0"]
    # uselib finds libprobe.so through its DT_RUNPATH (ld.so --list resolves it as the loader will)
    run = tapkit("run", "-c", str(exe), str(s))
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "lib_entry 3"
    assert str(lib) not in s.read_text()
    # pp() names the library file itself, pn() the point as derived from the script: stap's pass 3 names
    named = script(tmp_path, f'probe process("{gaps}").library("libc.so.6").function("usleep") {{\n'
                             '  printf("%s\\n%s\\n", pp(), pn()); exit() }\n')
    run = tapkit("run", "-c", f"{gaps} 3 7", str(named))
    assert run.returncode == 0, run.stderr
    pp, pn = program_lines(run.stdout)
    stap_c = stap_offline("-p3", str(named))
    m = re.search(r'STAP_PROBE_INIT\(\d+, &probe_\d+, "((?:[^"\\]|\\.)*)", "((?:[^"\\]|\\.)*)"', stap_c.stdout)
    assert m is not None, stap_c.stderr
    # up to the function's name: the declaring file's spelling comes from the debuginfo reader
    assert pp.split("@")[0] == m.group(1).replace('\\"', '"').split("@")[0]
    assert pn.split("@")[0] == m.group(2).replace('\\"', '"').split("@")[0]
    assert pp.startswith('process("/') and ".library(" in pn
    nosuch = script(tmp_path, f'probe process("{gaps}").library("nosuch.so").function("f") {{ println(1) }}\n')
    stap, check = stap_offline("-p2", str(nosuch)), tapkit("check", str(nosuch))
    similar = "no match (similar libraries: /lib64/ld-linux-x86-64.so.2, /lib/x86_64-linux-gnu/libc.so.6)"
    assert stap.returncode == 1 and similar in stap.stderr
    assert check.returncode == 1 and similar in check.stderr


def _stap_probe_names(c_code: str) -> set[str]:
    """pn() of each probe in stap -p3's C: the PN argument of its STAP_PROBE_INIT line."""
    names: set[str] = set()
    for m in re.finditer(r'STAP_PROBE_INIT\(\d+, &probe_\d+, ("(?:[^"\\]|\\.)*"), ("(?:[^"\\]|\\.)*")', c_code):
        names.add(m.group(2)[1:-1].replace('\\"', '"'))
    return names


def test_pn_is_the_point_that_fired_as_stap_names_it(gaps: Path, tmp_path: Path) -> None:
    s = script(tmp_path, f'''probe process("{gaps}").function("t*") {{ println(pn()) }}
probe foo = process("{gaps}").function("bump") {{}}
probe foo, process("{gaps}").function("main") {{ println(pn()) }}
probe begin, end {{ println(pn()) }}
''')
    run = tapkit("run", "-c", f"{gaps} 1", str(s))
    assert run.returncode == 0, run.stderr
    lines = program_lines(run.stdout)
    src = gaps_source()
    assert lines == ["begin", f'process("{gaps}").function("main@{src}:27")', "foo",
                     f'process("{gaps}").function("twice@{src}:24")', f'process("{gaps}").function("thrice@{src}:25")',
                     "end"]
    # the names stap 4.8 compiles into its module for the same probes (pass 3)
    stap = stap_offline("-p3", str(s))
    assert stap.returncode == 0, stap.stderr
    assert _stap_probe_names(stap.stdout) == set(lines)


def test_entry_in_return_probes_on_elf_symbols(tmp_path: Path) -> None:
    gcc = require_tool("gcc")
    exe = tmp_path / "gaps-nodebug"
    subprocess.run([gcc, "-O0", "-fno-builtin", "-o", str(exe), gaps_source()], check=True)
    s = script(tmp_path, f'probe process("{exe}").function("bump").return {{\n'
                         '  printf("by %d old %d new %d\\n", @entry(long_arg(2)), @entry(user_long(long_arg(1))),\n'
                         '         user_long(@entry(long_arg(1))))\n}\n')
    run = tapkit("run", "-c", f"{exe} 3", str(s))
    assert run.returncode == 0, run.stderr
    assert program_lines(run.stdout) == ["by 1 old 10 new 11", "by 2 old 11 new 13", "by 3 old 13 new 16"]
