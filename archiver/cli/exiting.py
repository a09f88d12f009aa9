"""How the command line ends when a signal lands where a command cannot act on it: wrapped by
Python into another exception, or after the command's own handling, on the way out."""

from __future__ import annotations


def interrupted_by_signal(exc: BaseException) -> bool:
    """Whether a KeyboardInterrupt is what ``exc`` was raised from (its cause or context, a few deep):
    Python 3.11 wraps one raised inside ``__set_name__`` (a class made while a module is imported)
    in a RuntimeError."""
    seen = exc.__cause__ or exc.__context__
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def hold_signals() -> bool:
    """Block SIGINT and SIGTERM, then ignore them (a blocked one that is pending is then dropped)."""
    import signal

    held = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    for signum in held:
        signal.signal(signum, signal.SIG_IGN)
    return False
