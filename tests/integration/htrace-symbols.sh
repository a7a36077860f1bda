#!/bin/sh
# htrace-symbols.sh: libhtrace must never print, exit or abort inside the
# service that links it. Check what the shared library imports: none of the
# C library's printing, exiting or aborting functions may be among them.
# Usage: htrace-symbols.sh LIBHTRACE.so
set -u
lib=$1
forbidden='printf fprintf vprintf vfprintf dprintf vdprintf puts fputs fputc putc
putchar fwrite perror psignal abort exit _exit _Exit quick_exit __assert_fail
__assert_perror_fail err errx verr verrx warn warnx vwarn vwarnx syslog vsyslog
__printf_chk __fprintf_chk __vfprintf_chk __dprintf_chk'
imports=$(nm -D --undefined-only "$lib" | awk '{ sub(/@.*/, "", $NF); print $NF }')
[ -n "$imports" ] || { echo "FAIL cannot read the imports of $lib"; exit 1; }
fail=0
for f in $forbidden; do
	if printf '%s\n' "$imports" | grep -qx "$f"; then
		echo "FAIL libhtrace imports $f"
		fail=1
	fi
done
# And what it exports is only the public API.
exports=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBR]/ { print $3 }' |
	grep -v '^_' | grep -v '^htrace_')
if [ -n "$exports" ]; then
	echo "FAIL symbols outside htrace_ exported: $exports"
	fail=1
fi
[ $fail -eq 0 ] && echo "ok   libhtrace imports no print/exit/abort function and exports only htrace_*"
exit $fail
