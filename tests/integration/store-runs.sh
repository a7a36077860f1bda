#!/bin/sh
# store-runs.sh: `harness runs` on a new store prints one line and exits 0
# without creating the file; on a text file or someone else's SQLite file
# it exits 65 and leaves the file exactly as it was.
set -u
harness=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail=0
failed_here=0
say() { [ "$failed_here" -eq 0 ] && echo "ok   $*"; failed_here=0; }
bad() { echo "FAIL $*"; fail=1; failed_here=1; }

out=$("$harness" runs --store new.db 2>&1)
rc=$?
[ "$rc" -eq 0 ] || bad "new store: exit $rc, want 0"
[ "$out" = "no runs in 'new.db' yet; make one with 'harness run boot-vm'" ] ||
	bad "new store printed: $out"
[ ! -e new.db ] || bad "runs created new.db"
say "new store"

# unchanged FILE SNAPSHOT: same bytes and modification time, no WAL.
check_refused() {
	name=$1 file=$2
	cp -p "$file" "$file.orig"
	before=$(stat -c %y "$file")
	err=$("$harness" runs --store "$file" 2>&1 >/dev/null)
	rc=$?
	[ "$rc" -eq 65 ] || bad "$name: exit $rc, want 65"
	echo "$err" | grep -q "is not a harness store" ||
		bad "$name: message: $err"
	cmp -s "$file" "$file.orig" || bad "$name: file changed"
	[ "$(stat -c %y "$file")" = "$before" ] || bad "$name: mtime changed"
	[ ! -e "$file-wal" ] && [ ! -e "$file-journal" ] ||
		bad "$name: journal left beside it"
	say "$name"
}

printf 'version: 1\nstore: harness.db\n' >notes.txt
check_refused text-file notes.txt

if /usr/bin/python3 -c 'import sqlite3' 2>/dev/null; then
	/usr/bin/python3 - <<'PY'
import sqlite3
db = sqlite3.connect("other.db")
db.execute("CREATE TABLE inventory(item TEXT, qty INTEGER)")
db.execute("INSERT INTO inventory VALUES ('bolts', 12)")
db.commit()
db.close()
PY
	check_refused foreign-sqlite other.db
else
	say "skip foreign-sqlite: no python3 sqlite3 module"
fi

# Without --store, the store of the config ($HARNESS_CONFIG) is used.
printf 'version: 1\nstore: from-config.db\n' >h.yaml
out=$(HARNESS_CONFIG=h.yaml "$harness" runs 2>&1)
rc=$?
[ "$rc" -eq 0 ] || bad "config store: exit $rc, want 0"
[ "$out" = "no runs in '$(pwd -P)/from-config.db' yet; make one with 'harness run boot-vm'" ] ||
	bad "config store printed: $out"
say "config store"
HARNESS_CONFIG=missing.yaml "$harness" runs >/dev/null 2>&1
rc=$?
[ "$rc" -eq 78 ] || bad "missing config: exit $rc, want 78"
say "missing config"

"$harness" runs --store new.db --limit nope >/dev/null 2>&1
rc=$?
[ "$rc" -eq 64 ] || bad "bad --limit: exit $rc, want 64"
say "bad limit"
exit $fail
