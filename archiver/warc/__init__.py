"""WARC files: the writer (writer: warcinfo, request, response, revisit and conversion records, one
gzip member each) and the one reader, in layers: records (one record's bytes parsed, its digests
checked as they go by), members (gzip members walked one after the other), reader (verify's single
pass that hashes a file and checks every record, also in byte ranges for a process pool; the one
file hasher) and framing (import's reading of a WARC of any framing, and its re-framing one gzip
member per record)."""
