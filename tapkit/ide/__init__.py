"""IDE features as pure functions of an analysis snapshot: what `tapkit lsp` serves, callable without a server.

    from tapkit.ide import Workspace, Settings, Position
    ws = Workspace([Path("/repo")], Settings(release="6.1.0-56-amd64"))
    ws.load_library()                                # the tapset library's declarations (background in the server)
    ws.open(uri, text, version=1)
    snap = ws.snapshot()                             # immutable: safe to use on another thread
    document_symbols(snap, uri); complete(snap, uri, Position(3, 7)); format_document(snap, uri)

Round two: the semantic pass (tapkit.ide.program: stap -p2's verdict, the editor model, the focused run
completion uses) and the debuginfo behind diagnostics, completion, hover, definition, references, rename
and code actions:

    ws.index_debuginfo(progress)                     # --debuginfo files opened (indexed once, by build-id)
    document_diagnostics(snap, uri)                  # pass 1 + pass 2, stap's wording and codes
    hover(snap, uri, pos); definition(snap, uri, pos); references(snap, uri, pos)
    rename(snap, uri, pos, "new_name")               # [TextEdit]; RenameError says why not
    code_actions(snap, uri, span); generate_edit(snap, uri, "vcache", "openafs")

Positions are tapkit's (1-based line, 1-based code-point column); ranges are tapkit.diagnostics.Span.
Each feature module defines its own small result types; lsp/conversions.py turns them into LSP's.
"""

from tapkit.ide.actions import CodeAction, code_actions, generate_edit
from tapkit.ide.completion import complete, resolve_completion
from tapkit.ide.completion_items import Completion, CompletionKind, Completions
from tapkit.ide.diagnostics import document_diagnostics
from tapkit.ide.folding import FoldingRange, FoldKind, folding_ranges, selection_ranges
from tapkit.ide.formatting import TextEdit
from tapkit.ide.hover import hover
from tapkit.ide.line_index import Encoding, LineIndex, Position
from tapkit.ide.navigation import Hover, Signature, SignatureHelp, signature_help
from tapkit.ide.references import RenameError, definition, prepare_rename, references, rename
from tapkit.ide.semantic_tokens import SemanticToken, TokenModifier, TokenType, semantic_tokens
from tapkit.ide.settings import Settings, SettingsProblem, settings_from_json
from tapkit.ide.symbols import Symbol, SymbolKind, document_symbols, workspace_symbols
from tapkit.ide.workspace import Document, DocumentKind, Snapshot, UnknownDocument, Workspace, path_to_uri, uri_to_path

__all__ = [
    "CodeAction", "Completion", "CompletionKind", "Completions", "Document", "DocumentKind", "Encoding", "FoldKind",
    "FoldingRange", "Hover", "LineIndex", "Position", "RenameError", "SemanticToken", "Settings", "SettingsProblem",
    "Signature", "SignatureHelp", "Snapshot", "Symbol", "SymbolKind", "TextEdit", "TokenModifier", "TokenType",
    "UnknownDocument", "Workspace", "code_actions", "complete", "definition", "document_diagnostics",
    "document_symbols", "folding_ranges", "generate_edit", "hover", "path_to_uri",
    "prepare_rename", "references", "rename", "resolve_completion", "selection_ranges", "semantic_tokens",
    "settings_from_json", "signature_help", "uri_to_path", "workspace_symbols",
]
