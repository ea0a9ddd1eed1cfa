"""`make demo`: show tapkit at work on real inputs. Grows with each part of tapkit."""

from __future__ import annotations

import subprocess
import sys

SAMPLE = """\
# count reads per process; print the top 5 every 2 seconds
global reads
probe vfs.read.return {
  if ($return > 0) reads[execname()] <<< $return
}
probe timer.s(2) {
  foreach (name in reads @sum- limit 5)
    printf("%-16s %8d bytes in %d reads\\n", name, @sum(reads[name]), @count(reads[name]))
  delete reads
}
"""
BROKEN = "probe begin {\n  x = 1 +\n}\n"


def demo_parse() -> int:
    """Pass 1: the whole Debian tapset library (as stap -p1 reads it), then a sample script."""
    import tempfile
    import time

    from tapkit.syntax.library import parse_library
    from tapkit.target import Target, newest_installed_release

    release = newest_installed_release() or Target().release
    target = Target(release=release, arch="x86_64")
    print(f"== tapkit parse: the SystemTap tapset library for {release} (x86_64, kernel runtime)")
    for label, cached in (("cold", False), ("warm (cached trees)", True)):
        start = time.perf_counter()
        lib = parse_library(target, use_cache=cached)
        took = time.perf_counter() - start
        bad = [p for p, r in lib.files if not r.ok]
        print(f"   {label}: {len(lib.files)} .stp files and {len(lib.macros.macros)} library macros in "
              f"{took:.2f} s; files with errors: {len(bad)}")
    with tempfile.TemporaryDirectory() as tmp:
        sample = f"{tmp}/topreads.stp"
        broken = f"{tmp}/broken.stp"
        with open(sample, "w") as f:
            f.write(SAMPLE)
        with open(broken, "w") as f:
            f.write(BROKEN)
        print("\n== tapkit parse --dump topreads.stp (first lines of the tree)")
        out = subprocess.run([sys.executable, "-m", "tapkit.cli", "parse", "-r", release, "--dump", sample],
                             capture_output=True, text=True)
        print("\n".join(out.stdout.splitlines()[:24]) + "\n   …")
        print(f"   exit status {out.returncode}")
        print("\n== tapkit parse broken.stp (errors as stap prints them)")
        code = subprocess.call([sys.executable, "-m", "tapkit.cli", "parse", "-r", release, broken])
        print(f"   exit status {code}")
    return 0


def demo_gen() -> int:
    """tapkit gen: the seed talk's PrintVcache and friends, generated from the real openafs.ko and checked."""
    import os
    from pathlib import Path

    from tapkit.cache import cache_dir

    repo = Path(__file__).resolve().parent.parent
    print("\n== the real openafs.ko with DWARF (built once, ~4 min; cached afterwards)")
    built = subprocess.run([str(repo / "scripts" / "build-openafs-ko.sh"), str(cache_dir("fixtures") / "openafs")],
                           stdout=subprocess.PIPE, text=True)  # its progress goes to stderr, shown as it runs
    if built.returncode != 0:
        return built.returncode
    ko = built.stdout.strip().splitlines()[-1]
    print(f"   {ko}")
    argv = ["gen", "vcache", "--module", "openafs", "--debuginfo", f"openafs={ko}", "-I", "tapsets/openafs",
            "--check-with-stap"]
    print(f"\n== tapkit {' '.join(argv)}")
    env = dict(os.environ, TAPKIT_STAP=str(repo / "scripts" / "stap-offline"))
    out = subprocess.run([sys.executable, "-m", "tapkit.cli", *argv], capture_output=True, text=True, cwd=repo,
                         env=env)
    lines = out.stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("function Printvcache")), len(lines))
    end = next((i for i in range(start, len(lines)) if lines[i] == "}"), len(lines) - 1)
    print("\n".join(lines[:16]))
    print("   …")
    print("\n".join(lines[start - 4:end + 1]))
    functions = sum(line.startswith("function ") for line in lines)
    print(f"   … {len(lines)} lines, {functions} functions for vcache and the types it embeds")
    print(out.stderr.strip())
    print(f"   exit status {out.returncode}")
    if out.returncode:
        return out.returncode
    print("\n== tapkit check: the talk's own PrintVcache, typed in, against openafs.ko and tapsets/openafs")
    from tapkit.diagnostics import format_diagnostic
    from tapkit.semantic import CheckOptions, check_script

    seed = repo / "tests" / "gen" / "seed" / "print_vcache.stp"
    result = check_script(str(seed), CheckOptions(include_dirs=(str(repo / "tapsets" / "openafs"),),
                                                  debuginfo=(f"openafs={ko}",)))
    for d in result.diagnostics:
        print(format_diagnostic(d))
    print(f"   {seed.relative_to(repo)}: {'ok' if result.ok else 'errors'}")
    return 0 if result.ok else 1


def demo_live() -> int:
    """tapkit run, live: the seed's case study 2 on examples/seed/afsim -- fault injection, and the
    afs_PutDCache check catching the read lock it leaks (process probes placed with ptrace)."""
    import tempfile
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    seed = repo / "examples" / "seed"
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["gcc", "-g", "-O0", "-o", f"{tmp}/afsim", str(seed / "afsim.c")], check=True)
        argv = ["run", "-g", "-I", str(seed / "tapset"), "-c", "./afsim 0 4 2", str(seed / "cs2-lock-leak.stp")]
        print("\n== live probes: the seed's case study 2 on afsim (examples/seed), from its directory")
        import shlex

        print(f"   tapkit {shlex.join(argv).replace(str(repo) + '/', '')}")
        sys.stdout.flush()
        code = subprocess.call([sys.executable, "-m", "tapkit.cli", *argv], cwd=tmp)
    print(f"   exit status {code}")
    return code


def main() -> int:
    code = subprocess.call([sys.executable, "-m", "tapkit.cli", "--help"])
    print()
    return code or demo_parse() or demo_gen() or demo_live()


if __name__ == "__main__":
    sys.exit(main())
