"""Thin pygls handlers for `tapkit lsp`; installed as tapkit_lsp (PyPI owns `lsp`)."""
