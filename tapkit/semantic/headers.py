"""@cast's header modules: `"kernel<linux/fs.h>"` and `"<sys/time.h>"`, compiled as stap compiles them.

stap builds a small object that includes the headers, with -g and unused types kept, through the
target kernel's kbuild tree (kernel headers) or plain gcc (user-space headers), and reads the types
from its DWARF. tapkit does the same and keeps the object in the cache dir, keyed by the headers, the
release and the build tree's .config (bounded like the semantic cache); a header that does not compile
is retried on the next run, as stap does (the type is then not found). Without a kbuild tree or gcc the
header cannot be judged here: UNAVAILABLE, and the caller falls back to the kernel's own debuginfo or
leaves the members unchecked.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from typing import TYPE_CHECKING, Literal

from tapkit.cache import cache_dir, content_hash
from tapkit.semantic.cachebound import prune

if TYPE_CHECKING:
    from tapkit.debuginfo import Debuginfo
    from tapkit.semantic.session import Session

HEADERS_VERSION = "1"
_TIMEOUT = 180.0  # seconds for one kbuild run (a few seconds normally; a cold tree on a busy machine is slower)
_FLAGS = ("-g", "-fno-eliminate-unused-debug-types")

Unavailable = Literal["unavailable"]
Failed = Literal["failed"]
UNAVAILABLE: Unavailable = "unavailable"
FAILED: Failed = "failed"


def is_header(part: str) -> bool:
    """One ':'-separated part of @cast's module argument that names headers."""
    return part.endswith(">") and (part.startswith("<") or part.startswith("kernel<"))


def header_debuginfo(s: Session, part: str) -> Debuginfo | Unavailable | Failed:
    """The types the part's headers declare (cached per run and on disk), FAILED when they do not
    compile, UNAVAILABLE when there is nothing here to compile them with."""
    from tapkit.debuginfo import Debuginfo, DebuginfoError, open_debuginfo

    memo = s.debuginfo_cache.get(f"header:{part}")
    if isinstance(memo, Debuginfo) or memo in (UNAVAILABLE, FAILED):
        return memo
    result: Debuginfo | Unavailable | Failed
    path = compiled_header(part, s.options.target.release)
    if isinstance(path, str) and path not in (UNAVAILABLE, FAILED):
        try:
            result = open_debuginfo(path, module="typequery")
        except DebuginfoError:
            result = FAILED
    else:
        result = path
    s.debuginfo_cache[f"header:{part}"] = result
    return result


def compiled_header(part: str, release: str) -> str | Unavailable | Failed:
    """The path of the object compiled from the part's headers."""
    headers = re.findall(r"<([^<>]+)>", part)
    kernel = part.startswith("kernel<")
    build = f"/lib/modules/{release}/build"
    if not headers:
        return FAILED
    if kernel:
        config = os.path.join(build, ".config")
        try:
            st = os.stat(config)
        except OSError:
            return UNAVAILABLE
        stamp = f"{release}:{st.st_size}:{st.st_mtime_ns}"
        if shutil.which("make") is None or shutil.which("gcc") is None:
            return UNAVAILABLE
    else:
        if shutil.which("gcc") is None:
            return UNAVAILABLE
        stamp = "user"
    directory = cache_dir("typequery")
    key = content_hash("\n".join([HEADERS_VERSION, stamp, *headers]))
    out = directory / f"{key}.o"
    if out.is_file():  # not touched: its debuginfo index is keyed by its mtime
        return str(out)
    source = "".join(f"#include <{h}>\n" for h in headers)
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        src = os.path.join(tmp, "typequery.c")
        obj = os.path.join(tmp, "typequery.o")
        if kernel:
            with open(src, "w", encoding="utf-8") as fh:
                fh.write(source + '#include <linux/module.h>\nMODULE_LICENSE("GPL");\n')
            with open(os.path.join(tmp, "Makefile"), "w", encoding="utf-8") as fh:
                fh.write(f"obj-m := typequery.o\nEXTRA_CFLAGS += {' '.join(_FLAGS)}\n")
            cmd = ["make", "-s", "-C", build, f"M={tmp}", "modules"]
        else:
            with open(src, "w", encoding="utf-8") as fh:
                fh.write(source)
            cmd = ["gcc", *_FLAGS, "-c", src, "-o", obj]
        try:
            subprocess.run(cmd, capture_output=True, text=True, timeout=_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return UNAVAILABLE  # not a verdict on the header: try again next time
        if not os.path.isfile(obj):  # kbuild's modpost may fail after the object is built: that is fine
            return FAILED  # not kept on disk: the header may be installed later (stap retries each run too)
        os.replace(obj, out)
    prune(directory, keep=(out,))
    return str(out)
