"""tapkit: a toolkit and language server for SystemTap scripts and tapsets."""

__version__ = "0.1.0"
