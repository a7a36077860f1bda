#!/bin/sh
# ingest-cli.sh: `harness ingest` end to end on spool files written here
# byte by byte (after harness/spool/spool.h): a second pass stores nothing,
# a torn tail waits, bad input exits 65.
set -u
harness=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail=0
failed_here=0
say() { [ "$failed_here" -eq 0 ] && echo "ok   $*"; failed_here=0; }
bad() { echo "FAIL $*"; fail=1; failed_here=1; }

# spool.py DIR: two spool files of three spans each, and spool.py --torn
# FILE / --version9 FILE for the odd cases.
cat >spool.py <<'PY'
import struct, sys

def crc32c(data, crc=0):
    crc ^= 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xffffffff

def s16(s):
    b = s.encode()
    return struct.pack("<H", len(b)) + b

def header(service, pid, version=1):
    body = struct.pack("<QI", 1700000000000000000, pid) + s16(service) + s16("node-1")
    total = 8 + 4 + 4 + len(body) + 4
    h = b"HTSPOOL\n" + struct.pack("<II", version, total) + body
    return h + struct.pack("<I", crc32c(h))

def span(i, kind=6):
    p = bytes([0xa0 + i % 2]) * 16
    p += struct.pack("<QQQQII", i + 1, 0 if i == 0 else 1, 1000 + i, 50, 0, 7)
    p += struct.pack("<BBHHH", kind, 0, 1, 0, 0)
    p += s16("SELECT %d" % i) + s16("") + s16("") + s16("")
    p += s16("db.response.returned_rows") + bytes([2]) + struct.pack("<q", i)
    rec = struct.pack("<HBBI", 0x5EB7, 1, 1, len(p)) + p
    return rec + struct.pack("<I", crc32c(rec))

if sys.argv[1] == "--torn":
    with open(sys.argv[2], "ab") as f:
        r = span(9)
        f.write(r[: len(r) // 2])
elif sys.argv[1] == "--finish":
    with open(sys.argv[2], "ab") as f:
        r = span(9)
        f.write(r[len(r) // 2 :])
elif sys.argv[1] == "--version9":
    with open(sys.argv[2], "wb") as f:
        f.write(header("api", 1, version=9))
else:
    for name, pid in (("api", 10), ("scheduler", 20)):
        with open("%s/%s-%d.htspool" % (sys.argv[1], name, pid), "wb") as f:
            f.write(header(name, pid))
            for i in range(3):
                f.write(span(i))
PY
mkdir spool
$py spool.py spool || { echo "FAIL cannot write spool files"; exit 1; }

out=$("$harness" ingest --store s.db spool 2>&1)
rc=$?
[ "$rc" -eq 0 ] || bad "first pass: exit $rc: $out"
[ "$out" = "ingested 6 spans from 2 files" ] || bad "first pass said: $out"
say "first pass"

out=$("$harness" ingest --store s.db spool 2>&1)
rc=$?
[ "$rc" -eq 0 ] || bad "second pass: exit $rc: $out"
[ "$out" = "ingested 0 spans from 2 files" ] || bad "second pass said: $out"
say "second pass stores nothing"

$py spool.py --torn spool/api-10.htspool
out=$("$harness" ingest --store s.db spool/api-10.htspool 2>&1)
rc=$?
[ "$rc" -eq 0 ] || bad "torn tail: exit $rc: $out"
echo "$out" | grep -q "^ingested 0 spans from 1 file; 1 file ends in a record still being written$" ||
	bad "torn tail said: $out"
$py spool.py --finish spool/api-10.htspool
out=$("$harness" ingest --store s.db spool 2>&1)
[ "$out" = "ingested 1 span from 2 files" ] || bad "finished tail said: $out"
say "torn tail waits, then is read"

$py spool.py --version9 v9.htspool
err=$("$harness" ingest --store s.db v9.htspool 2>&1 >/dev/null)
rc=$?
[ "$rc" -eq 65 ] || bad "unknown version: exit $rc, want 65"
echo "$err" | grep -q "unknown spool format version 9" ||
	bad "unknown version said: $err"
say "unknown version exits 65"

echo "just text" >notes.txt
"$harness" ingest --store s.db notes.txt >/dev/null 2>&1
rc=$?
[ "$rc" -eq 65 ] || bad "text file: exit $rc, want 65"
cp notes.txt notes.orig
"$harness" ingest --store notes.txt spool >/dev/null 2>&1
rc=$?
[ "$rc" -eq 65 ] || bad "text file as store: exit $rc, want 65"
cmp -s notes.txt notes.orig || bad "text file as store was changed"
say "bad input exits 65"

"$harness" ingest --store s.db --run 999 spool >/dev/null 2>&1
rc=$?
[ "$rc" -eq 65 ] || bad "unknown run: exit $rc, want 65"
"$harness" ingest --store s.db >/dev/null 2>&1
rc=$?
[ "$rc" -eq 64 ] || bad "no path: exit $rc, want 64"
say "unknown run and no path"
exit $fail
