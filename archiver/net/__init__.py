"""Talking HTTP: the wire format (wire), the fetcher with its limits, redirects hop by hop and
persistent connections (fetch), what an exchange is (exchange), which addresses may be reached, the
SSRF guard (address_policy), robots.txt (robots), request headers and cookies (request_plan),
content codings (content_coding), and SURT keys (surt)."""
