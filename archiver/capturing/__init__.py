"""Capturing: the capture run (run: seeds, limits, sealing), one exchange's work (exchange: fetch,
robots.txt, dedup, WARC records, links), the frontier with per-host politeness (frontier), progress
on a terminal (progress) and the summary of a result (summary)."""
