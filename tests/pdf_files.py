"""PDF files written here, byte by byte, for the tests that read PDFs (no library writes them)."""

from __future__ import annotations


def one_page_pdf(lines: list[tuple[int, str]], info: dict[str, str] | None = None) -> bytes:
    """A one-page PDF: each (font size, text) a line of Helvetica from the top; ``info`` its
    info dictionary (``{"Title": ..., "Author": ..., "CreationDate": "D:2026..."}``), if any."""
    text = "".join(f"BT /F1 {size} Tf 72 {760 - 40 * i} Td ({words}) Tj ET\n" for i, (size, words) in enumerate(lines))
    content = text.encode("latin-1")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    if info:
        objects.append(b"<< " + b" ".join(b"/%s (%s)" % (k.encode(), v.encode("latin-1")) for k, v in info.items())
                       + b" >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    trailer = b"/Size %d /Root 1 0 R" % (len(objects) + 1) + (b" /Info %d 0 R" % len(objects) if info else b"")
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< " + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
