"""Pass 1: SystemTap source text to a syntax tree, as stap's parser reads it.

    from tapkit.syntax import parse
    result = parse(text, "x.stp", target, macros)   # never raises; result.file, result.diagnostics

The tree is tapkit.syntax.ast (frozen values with spans); walk/children/node_at traverse it;
library_files/collect_library_macros/parse_library know the tapset library stap reads.
"""

from tapkit.syntax.library import (
    LibraryFiles,
    ParsedLibrary,
    collect_library_macros,
    library_files,
    parse_cached,
    parse_library,
    read_source,
    search_dirs,
    system_tapset_dir,
)
from tapkit.syntax.parser import LibraryMacros, ParseFailed, ParseResult, parse, parse_library_macros
from tapkit.syntax.probes import expand_probe_point, probe_point_text
from tapkit.syntax.tokens import lex
from tapkit.syntax.walk import children, comment_at, node_at, path_at, walk

__all__ = [
    "LibraryFiles", "LibraryMacros", "ParseFailed", "ParseResult", "ParsedLibrary", "children",
    "collect_library_macros", "comment_at", "expand_probe_point", "lex", "library_files", "node_at", "parse",
    "parse_cached", "parse_library", "parse_library_macros", "path_at", "probe_point_text", "read_source",
    "search_dirs", "system_tapset_dir", "walk",
]
