#!/bin/sh
# compile-header.sh: compile a file that includes one public header, alone,
# with strict flags. Usage: compile-header.sh <include dir> <file.c> <cc...>
set -eu
incdir=$1
src=$2
shift 2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$@" -std=c99 -pedantic -Wall -Wextra -Werror -I"$incdir" -c "$src" -o "$out"
echo "ok: $(basename "$src") compiles with -std=c99 -pedantic -Werror"
