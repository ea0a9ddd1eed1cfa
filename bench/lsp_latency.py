"""`tapkit lsp` latency, over stdio as an editor sees it: pass 1 and 2 (stap -p2's verdict) on every edit,
the whole tapset library and the openafs.ko debuginfo index loaded.

    .venv/bin/python bench/lsp_latency.py [--requests 200] [--starts 3]

A ~3,000-line script is built from the Debian examples (those without embedded C), followed by probes
on openafs.ko (module("openafs").function(...) with $-variables, @cast(..., "kernel:openafs") chains).
Measured: server start to first diagnostics (pass 1), to pass-2 diagnostics (published once the library and
the openafs.ko index are loaded; tapkit.semantic.incremental analyzes the script part by part and keeps the
parts on disk) and to the end of every progress the server reports (the library, the debuginfo index, then
the @cast headers and tracepoint catalog; cold: an empty cache dir, so the library is parsed, openafs.ko
indexed, the script's parts analyzed and the headers compiled; warm: the cache the cold run filled),
then p50/p99 of completion (at words, and after `->` in the openafs probes), hover, definition and
diagnostics-after-edit (an edit sent, its version's diagnostics received: debounce included) over
--requests requests each, and the server's resident memory. There is no peer to run side by side:
Debian's SystemTap 4.8 has no language server (`stap --language-server` is 4.9+).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tapkit.syntax import ast as A  # noqa: E402
from tapkit.syntax.parser import parse  # noqa: E402
from tapkit.syntax.tokens import lex  # noqa: E402
from tests.lsp.rawclient import RawClient, initialize  # noqa: E402

SERVER = [sys.executable, "-m", "tapkit.cli", "lsp"]
RELEASE = "6.1.0-56-amd64"
PROGRESS_END = "end"
LIBRARY_PROGRESS = "tapkit: loading the tapset library"


AFS_PROBES = """
probe module("openafs").function("afs_PutDCache") {
  printf("%d %d\\n", $adc->f->chunk, $adc->refCount)
  d = $adc
  println(d->f->fid->Fid->Volume)
}
probe module("openafs").function("afs_GetDCache") {
  v = $avc
  println(@cast(v, "vcache", "kernel:openafs")->f->fid->Cell)
}
"""


def _declared(text: str, name: str) -> tuple[set[str], set[str], set[str]]:
    """The globals, functions and macros a file declares, from its parsed tree."""
    tree = parse(text, name).file
    globals_: set[str] = set()
    functions: set[str] = set()
    for item in tree.items:
        if isinstance(item, A.GlobalDecl):
            globals_ |= {v.name for v in item.vars}
        elif isinstance(item, A.FunctionDecl):
            functions.add(item.name)
    return globals_, functions, {m.name for m in tree.macros}


def prefixed(text: str, name: str, prefix: str) -> str:
    """text with its own globals, functions and macros renamed prefix+name, so that examples can share one file.

    A token rewrite guided by the parsed tree: a word followed by `(` is renamed only if the file declares that
    function (a call of a tapset function named like a global stays), any other word only if it declares that
    global; members after `->` and probe-point components are never touched, nor strings and comments.
    """
    globals_, functions, macros = _declared(text, name)
    out: list[str] = []
    last = 0
    header = False  # inside a probe point list: `probe kernel.function("x"), timer.s(1) {`
    tokens = lex(text, name).tokens
    for i, t in enumerate(tokens):
        prev = tokens[i - 1].type if i else ""
        if t.type == "PROBE":
            header = True
        elif header and t.type in ("LBRACE", "EQUAL"):
            header = False
        new = None
        if t.type == "IDENT" and not header and prev != "ARROW":
            call = prev == "FUNCTION" or (i + 1 < len(tokens) and tokens[i + 1].type == "LPAR")
            if (t.text in functions if call else t.text in globals_) or (prev == "AT_DEFINE" and t.text in macros):
                new = prefix + t.text
        elif t.type == "AT_OTHER" and t.text[1:] in macros:
            new = "@" + prefix + t.text[1:]
        if new is not None:
            out += [text[last:t.pos], new]
            last = t.end_pos
    return "".join(out) + text[last:]


def tapkit_check(paths: list[Path], ko: Path) -> list[dict[str, Any]]:
    """`tapkit check -r RELEASE --json` (each file on its own, as stap would), and its exit status."""
    cmd = [sys.executable, "-m", "tapkit.cli", "check", "-r", RELEASE, "--debuginfo", str(ko), "--json"]
    done = subprocess.run(cmd + [str(p) for p in paths], capture_output=True, text=True, check=False)
    results: list[dict[str, Any]] = json.loads(done.stdout)
    assert (done.returncode == 0) == all(r["ok"] for r in results), done.stderr
    return results


def build_script(work: Path, ko: Path, lines: int = 3000) -> str:
    """One valid program of >= lines lines: the Debian examples (without embedded C) that `tapkit check` accepts
    on this host once their names are prefixed, joined, then the openafs probes. Asserted valid as a whole, so
    that diagnostics after an edit always include pass 2 (a parse error would stop the verdict after pass 1)."""
    parts = work / "examples"
    parts.mkdir()
    candidates = []
    for i, p in enumerate(sorted(Path("/usr/share/systemtap/examples").rglob("*.stp"))):
        t = p.read_text(errors="replace")
        if "%{" in t:
            continue
        q = parts / f"{i:03d}-{p.name}"
        q.write_text(prefixed(t, str(p), f"x{i}_"))
        candidates.append(q)
    text = ""
    used = 0
    singletons: set[str] = set()  # stap allows one read probe per procfs file; json_data, prometheus are such probes
    for r in tapkit_check(candidates, ko):
        part = Path(r["file"]).read_text()
        once = set(re.findall(r"^\s*probe\s+(json_data|prometheus|procfs\([^)]*\)\s*\.\s*read)", part, re.M))
        if r["ok"] and not once & singletons:
            text += part + "\n"
            used += 1
            singletons |= once
        if text.count("\n") >= lines - AFS_PROBES.count("\n"):
            break
    text += AFS_PROBES
    assert text.count("\n") >= lines, f"only {text.count(chr(10))} lines of valid examples on this host"
    whole = work / "big-check.stp"
    whole.write_text(text)
    verdict = tapkit_check([whole], ko)[0]
    assert verdict["ok"], f"the bench script does not pass `tapkit check -r {RELEASE}`: {verdict['diagnostics']}"
    if shutil.which("stap"):  # stap -p2 agrees (less the openafs probes: stap has no openafs debuginfo here)
        (work / "big-stap.stp").write_text(text[:-len(AFS_PROBES)])
        done = subprocess.run(["stap", "-r", RELEASE, "-p2", str(work / "big-stap.stp")], capture_output=True,
                              text=True, check=False)
        assert done.returncode == 0, f"stap -p2 rejects the bench script: {done.stderr[-2000:]}"
    print(f"script: {used} of {len(candidates)} examples without embedded C pass `tapkit check -r {RELEASE}` "
          f"with their names prefixed (one read probe per procfs file); the whole passes tapkit check, and "
          f"stap -p2 without the openafs probes")
    return text


def positions(text: str, pattern: str, count: int, seed: int) -> list[tuple[int, int]]:
    """(line, character) of count random matches of pattern, cursor inside the match."""
    found = []
    for m in re.finditer(pattern, text):
        line = text.count("\n", 0, m.start())
        col = m.start() - (text.rfind("\n", 0, m.start()) + 1)
        if text[text.rfind("\n", 0, m.start()) + 1:m.start()].isascii():
            found.append((line, col + max(1, len(m.group(0)) // 2)))
    random.Random(seed).shuffle(found)
    return (found * (count // max(len(found), 1) + 1))[:count]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def rss_mb(pid: int) -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def start(root: Path, cache: str, text: str, ko: Path) -> tuple[RawClient, object, float, float, float]:
    env_cache = os.environ.get("TAPKIT_CACHE_DIR")
    os.environ["TAPKIT_CACHE_DIR"] = cache
    t0 = time.perf_counter()
    client, proc = RawClient.process(SERVER)
    if env_cache is None:
        del os.environ["TAPKIT_CACHE_DIR"]
    else:
        os.environ["TAPKIT_CACHE_DIR"] = env_cache
    caps = {"window": {"workDoneProgress": True}}
    initialize(client, root.as_uri(), caps, {"release": RELEASE, "debuginfo": [str(ko)]})
    uri = (root / "big.stp").as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "systemtap", "version": 1,
                                                            "text": text}})
    client.wait_notification("textDocument/publishDiagnostics", lambda p: p["uri"] == uri)
    first = time.perf_counter() - t0
    library = client.wait_notification("$/progress", lambda p: p["value"].get("title") == LIBRARY_PROGRESS)
    client.wait_notification("$/progress", lambda p: p["token"] == library["params"]["token"] and
                             p["value"].get("kind") == PROGRESS_END, timeout=600)
    before = {id(n["params"]) for n in client.notifications}  # the verdict is published after the library loads
    client.wait_notification("textDocument/publishDiagnostics", lambda p: p["uri"] == uri and id(p) not in before,
                             timeout=600)
    verdict = time.perf_counter() - t0
    kinds: list[str] = []

    def all_ended(params: dict[str, Any]) -> bool:  # each progress begins before the first one ends
        kinds.append(params["value"].get("kind"))
        return kinds.count(PROGRESS_END) >= 2 and kinds.count(PROGRESS_END) == kinds.count("begin")
    client.wait_notification("$/progress", all_ended, timeout=600)  # (seen ones first, each once)
    ready = time.perf_counter() - t0
    return client, proc, first, verdict, ready


def stop(client: RawClient, proc: object) -> None:
    client.request(999999, "shutdown", None)
    client.notify("exit", None)
    proc.wait(timeout=30)  # type: ignore[attr-defined]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--starts", type=int, default=3, help="warm starts to take the median of")
    ap.add_argument("--edits", type=int, default=None, help="edits to time (default: --requests)")
    args = ap.parse_args()
    from tests.tooling import build_openafs_ko

    ko = build_openafs_ko()
    text = build_script(Path(tempfile.mkdtemp(prefix="tapkit-bench-script-")), ko)  # outside the workspace
    root = Path(tempfile.mkdtemp(prefix="tapkit-bench-lsp-"))
    cache = tempfile.mkdtemp(prefix="tapkit-bench-cache-")
    uri = (root / "big.stp").as_uri()
    print(f"script: {text.count(chr(10))} lines, {len(text)} characters")

    client, proc, first, verdict, ready = start(root, cache, text, ko)
    print(f"cold start: first diagnostics {first:.2f} s, pass-2 diagnostics {verdict:.2f} s, "
          f"library, openafs.ko index and headers ready {ready:.2f} s")
    stop(client, proc)
    warm = [start(root, cache, text, ko) for _ in range(args.starts)]
    for c, p, _, _, _ in warm[:-1]:
        stop(c, p)
    client, proc, _, _, _ = warm[-1]
    first_warm, verdict_warm, ready_warm = (statistics.median(w[k] for w in warm) for k in (2, 3, 4))
    print(f"warm start (median of {args.starts}): first diagnostics {first_warm:.2f} s, pass-2 diagnostics "
          f"{verdict_warm:.2f} s, library, openafs.ko index and headers ready {ready_warm:.2f} s")

    n = args.requests
    rid = 100
    results: dict[str, list[float]] = {}
    calls = positions(text, r"\b[a-z_]+\(", n, 1)
    words = positions(text, r"\b[a-z_][a-z_0-9]{3,}\b", n, 2)
    base = len(text) - len(AFS_PROBES)  # just after each `->` of the openafs probes: members from openafs.ko
    arrows = [(text.count("\n", 0, m.end()), m.end() - text.rfind("\n", 0, m.end()) - 1)
              for m in re.finditer("->", text) if m.start() >= base]
    arrows = (arrows * (n // max(len(arrows), 1) + 1))[:n]
    for name, method, where in [("completion", "textDocument/completion", words),
                                ("completion after ->", "textDocument/completion", arrows),
                                ("hover", "textDocument/hover", calls),
                                ("definition", "textDocument/definition", calls)]:
        times = []
        for line, ch in where:
            rid += 1
            t = time.perf_counter()
            answer = client.request(rid, method, {"textDocument": {"uri": uri},
                                                  "position": {"line": line, "character": ch}})
            times.append(time.perf_counter() - t)
            assert "result" in answer, answer
        results[name] = times
    edits = []
    lines = text.split("\n")
    for version in range(2, (args.edits or n) + 2):
        line = random.Random(version).randrange(len(lines))
        t = time.perf_counter()
        client.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"range": {"start": {"line": line, "character": 0},
                                          "end": {"line": line, "character": 0}}, "text": " "}]})
        client.wait_notification("textDocument/publishDiagnostics",
                                 lambda p, v=version: p["uri"] == uri and p.get("version") == v, timeout=600)
        edits.append(time.perf_counter() - t)
    results["diagnostics after edit"] = edits
    rss, peak = rss_mb(proc.pid)  # type: ignore[attr-defined]
    print(f"{'request':24s} {'n':>5s} {'p50 ms':>8s} {'p99 ms':>8s}")
    for name, times in results.items():
        slowest = sorted(range(len(times)), key=lambda i: -times[i])[:3]
        worst = ", ".join(f"#{i + 1} {1000 * times[i]:.0f}" for i in slowest)
        print(f"{name:24s} {len(times):5d} {1000 * pct(times, 50):8.1f} {1000 * pct(times, 99):8.1f}"
              f"   slowest (request #, ms): {worst}")
    print(f"server memory: {rss:.0f} MB resident, {peak:.0f} MB peak")
    stop(client, proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
