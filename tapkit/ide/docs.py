"""Doc comments as the tapset library writes them (kernel-doc style), read into parts an editor shows.

    /**
     * sfunction user_string_n - Retrieves string of given length from user space
     *
     * @addr: the user space address to retrieve the string from
     * @n: the maximum length of the string
     *
     * Description: Returns the C string of a maximum given length ...
     */

The first line names the kind (`sfunction`, `function`, `probe`, `smacro`) and the thing;
`@name:` lines describe parameters (or an alias's variables); `Word:` lines open sections.
A comment without that header is kept as free text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADER = re.compile(r"(sfunction|function|probe|smacro)\s+(\S+)\s*-\s*(.*)")
_PARAM = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*)")
_SECTION = re.compile(r"([A-Z][A-Za-z ]{2,20}):\s*(.*)")


@dataclass(frozen=True, slots=True)
class DocComment:
    kind: str  # "sfunction", "probe", … or "" for free text
    name: str
    summary: str
    params: tuple[tuple[str, str], ...] = ()
    sections: tuple[tuple[str, str], ...] = ()  # ("Description", text), …

    def param(self, name: str) -> str | None:
        return next((d for n, d in self.params if n == name), None)

    def markdown(self) -> str:
        parts: list[str] = []
        if self.summary:
            parts.append(self.summary)
        if self.params:
            parts.append("\n".join(f"- `{n}`: {d}" for n, d in self.params))
        for title, body in self.sections:
            parts.append(body if title == "Description" else f"*{title}:* {body}")
        return "\n\n".join(parts)


def _lines(text: str) -> list[str]:
    body = text
    if body.startswith("/**"):
        body = body[3:]
    elif body.startswith("/*"):
        body = body[2:]
    if body.endswith("*/"):
        body = body[:-2]
    out = []
    for line in body.split("\n"):
        s = line.strip()
        if s.startswith("*"):
            s = s[1:].strip()
        out.append(s)
    while out and not out[0]:
        out.pop(0)
    while out and not out[-1]:
        out.pop()
    return out


def parse_doc_comment(text: str) -> DocComment:
    lines = _lines(text)
    kind = name = ""
    summary_lines: list[str] = []
    params: list[list[str]] = []
    sections: list[list[str]] = []
    current: list[str] | None = None  # the param or section that continuation lines extend
    for i, line in enumerate(lines):
        if i == 0 and (m := _HEADER.fullmatch(line)):
            kind, name = m.group(1), m.group(2)
            summary_lines.append(m.group(3))
            current = summary_lines
            continue
        if not line:
            current = None
            continue
        if (m := _PARAM.fullmatch(line)) and not sections:
            current = [m.group(1), m.group(2)]
            params.append(current)
            continue
        if m := _SECTION.fullmatch(line):
            current = [m.group(1), m.group(2)]
            sections.append(current)
            continue
        if current is None:
            if not summary_lines:
                current = summary_lines
            elif sections and sections[-1][0] == "Description":
                current = sections[-1]
                current[1] += "\n\n"
            else:
                current = ["Description", ""]
                sections.append(current)
        if current is summary_lines:
            summary_lines.append(line)
        else:
            current[1] = f"{current[1]} {line}" if current[1] and not current[1].endswith("\n") else current[1] + line
    return DocComment(kind, name, " ".join(summary_lines).strip(),
                      tuple((p[0], p[1]) for p in params), tuple((s[0], s[1]) for s in sections))
