"""Subcommands of the tapkit CLI, one module each."""
