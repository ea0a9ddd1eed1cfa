"""Source lines to addresses, for `.statement("func@file:line")` probes.

Interim: tapkit.debuginfo's index does not keep line tables yet, so this reads the DWARF line
program with pyelftools (a dependency already; fast enough for the user-space programs live probes
target). When the index learns line tables, this module should ask it instead.

statement_addresses(path, file, line, within=ranges) follows stap: for each run of line-table rows
of that file and line (is_stmt), the first address; only addresses inside `within` (the function's
pc ranges) when given. An empty list means stap's "no match".
"""

from __future__ import annotations

import fnmatch
import functools
import os

from elftools.elf.elffile import ELFFile


def _file_matches(name: str, pattern: str) -> bool:
    return (name == pattern or os.path.basename(name) == pattern or fnmatch.fnmatchcase(name, pattern)
            or fnmatch.fnmatchcase(name, "*/" + pattern))


@functools.lru_cache(maxsize=16)
def _rows(path: str, mtime: int) -> tuple[tuple[int, str, int, bool], ...]:
    """(address, file, line, starts a run) for every is_stmt row of every unit's line program."""
    out: list[tuple[int, str, int, bool]] = []
    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        if not elf.has_dwarf_info():
            return ()
        dwarf = elf.get_dwarf_info()
        for cu in dwarf.iter_CUs():
            program = dwarf.line_program_for_CU(cu)
            if program is None:
                continue
            header = program.header
            version = header["version"]
            files = header["file_entry"]
            dirs = header["include_directory"]
            previous: tuple[str, int] | None = None
            for entry in program.get_entries():
                state = entry.state
                if state is None:
                    continue
                if state.end_sequence:
                    previous = None
                    continue
                index = state.file if version >= 5 else state.file - 1
                if not 0 <= index < len(files):
                    continue
                entry_file = files[index]
                name = entry_file.name.decode("utf-8", "replace")
                dir_index = entry_file.dir_index if version >= 5 else entry_file.dir_index - 1
                if not name.startswith("/") and 0 <= dir_index < len(dirs):
                    name = os.path.join(dirs[dir_index].decode("utf-8", "replace"), name)
                key = (name, state.line)
                if state.is_stmt:
                    out.append((state.address, name, state.line, key != previous))
                previous = key
    return tuple(out)


def statement_addresses(path: str, file: str, line: int,
                        within: tuple[tuple[int, int], ...] = ()) -> list[int]:
    """Link-time addresses where a probe on file:line goes (see the module docstring)."""
    rows = _rows(os.path.realpath(path), os.stat(path).st_mtime_ns)
    found = sorted({address for address, name, row_line, first in rows
                    if first and row_line == line and _file_matches(name, file)
                    and (not within or any(lo <= address < hi for lo, hi in within))})
    return found
