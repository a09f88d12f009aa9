"""The command line: argument parsing (app), the commands (commands), what they print (output)."""

from .app import main

__all__ = ["main"]
