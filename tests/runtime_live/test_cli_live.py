"""`tapkit run` with live process probes, through the real command line on small gcc -g programs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.tooling import fixture_cache, require_tool

TAPKIT = [sys.executable, "-m", "tapkit.cli", "run"]


def tapkit_run(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TAPKIT, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          stdin=subprocess.DEVNULL)


def script(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.stp"
    path.write_text(text)
    return path


def looper_sum(n: int) -> int:
    return sum(3 * i + 1 for i in range(n))


def test_calls_returns_timers_and_end_in_one_script(afsim: dict[str, Path], tmp_path: Path) -> None:
    exe = afsim["O0"]
    s = script(tmp_path, f'''
global calls, rets, ticks
probe begin {{ printf("begin target set %d\\n", target() > 0) }}
probe process("{exe}").function("afs_*").call {{ calls[probefunc()]++ }}
probe process("{exe}").function("afs_linux_writepage").return {{ rets <<< $return }}
probe timer.ms(5) {{ ticks++ }}
probe process("{exe}").begin {{ printf("process begin is target %d\\n", pid() == target()) }}
probe process("{exe}").end {{ printf("process end\\n") }}
probe end {{
  foreach (f in calls+) printf("%s %d\\n", f, calls[f])
  printf("min %d max %d count %d ticks>0 %d\\n", @min(rets), @max(rets), @count(rets), ticks > 0)
}}
''')
    proc = tapkit_run("-c", f"{exe} 400 4 3", str(s))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "afsim: 400 writes, 100 failed with EIO, 3 readdirs, dcache[0] readers 0" in lines
    lines = [line for line in lines if not line.startswith("afsim:")]  # afsim's own line: anywhere
    assert lines[0] == "begin target set 1"
    assert lines[1] == "process begin is target 1"
    assert "process end" in lines
    counts = dict(line.split() for line in lines[-6:-1])
    assert counts == {"afs_linux_readdir": "3", "afs_dir_GetVerifiedBlob": "3", "afs_PutDCache": "403",
                      "afs_GetDCache": "403", "afs_linux_writepage": "400"}
    assert lines[-1] == "min -5 max 0 count 400 ticks>0 1"


@pytest.mark.parametrize("opt", ["O0", "O2"])
def test_statement_parms_entry_values_and_locals(afsim: dict[str, Path], tmp_path: Path, opt: str) -> None:
    exe = afsim[opt]
    s = script(tmp_path, f'''
probe process("{exe}").statement("afs_linux_readdir@afsim.c:169") {{ printf("code %d blobno %d\\n", $code, $blobno) }}
probe process("{exe}").function("afs_dir_GetVerifiedBlob").return {{
  printf("blob %d return %d parms [%s] index %d\\n", $blobno, $return, $$parms, $tdc->index)
}}
probe process("{exe}").function("afs_GetDCache") {{ if ($abyte == 0) printf("%s\\n", $$parms) }}
''')
    proc = tapkit_run("-c", f"{exe} 0 4 2", str(s))
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if not line.startswith("afsim:")]
    assert len(lines) == 6, proc.stdout
    assert re.fullmatch(r"avc=0x[0-9a-f]+ abyte=0x0", lines[0])
    assert re.fullmatch(r"blob 0 return 0 parms \[tdc=0x[0-9a-f]+ blobno=0x0\] index 0", lines[1])
    assert lines[2] == "code 0 blobno 0"
    assert lines[4].startswith("blob 1 return 0 parms [tdc=0x") and lines[4].endswith(" blobno=0x1] index 0")
    assert lines[5] == "code 0 blobno 1"


def test_guru_return_write_is_fault_injection(afsim: dict[str, Path], tmp_path: Path) -> None:
    exe = afsim["O2"]
    s = script(tmp_path, f'probe process("{exe}").function("afs_dir_GetVerifiedBlob").return '
                         '{ $return = -1 }\n')
    refused = tapkit_run("-c", f"{exe} 0 4 2", str(s))
    assert refused.returncode == 1
    assert "write to target variable not permitted; need stap -g" in refused.stderr
    proc = tapkit_run("-g", "-c", f"{exe} 0 4 2", str(s))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "afsim: 0 writes, 0 failed with EIO, 2 readdirs, dcache[0] readers 2\n"


def test_strings_casts_globals_and_backtraces(basic: dict[str, Path], tmp_path: Path) -> None:
    exe = basic["O0-pie"]
    s = script(tmp_path, f'''
probe process("{exe}").function("label") {{
  printf("s=%s quoted=%s\\n", user_string($s), user_string_quoted($s))
  printf("counter %d\\n", @var("counter", "{exe}"))
}}
probe process("{exe}").function("point_y") {{
  printf("x %d y %d\\n", @cast($p, "point", "{exe}")->x, $p->y)
  printf("%s|%s\\n", usymname(uaddr()), ubacktrace() != "" ? "bt" : "none")
  print_ubacktrace()
}}
''')
    proc = tapkit_run("-c", str(exe), str(s))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert 's=hello quoted="hello"' in out and "counter 7" in out and "x 3 y -4" in out
    assert "point_y|bt" in out
    frames = [line for line in out if line.startswith(" 0x")]
    assert re.search(r" : point_y\+0x0/0x[0-9a-f]+ \[", frames[0])
    assert re.search(r" : main\+0x[0-9a-f]+/0x[0-9a-f]+ \[", frames[1])


def test_library_and_inline_probes(libraries: dict[str, Path], afsim: dict[str, Path], tmp_path: Path) -> None:
    exe, lib = libraries["exe"], libraries["lib"]
    s = script(tmp_path, f'''
global n
probe process("{exe}").library("{lib}").function("lib_entry") {{ n[$v]++ }}
probe end {{ foreach (v+ in n) printf("%d:%d ", v, n[v]); println("") }}
''')
    proc = tapkit_run("-c", str(exe), str(s))
    assert proc.returncode == 0, proc.stderr
    assert sorted(proc.stdout.splitlines()) == ["0:1 1:1 2:1 ", "linked 49"]
    s2 = script(tmp_path, f'global locks\nprobe process("{afsim["O2"]}").function("ObtainReadLock").inline '
                          '{ locks++ }\nprobe end { printf("inline hits %d\\n", locks) }\n')
    proc = tapkit_run("-c", f"{afsim['O2']} 6 4 2", str(s2))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "inline hits 8"


def test_sdt_markers(markers: Path, tmp_path: Path) -> None:
    s = script(tmp_path, f'''
probe process("{markers}").mark("args") {{ printf("%d %d %d %d\\n", $arg1, $arg2, $arg3, $arg4) }}
probe process("{markers}").mark("guarded") {{ printf("guarded %d\\n", $arg1) }}
''')
    proc = tapkit_run("-c", f"{markers} 2", str(s))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "markers 2 guarded 2" in lines  # the program's own line (the semaphore was raised for it)
    assert [line for line in lines if not line.startswith("markers")] == [
        "0 -1 5000000000 100", "guarded 0", "1 -2 5000000001 200", "guarded 10"]


def test_exit_ends_the_session_and_the_command_goes_on(looper: Path, tmp_path: Path) -> None:
    s = script(tmp_path, f'global n\nprobe process("{looper}").function("work") {{ if (++n == 5) exit() }}\n'
                         'probe end { printf("end after %d\\n", n) }\n')
    proc = tapkit_run("-c", f"{looper} 200 1000", str(s))  # the looper outlives tapkit; the pipe waits for it
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "end after 5" in lines
    assert lines[-1] == f"looper done sum {looper_sum(200)}"


def test_sigint_runs_end_probes_and_leaves_the_command_intact(looper: Path, tmp_path: Path) -> None:
    out = tmp_path / "looper.out"
    s = script(tmp_path, f'global n\nprobe process("{looper}").function("work") {{ n++ }}\n'
                         'probe end { printf("end ran, hits>0 %d\\n", n > 0) }\n')
    with open(out, "w") as sink:
        tap = subprocess.Popen([*TAPKIT, "-o", str(tmp_path / "tap.out"), "-c",
                                f"sh -c '{looper} 1500 1000 > {out}'", str(s)],
                               stdout=sink, stderr=subprocess.PIPE, text=True)
    # the probe is in the looper (sh execs it): wait until it runs, then interrupt tapkit
    deadline = time.monotonic() + 30
    while "ready" not in out.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    tap.send_signal(signal.SIGINT)
    _, err = tap.communicate(timeout=60)
    assert tap.returncode == 0, err
    assert (tmp_path / "tap.out").read_text() == "end ran, hits>0 1\n"
    pid = int(out.read_text().split()[1])
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline + 30:
        time.sleep(0.05)
    assert out.read_text().splitlines()[-1] == f"looper done sum {looper_sum(1500)}"


def test_attach_with_dash_x(looper: Path, tmp_path: Path) -> None:
    prog = subprocess.Popen([str(looper), "2000", "1000"], stdout=subprocess.PIPE, text=True)
    assert prog.stdout is not None
    ready = prog.stdout.readline()
    assert ready == f"ready {prog.pid}\n"
    s = script(tmp_path, f'global n\nprobe process("{looper}").function("work") {{ if (pid() == target()) n++; '
                         'if (n == 20) exit() }\nprobe end { printf("hits %d\\n", n) }\n')
    proc = tapkit_run("-x", str(prog.pid), str(s))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hits 20\n"
    rest, _ = prog.communicate(timeout=60)
    assert prog.returncode == 0 and rest == f"looper done sum {looper_sum(2000)}\n"


def test_functions_from_elf_symbols_without_debuginfo(tmp_path: Path) -> None:
    gcc = require_tool("gcc")
    src = Path(__file__).resolve().parent / "fixtures" / "looper.c"
    exe = fixture_cache() / "live" / "looper-nodebug"
    exe.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([gcc, "-O0", "-o", str(exe), str(src)], check=True)
    s = script(tmp_path, f'global n, args, regs\nprobe process("{exe}").function("work") {{ n++; args += long_arg(1); '
                         'regs += register("rdi") + (registers_valid() ? 1000 : 0) }\n'
                         f'probe process("{exe}").function("work").return {{ n += 100 }}\n'
                         'probe end { printf("%d %d %d %d\\n", n, args, regs, registers_valid()) }\n')
    proc = tapkit_run("-c", f"{exe} 7 0", str(s))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "707 21 7021 0"  # long_arg(1) and rdi are work()'s i: 0+1+…+6


def test_refusals_name_the_reason(afsim: dict[str, Path], tmp_path: Path) -> None:
    exe = afsim["O0"]
    s = script(tmp_path, f'probe process("{exe}").function("afs_PutDCache") {{ println($nosuch) }}\n')
    proc = tapkit_run("-c", f"{exe} 1 4 0", str(s))
    assert proc.returncode == 1
    assert "unable to find local 'nosuch'" in proc.stderr
    s = script(tmp_path, f'probe process("{exe}").function("afs_PutDCache") {{ println(1) }}\n')
    proc = tapkit_run(str(s))
    assert proc.returncode == 1 and "give -c CMD (tapkit starts it) or -x PID" in proc.stderr
    proc = tapkit_run("-c", "/nonexistent/prog", str(s))
    assert proc.returncode == 1 and "No such file or directory: /nonexistent/prog" in proc.stderr


def test_threads_and_thread_events(threads: Path, tmp_path: Path) -> None:
    s = script(tmp_path, f'''
global per_tid, begins, ends
probe process("{threads}").function("work") {{ per_tid[tid()]++ }}
probe process("{threads}").thread.begin {{ begins++ }}
probe process("{threads}").thread.end {{ ends++ }}
probe end {{
  foreach (t in per_tid) printf("%d\\n", per_tid[t])
  printf("begins %d ends %d\\n", begins, ends)
}}
''')
    proc = tapkit_run("-c", f"{threads} 4 300", str(s))
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if not line.startswith("threads 4 calls")]
    assert lines[:-1] == ["600"] * 4  # work() twice per call (checksum calls it too)
    assert lines[-1] == "begins 4 ends 5"  # four new threads; the main thread ends too


def test_forked_children_are_followed(forker: Path, tmp_path: Path) -> None:
    s = script(tmp_path, f'''
global calls
probe process("{forker}").function("step") {{ calls[pid() == target() ? "parent" : "child", $v]++ }}
probe process("{forker}").begin {{ printf("begin %s\\n", pid() == target() ? "parent" : "child") }}
probe end {{ foreach ([who, v+] in calls) printf("%s step(%d) x%d\\n", who, v, calls[who, v]) }}
''')
    proc = tapkit_run("-c", str(forker), str(s))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "child 18" in lines and "parent 22 child exit 0" in lines
    ours = [line for line in lines if line.startswith(("begin", "parent step", "child step"))]
    assert ours == ["begin parent", "begin child", "parent step(0) x1", "child step(10) x1", "parent step(20) x1"]


def test_attached_process_ending_ends_the_session(looper: Path, tmp_path: Path) -> None:
    prog = subprocess.Popen([str(looper), "2000", "1000"], stdout=subprocess.PIPE, text=True)  # > 2 s: time to attach
    assert prog.stdout is not None and prog.stdout.readline().startswith("ready")
    s = script(tmp_path, f'global n\nprobe process("{looper}").function("work") {{ n++ }}\n'
                         'probe end { printf("end ran, hits>0 %d\\n", n > 0) }\n')
    proc = tapkit_run("-x", str(prog.pid), str(s))
    rest, _ = prog.communicate(timeout=60)
    assert rest == f"looper done sum {looper_sum(2000)}\n"
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "end ran, hits>0 1\n"
    gone = tapkit_run("-x", str(prog.pid), str(s))  # reaped: no such process any more
    assert gone.returncode == 1
    assert f"tapkit run: no process with pid {prog.pid}" in gone.stderr and "Traceback" not in gone.stderr


def test_shared_library_paths_and_dlopen(libraries: dict[str, Path], tmp_path: Path) -> None:
    lib, second, exe = libraries["lib"], libraries["dlopen"], libraries["exe"]
    s = script(tmp_path, f'''
global rets, counters
probe process("{lib}").function("lib_entry").return {{ rets[$return]++ }}
probe process("{second}").function("lib_counter") {{ counters++ }}
probe end {{ foreach (r+ in rets) printf("%d:%d ", r, rets[r]); printf("dlopened counters %d\\n", counters) }}
''')
    proc = tapkit_run("-c", f"{exe} {second}", str(s))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["linked 49", "dlopened 182", "1:1 3:1 5:1 dlopened counters 4"]


def test_pp_names_the_resolved_file_and_the_statement_line(afsim: dict[str, Path], tmp_path: Path) -> None:
    exe = afsim["O0"]
    link = tmp_path / "afsim"
    link.symlink_to(exe)
    s = script(tmp_path, '''
probe process("./afsim").statement("afs_PutDCache@afsim.c:107") { println(pp()) }
probe process("./afsim").function("afs_GetDCache").call { println(pp()) }
probe process("./afsim").function("afs_linux_readdir").return { println(pp()) }
''')
    proc = tapkit_run("-c", "./afsim 0 4 1", str(s), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if not line.startswith("afsim:")]
    prefix = f'process("{exe}")'
    assert lines[0].startswith(prefix + '.function("afs_GetDCache@') and lines[0].endswith('afsim.c:95").call')
    assert lines[1].startswith(prefix + '.statement("afs_PutDCache@') and lines[1].endswith('afsim.c:107")')
    assert lines[2].startswith(prefix + '.function("afs_linux_readdir@') and lines[2].endswith(".return")


def test_pretty_printing(pretty: Path, tmp_path: Path) -> None:
    s = script(tmp_path, f'''
probe process("{pretty}").function("f") {{
  println($a$)
  println($a$$)
  println($v$)
  println($s$ . " " . $n$ . " " . $a->in$)
  println($$parms)
  println($in$)
  printf("%d %d %d\\n", $in->i, $in->u, user_long(-1))
}}
probe process("{pretty}").function("g") {{ println($b$); println($b$$) }}
''')
    proc = tapkit_run("-c", str(pretty), str(s))
    assert proc.returncode == 0, proc.stderr
    one, two, by_value, scalars, parms, in_registers, members, arrays1, arrays2 = proc.stdout.splitlines()
    assert in_registers == "{.i=-1, .u='\\''}"  # a small struct passed in a register, read at the entry
    assert members == "-1 39 0"  # its members too; user_long of an address no process has is 0, no crash
    assert arrays1 == '{.one=[...], .many=[...], .p=0x0, .cs=[...]}'
    assert arrays2 == '{.one=[1, ...], .many=[{.i=2}, ...], .p=0x0, .cs=""}'  # elements at the array's level
    ptr = "0x[0-9a-f]+"
    head = (r"\{\.c='A', \.sc='\\376', \.uc='\\310', \.s=-3, \.us=4, \.i=-5, \.u=6, \.l=-7, \.ul=8, \.ll=-9, "
            r'\.ull=10, \.b=1, \.col=5, \.str="hi\\n", \.cstr=0x0, \.vp=0x10, \.ip=0x0, ')
    assert re.fullmatch(head + rf"\.in=\{{\.\.\.\}}, \.inp={ptr}, \.un=\{{\.\.\.\}}, \.arr=\[\.\.\.\], "
                               rf"\.name=\[\.\.\.\], \.d=\?, \.bits=5, \.next={ptr}\}}", one), one
    assert re.fullmatch(head + rf"\.in=\{{\.i=-1, \.u='\\''\}}, \.inp={ptr}, \.un=\{{\.a=7, \.b=7\}}, "
                               rf'\.arr=\[11, \.\.\.\], \.name="nm", \.d=\?, \.bits=5, \.next={ptr}\}}', two), two
    assert by_value == one  # v is a copy of *a (its pointers too), passed on the stack
    assert scalars == '"x\\"y" -42 {.i=-1, .u=\'\\\'\'}'
    assert re.fullmatch(rf"a={ptr} v=\{{\.\.\.\}} s={ptr} n=0xffffffffffffffd6 in=\{{\.\.\.\}}", parms), parms


def test_exec_in_a_forked_child_gets_the_new_image_probes(forker: Path, basic: dict[str, Path],
                                                           tmp_path: Path) -> None:
    exe = basic["O0-pie"]
    s = script(tmp_path, f'''
global n
probe process("{forker}").function("child_only") {{ n["child_only", $v]++ }}
probe process("{exe}").function("fact").return {{ if ($n == 5) n["fact", $return]++ }}
probe process("{exe}").begin {{ println("exec begin") }}
probe end {{ foreach ([f, v] in n) printf("%s %d x%d\\n", f, v, n[f, v]) }}
''')
    proc = tapkit_run("-c", f"{forker} {exe}", str(s))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "fact 120" in lines and "parent 22 child exit 3" in lines  # the exec'd program ran intact
    assert lines.count("exec begin") == 1
    assert lines[-2:] == ["child_only 3 x1", "fact 120 x1"]


def test_parameters_next_to_structs_with_floats(abi: Path, tmp_path: Path) -> None:
    s = script(tmp_path, f'''
probe process("{abi}").function("h") {{ println($n); try {{ println($f->i) }} catch (e) {{ println(e) }} }}
probe process("{abi}").function("h2") {{ printf("%d %d\\n", $a, $b) }}
probe process("{abi}").function("k") {{ printf("%d %d\\n", $n, $m) }}
''')
    proc = tapkit_run("-c", str(abi), str(s))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [  # the struct's int half took rdi: n is in rsi
        "4", "cannot read $f: passed in SSE registers, which tapkit does not read, at the function's entry",
        "3 4",  # a small struct return takes no hidden pointer in rdi
        "7 9"]  # a long double goes on the stack, a double in xmm: n and m are rdi and rsi
