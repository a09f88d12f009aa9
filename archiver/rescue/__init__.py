"""Rescue a manuscript: find every URL a document cites (``found``, one parser per format, with the
position of each occurrence), capture them all in one sealed capture (``run``), and write the
document back beside itself with Robust Links, changed only at the links (``rewrite``), with a
report per URL kept in the workspace (``report``)."""
