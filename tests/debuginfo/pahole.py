"""Reading pahole's output for differential tests: its struct blocks, and the members each block lists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.tooling import require_tool

_BLOCK = re.compile(r"^((struct|union) (\S+) \{\n.*?^\}[^\n]*;\n)", re.S | re.M)
_MEMBER = re.compile(r"^\t+(?P<decl>.*?);?\s*/\*\s*(?P<off>\d+)(?::\s*(?P<bit>\d+))?\s+(?P<size>\d+)\s*\*/$")


def pahole_blocks(path: Path, *args: str) -> dict[tuple[str, str], str]:
    """{(kind, name): text} of every named struct and union pahole prints for path."""
    pahole = require_tool("pahole")
    proc = subprocess.run([pahole, *args, str(path)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {(kind, name): text for text, kind, name in _BLOCK.findall(proc.stdout)}


def member_name(decl: str) -> str:
    """The declared name in a member line's declaration part ("} name" for expanded members)."""
    decl = re.sub(r"\s*__attribute__\(\((?:[^()]|\([^()]*\))*\)\)", "", decl).strip()
    m = re.search(r"\(\*+\s*(?:const\s+)?(\w+)\)", decl)
    if m:
        return m.group(1)
    decl = re.sub(r"(\[\d*\])+$", "", re.sub(r":\d+$", "", decl))
    words = re.findall(r"\w+", decl)
    return words[-1] if words and not decl.endswith("}") else ""


def members(text: str) -> list[tuple[str, int, int, int | None]]:
    """(name, offset, size, bit offset) of every member line, nested ones included, in order."""
    out = []
    for line in text.splitlines():
        m = _MEMBER.match(line)
        if m:
            bit = m.group("bit")
            out.append((member_name(m.group("decl")), int(m.group("off")), int(m.group("size")),
                        int(bit) if bit is not None else None))
    return out


def normalize(text: str) -> str:
    """pahole's text without what tapkit does not print: alignment attributes, inferred padding bitfields,
    its spacing of qualified pointers, [] versus [0]."""
    text = re.sub(r"\s*__attribute__\(\(__(aligned__\(\d+\)|packed__)\)\)", "", text)
    text = re.sub(r"\n\s*/\* forced alignments: [^*]*\*/", "", text)
    text = re.sub(r"\n\s*/\* Force alignment to the next boundary: \*/", "", text)
    text = re.sub(r"\n\t+[\w ]+\s+:\d+;(?=\n)", "", text)
    text = text.replace("* *", "**").replace("* *", "**").replace("[0]", "[]")
    text = re.sub(r"[ \t]+", " ", text)
    return re.sub(r"\n\s*\n", "\n", text)
