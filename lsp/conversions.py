"""tapkit.ide's answers as lsprotocol types, and LSP positions as tapkit's.

The only place that knows both: 0-based lines, columns in the client's code units
(UTF-16 unless negotiated otherwise) on the LSP side; 1-based lines and code-point
columns (tapkit.diagnostics.Span, tapkit.ide.Position) on ours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from lsprotocol import types as T

from tapkit import ide
from tapkit.diagnostics import Diagnostic, Severity, Span
from tapkit.ide.formatting import FormatOptions, TextEdit
from tapkit.ide.line_index import Encoding, LineIndex, Position

IndexFor = Callable[[str], LineIndex | None]  # a span's file name -> its text's line index
UriFor = Callable[[str], str]  # a span's file name -> its URI

TOKEN_TYPES = ["keyword", "function", "variable", "parameter", "property", "type", "namespace", "event", "macro",
               "string", "number", "comment", "operator"]
TOKEN_MODIFIERS = ["declaration", "readonly", "static", "defaultLibrary", "documentation"]
LEGEND = T.SemanticTokensLegend(token_types=TOKEN_TYPES, token_modifiers=TOKEN_MODIFIERS)
# Inactive %( %) branches are shown as comments: every editor colours those without configuration.
_TOKEN_TYPE_NAMES = {t: ("comment" if t is ide.TokenType.INACTIVE else t.value) for t in ide.TokenType}


def encoding(kind: T.PositionEncodingKind | str | None) -> Encoding:
    value = kind.value if isinstance(kind, T.PositionEncodingKind) else kind
    return {"utf-8": Encoding.UTF8, "utf-32": Encoding.UTF32}.get(value or "", Encoding.UTF16)


# ---------------------------------------------------------------- positions

def position(p: T.Position, index: LineIndex, enc: Encoding) -> Position:
    return index.from_editor(p.line, p.character, enc)


def lsp_position(line: int, column: int, index: LineIndex, enc: Encoding) -> T.Position:
    ln, ch = index.to_editor(Position(line, column), enc)
    return T.Position(line=ln, character=ch)


def lsp_range(span: Span, index: LineIndex, enc: Encoding) -> T.Range:
    return T.Range(start=lsp_position(span.line, span.column, index, enc),
                   end=lsp_position(span.end_line, span.end_column, index, enc))


def location(span: Span, index_for: IndexFor, uri_for: UriFor, enc: Encoding) -> T.Location | None:
    index = index_for(span.file)
    if index is None:
        return None
    return T.Location(uri=uri_for(span.file), range=lsp_range(span, index, enc))


# ---------------------------------------------------------------- diagnostics

_SEVERITY = {Severity.ERROR: T.DiagnosticSeverity.Error, Severity.WARNING: T.DiagnosticSeverity.Warning,
             Severity.INFO: T.DiagnosticSeverity.Information, Severity.HINT: T.DiagnosticSeverity.Hint}


def diagnostic(d: Diagnostic, index: LineIndex, enc: Encoding, index_for: IndexFor, uri_for: UriFor,
               related_support: bool = True) -> T.Diagnostic:
    message = d.message + (f" (saw: {d.saw})" if d.saw else "")
    related = []
    for r in d.related:
        loc = location(r.span, index_for, uri_for, enc)
        if loc is not None:
            related.append(T.DiagnosticRelatedInformation(location=loc, message=r.message))
    if not related_support and d.related:
        message += "".join(f"\n{r.message} at {r.span}" for r in d.related)
    return T.Diagnostic(range=lsp_range(d.span, index, enc), message=message, severity=_SEVERITY[d.severity],
                        code=d.code, source=f"tapkit {d.kind}",
                        related_information=related if related and related_support else None)


# ---------------------------------------------------------------- outline, folding, selection

_SYMBOL_KINDS = {
    ide.SymbolKind.PROBE: T.SymbolKind.Event, ide.SymbolKind.ALIAS: T.SymbolKind.Event,
    ide.SymbolKind.FUNCTION: T.SymbolKind.Function, ide.SymbolKind.GLOBAL: T.SymbolKind.Variable,
    ide.SymbolKind.ARRAY: T.SymbolKind.Array, ide.SymbolKind.MACRO: T.SymbolKind.Constant,
    ide.SymbolKind.PARAMETER: T.SymbolKind.Variable, ide.SymbolKind.LOCAL: T.SymbolKind.Variable,
    ide.SymbolKind.EMBEDDED: T.SymbolKind.Namespace,
}


def document_symbols(symbols: Sequence[ide.Symbol], index: LineIndex, enc: Encoding) -> list[T.DocumentSymbol]:
    out = []
    for s in symbols:
        rng = lsp_range(s.span, index, enc)
        sel = lsp_range(s.selection_span, index, enc)
        if not _within(sel, rng):
            sel = T.Range(start=rng.start, end=rng.start)  # LSP wants the name inside the whole
        out.append(T.DocumentSymbol(name=s.name or "?", kind=_SYMBOL_KINDS[s.kind], range=rng, selection_range=sel,
                                    detail=s.detail or None,
                                    children=document_symbols(s.children, index, enc) if s.children else None))
    return out


def _within(inner: T.Range, outer: T.Range) -> bool:
    def key(p: T.Position) -> tuple[int, int]:
        return (p.line, p.character)
    return key(outer.start) <= key(inner.start) and key(inner.end) <= key(outer.end)


def workspace_symbols(symbols: Iterable[ide.Symbol], index_for: IndexFor, uri_for: UriFor,
                      enc: Encoding) -> list[T.SymbolInformation]:
    """SymbolInformation rather than 3.17's WorkspaceSymbol: every client reads it (Neovim 0.7, Emacs 28)."""
    out = []
    for s in symbols:
        loc = location(s.selection_span, index_for, uri_for, enc)
        if loc is not None:
            out.append(T.SymbolInformation(name=s.name, kind=_SYMBOL_KINDS[s.kind], location=loc,
                                           container_name=s.container or None))
    return out


def folding_ranges(folds: Iterable[ide.FoldingRange]) -> list[T.FoldingRange]:
    kinds = {ide.FoldKind.REGION: T.FoldingRangeKind.Region, ide.FoldKind.COMMENT: T.FoldingRangeKind.Comment}
    return [T.FoldingRange(start_line=f.start_line - 1, end_line=f.end_line - 1, kind=kinds[f.kind]) for f in folds]


def selection_ranges(chains: Iterable[list[Span]], index: LineIndex, enc: Encoding) -> list[T.SelectionRange]:
    out = []
    for chain in chains:
        node: T.SelectionRange | None = None
        for span in reversed(chain):
            node = T.SelectionRange(range=lsp_range(span, index, enc), parent=node)
        assert node is not None
        out.append(node)
    return out


# ---------------------------------------------------------------- highlighting

def semantic_tokens(tokens: Iterable[ide.SemanticToken], index: LineIndex, enc: Encoding) -> T.SemanticTokens:
    data: list[int] = []
    prev_line = prev_char = 0
    for t in tokens:
        line, start = index.to_editor(Position(t.line, t.column), enc)
        _, end = index.to_editor(Position(t.line, t.end_column), enc)
        if end <= start:
            continue
        mods = 0
        for m in t.modifiers:
            mods |= 1 << TOKEN_MODIFIERS.index(m.value)
        delta_char = start - prev_char if line == prev_line else start
        data += [line - prev_line, delta_char, end - start, TOKEN_TYPES.index(_TOKEN_TYPE_NAMES[t.type]), mods]
        prev_line, prev_char = line, start
    return T.SemanticTokens(data=data)


# ---------------------------------------------------------------- editing

def format_options(options: T.FormattingOptions) -> FormatOptions:
    return FormatOptions("\t" if not options.insert_spaces else " " * max(options.tab_size, 1))


def text_edits(edits: Iterable[TextEdit], index: LineIndex, enc: Encoding) -> list[T.TextEdit]:
    return [T.TextEdit(range=lsp_range(e.span, index, enc), new_text=e.new_text) for e in edits]


_COMPLETION_KINDS = {
    ide.CompletionKind.KEYWORD: T.CompletionItemKind.Keyword, ide.CompletionKind.SNIPPET: T.CompletionItemKind.Snippet,
    ide.CompletionKind.FUNCTION: T.CompletionItemKind.Function,
    ide.CompletionKind.VARIABLE: T.CompletionItemKind.Variable,
    ide.CompletionKind.PARAMETER: T.CompletionItemKind.Variable,
    ide.CompletionKind.GLOBAL: T.CompletionItemKind.Variable, ide.CompletionKind.MACRO: T.CompletionItemKind.Constant,
    ide.CompletionKind.PROBE: T.CompletionItemKind.Event, ide.CompletionKind.CONSTANT: T.CompletionItemKind.Constant,
    ide.CompletionKind.TYPE: T.CompletionItemKind.Struct, ide.CompletionKind.FIELD: T.CompletionItemKind.Field,
    ide.CompletionKind.MODULE: T.CompletionItemKind.Module, ide.CompletionKind.FILE: T.CompletionItemKind.File,
    ide.CompletionKind.FOLDER: T.CompletionItemKind.Folder,
}


def completions(result: ide.Completions, index: LineIndex, enc: Encoding, snippets: bool,
                uri: str) -> T.CompletionList:
    rng = lsp_range(result.replace, index, enc)
    items = []
    for c in result.items:
        use_snippet = c.snippet and snippets
        text = c.insert_text if (c.insert_text is not None and (use_snippet or not c.snippet)) else c.label
        if c.snippet and not snippets and c.insert_text is not None and "(" in c.insert_text:
            text = c.insert_text.split("(", 1)[0]  # no snippets: just the name
        items.append(T.CompletionItem(
            label=c.label, kind=_COMPLETION_KINDS[c.kind], detail=c.detail or None,
            documentation=T.MarkupContent(kind=T.MarkupKind.Markdown, value=c.documentation) if c.documentation
            else None,
            sort_text=f"{c.sort_key}{c.label}" if c.sort_key else None, filter_text=c.filter_text,
            insert_text_format=T.InsertTextFormat.Snippet if use_snippet else T.InsertTextFormat.PlainText,
            text_edit=T.TextEdit(range=rng, new_text=text),
            data={"uri": uri, "resolve": list(c.resolve)} if c.resolve else None))
    return T.CompletionList(is_incomplete=result.incomplete, items=items)


def resolved_completion(item: T.CompletionItem, found: ide.Completion) -> T.CompletionItem:
    """item with the detail and documentation completionItem/resolve found."""
    item.detail = found.detail or item.detail
    if found.documentation:
        item.documentation = T.MarkupContent(kind=T.MarkupKind.Markdown, value=found.documentation)
    item.data = None
    return item


def completion_to_resolve(item: T.CompletionItem) -> tuple[str, ide.Completion] | None:
    """The document and the tapkit item a completionItem/resolve request is about (None: nothing to add)."""
    data = item.data
    if not isinstance(data, dict) or not isinstance(data.get("uri"), str) or not isinstance(data.get("resolve"), list):
        return None
    kinds: dict[int, ide.CompletionKind] = {v: k for k, v in _COMPLETION_KINDS.items()}
    kind = kinds.get(int(item.kind or T.CompletionItemKind.Text), ide.CompletionKind.PROBE)
    return data["uri"], ide.Completion(item.label, kind, item.detail or "",
                                       resolve=tuple(str(x) for x in data["resolve"]))


def signature_help(help: ide.SignatureHelp) -> T.SignatureHelp:
    sigs = []
    for s in help.signatures:
        params = [T.ParameterInformation(label=p, documentation=(s.param_docs[i] or None)
                                         if i < len(s.param_docs) else None) for i, p in enumerate(s.params)]
        doc = T.MarkupContent(kind=T.MarkupKind.Markdown, value=s.documentation) if s.documentation else None
        sigs.append(T.SignatureInformation(label=s.label, documentation=doc, parameters=params))
    return T.SignatureHelp(signatures=sigs, active_signature=help.active_signature,
                           active_parameter=help.active_parameter)


def hover(h: ide.Hover, index: LineIndex, enc: Encoding) -> T.Hover:
    return T.Hover(contents=T.MarkupContent(kind=T.MarkupKind.Markdown, value=h.markdown),
                   range=lsp_range(h.span, index, enc))


# ---------------------------------------------------------------- references, rename, code actions

def locations(spans: Iterable[Span], index_for: IndexFor, uri_for: UriFor, enc: Encoding) -> list[T.Location]:
    found = (location(s, index_for, uri_for, enc) for s in spans)
    return [loc for loc in found if loc is not None]


def workspace_edit(edits: Iterable[TextEdit], index_for: IndexFor, uri_for: UriFor, enc: Encoding) -> T.WorkspaceEdit:
    """Edits whose spans name their files, grouped by document."""
    changes: dict[str, list[T.TextEdit]] = {}
    for e in edits:
        index = index_for(e.span.file)
        if index is not None:
            changes.setdefault(uri_for(e.span.file), []).append(
                T.TextEdit(range=lsp_range(e.span, index, enc), new_text=e.new_text))
    return T.WorkspaceEdit(changes=changes)


def span_of(rng: T.Range, filename: str, index: LineIndex, enc: Encoding) -> Span:
    start, end = position(rng.start, index, enc), position(rng.end, index, enc)
    return Span(filename, start.line, start.column, end.line, end.column)


def code_action(action: ide.CodeAction, uri: str, index: LineIndex, index_for: IndexFor, uri_for: UriFor,
                enc: Encoding, related: bool) -> T.CodeAction:
    fixes = [diagnostic(action.diagnostic, index, enc, index_for, uri_for, related)] if action.diagnostic else None
    return T.CodeAction(title=action.title, kind=action.kind, diagnostics=fixes,
                        is_preferred=action.preferred or None,
                        edit=workspace_edit(action.edits, index_for, uri_for, enc) if action.edits else None,
                        data={"uri": uri, "resolve": list(action.resolve)} if action.resolve else None)


def action_to_resolve(action: T.CodeAction) -> tuple[str, tuple[str, ...]] | None:
    data = action.data
    if not isinstance(data, dict) or not isinstance(data.get("uri"), str) or not isinstance(data.get("resolve"), list):
        return None
    return data["uri"], tuple(str(x) for x in data["resolve"])
