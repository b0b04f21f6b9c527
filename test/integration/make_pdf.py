#!/usr/bin/env python3
"""Writes a minimal one-page PDF (a catalog, one page with one line of text, a correct xref
table) to argv[1]: the document the signing tests sign. With a second argument NAME, the page
also holds an empty signature field of that name (an AcroForm /Sig widget), for signers that
sign into an existing field (pdfsig -sign NAME)."""
import sys
field = sys.argv[2].encode() if len(sys.argv) > 2 else None
catalog = b"<< /Type /Catalog /Pages 2 0 R >>"
page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >>"
if field:
    catalog = b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R] /SigFlags 3 >> >>"
    page += b" /Annots [6 0 R]"
page += b" >>"
text = b"BT /F1 24 Tf 72 760 Td (JPKI test document) Tj ET"
objs = [
 catalog,
 b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
 page,
 b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
 b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
]
if field:
    objs.append(b"<< /Type /Annot /Subtype /Widget /FT /Sig /T (" + field + b") /Rect [72 600 272 650] /P 3 0 R /F 4 >>")
out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
offsets = []
for i, o in enumerate(objs, 1):
    offsets.append(len(out))
    out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
xref = len(out)
out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
for off in offsets:
    out += b"%010d 00000 n \n" % off
out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
open(sys.argv[1], "wb").write(out)
