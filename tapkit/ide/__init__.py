"""IDE features as pure functions of an analysis snapshot: what `tapkit lsp` serves, callable without a server.

    from tapkit.ide import Workspace, Settings, Position
    ws = Workspace([Path("/repo")], Settings(release="6.1.0-56-amd64"))
    ws.load_library()                                # the tapset library's declarations (background in the server)
    ws.open(uri, text, version=1)
    snap = ws.snapshot()                             # immutable: safe to use on another thread
    document_symbols(snap, uri); complete(snap, uri, Position(3, 7)); format_document(snap, uri)

Positions are tapkit's (1-based line, 1-based code-point column); ranges are tapkit.diagnostics.Span.
Each feature module defines its own small result types; lsp/conversions.py turns them into LSP's.
"""

from tapkit.ide.completion import Completion, CompletionKind, Completions, complete
from tapkit.ide.diagnostics import document_diagnostics
from tapkit.ide.folding import FoldingRange, FoldKind, folding_ranges, selection_ranges
from tapkit.ide.line_index import Encoding, LineIndex, Position
from tapkit.ide.navigation import Hover, Signature, SignatureHelp, definition, hover, signature_help
from tapkit.ide.semantic_tokens import SemanticToken, TokenModifier, TokenType, semantic_tokens
from tapkit.ide.settings import Settings, SettingsProblem, settings_from_json
from tapkit.ide.symbols import Symbol, SymbolKind, document_symbols, workspace_symbols
from tapkit.ide.workspace import Document, DocumentKind, Snapshot, UnknownDocument, Workspace, path_to_uri, uri_to_path

__all__ = [
    "Completion", "CompletionKind", "Completions", "Document", "DocumentKind", "Encoding", "FoldKind", "FoldingRange",
    "Hover", "LineIndex", "Position", "SemanticToken", "Settings", "SettingsProblem", "Signature", "SignatureHelp",
    "Snapshot", "Symbol", "SymbolKind", "TokenModifier", "TokenType", "UnknownDocument", "Workspace", "complete",
    "definition", "document_diagnostics", "document_symbols", "folding_ranges", "hover", "path_to_uri",
    "selection_ranges", "semantic_tokens", "settings_from_json", "signature_help", "uri_to_path",
    "workspace_symbols",
]
