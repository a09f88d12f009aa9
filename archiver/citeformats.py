"""Kept so that code written for archiver 0.1 goes on working (``from archiver.citeformats import
FORMATS``, as the README shows): the citation formats live in :mod:`archiver.citing.formats`."""

from .citing.formats import FORMATS

__all__ = ["FORMATS"]
