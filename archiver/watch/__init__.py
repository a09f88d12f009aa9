"""Keeping watch: scheduled runs (runs), change detection on main text (drift), and the rot and
drift report (report)."""
