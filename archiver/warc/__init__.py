"""WARC files: the writer (writer: warcinfo, request, response, revisit and conversion records, one
gzip member each) and the one reader (reader: a single pass that hashes the file and checks every
record's digests, also in byte ranges for a process pool)."""
