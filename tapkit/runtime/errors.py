"""Runtime errors of probe handlers, with the message texts stap 4.8 prints.

A handler error in stap is `c->last_error` (the message) plus `c->last_stmt` (the
token nearest to it). The probe epilogue prints `ERROR: <msg> near <stmt>` (or just
`ERROR: <msg>` when last_stmt is NULL, as after error()), counts it, and ends the
session once the count exceeds MAXERRORS. Here the message and the token text travel
together in StapError; every raising helper takes the token text as `where`.
"""

from __future__ import annotations

# Message texts, verbatim from the translator (translate.cxx STAP_T_*) and the runtime.
DIVISION_BY_ZERO = "division by 0"
MAXACTION_EXCEEDED = "MAXACTION exceeded"
MAXNESTING_EXCEEDED = "MAXNESTING exceeded"
EMPTY_AGGREGATE = "empty aggregate"
HISTOGRAM_INDEX_OUT_OF_RANGE = "histogram index out of range"
ALL_FUNCTIONS_EXHAUSTED = "all functions exhausted"
POSITION_OUT_OF_BOUNDS = "Position out of bounds"
GETTIMEOFDAY_NOT_INITIALIZED = "gettimeofday not initialized"


def array_overflow(maxsize: int | None = None) -> str:
    """`global a[N]` reports its own limit; unsized arrays name MAXMAPENTRIES."""
    if maxsize is not None and maxsize > 0:
        return f"Array overflow, check size limit ({maxsize})"
    return "Array overflow, check MAXMAPENTRIES"


def memory_dump_too_big(nbytes: int) -> str:
    """%m / %M with a precision above PAGE_SIZE."""
    return f"{nbytes} is too many bytes for a memory dump"


def read_fault(addr: int) -> str:
    """loc2c's DEREF_FAULT: a failed target-variable or @cast read."""
    return f"read fault [man error::fault] at 0x{addr & 0xFFFFFFFFFFFFFFFF:x}"


def write_fault(addr: int) -> str:
    return f"write fault [man error::fault] at 0x{addr & 0xFFFFFFFFFFFFFFFF:x}"


def copy_fault(space: str, what: str, addr: int) -> str:
    """kernel_long() & co.: e.g. copy_fault("kernel", "string", 0)."""
    return f"{space} {what} copy fault at 0x{addr & 0xFFFFFFFFFFFFFFFF:x} [man error::fault]"


def user_string_fault(rc: int, addr: int) -> str:
    """user_string_n(): strncpy_from_user's return code is part of the text."""
    return f"user string copy fault {rc} at 0x{addr & 0xFFFFFFFFFFFFFFFF:x} [man error::fault]"


def token_where(kind: str, text: str, file: str, line: int, column: int) -> str:
    """How stap names a token in `near ...` and `last_stmt` (lex_cast_qstring of a token).

    kind is stap's token type word: identifier, operator, string, number, keyword,
    embedded-code. Keywords and embedded code print without their text. Scripts given
    with -e are named <input>.
    """
    if kind in ("keyword", "embedded-code"):
        return f"{kind} at {file}:{line}:{column}"
    shown = "".join(c if 32 <= ord(c) < 127 else "?" for c in text)
    return f"{kind} '{shown}' at {file}:{line}:{column}"


class StapError(Exception):
    """A probe-handler error: catchable by try/catch, counted against MAXERRORS.

    `message` is what `catch (msg)` receives; `where` is the last_stmt token text,
    None when stap has none (error() clears it).
    """

    def __init__(self, message: str, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def near(self, where: str | None) -> StapError:
        """Attach a location if none was recorded; returns self for `raise e.near(W)`."""
        if self.where is None:
            self.where = where
        return self

    @property
    def text(self) -> str:
        """The part after `ERROR: ` on stap's error line."""
        if self.where is None:
            return self.message
        return f"{self.message} near {self.where}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, {self.where!r})"


class ActionLimitError(StapError):
    """MAXACTION exceeded: try/catch does not catch it (the translator re-raises it)."""

    def __init__(self, where: str | None = None) -> None:
        super().__init__(MAXACTION_EXCEEDED, where)


class ProbeAbort(Exception):
    """abort(): leave the handler now; not an error and not catchable."""


def uncatchable(err: StapError) -> bool:
    """What a compiled try/catch must re-raise instead of handling."""
    return isinstance(err, ActionLimitError)
