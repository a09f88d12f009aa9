"""Driving a browser and recording what it requests: a per-capture certificate authority, a
recording proxy that hands every request to the capture's fetcher, and the Chromium driver."""
