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


def main() -> int:
    code = subprocess.call([sys.executable, "-m", "tapkit.cli", "--help"])
    print()
    return code or demo_parse()


if __name__ == "__main__":
    sys.exit(main())
