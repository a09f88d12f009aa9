"""Citations: what is cited, from the index and the page's metadata (citations), and the output
formats (formats: CSL-JSON, APA, MLA, Chicago, BibTeX, RIS, Robust Links, Markdown)."""
