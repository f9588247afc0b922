# lib.sh: shared helpers of the CLI test scripts. Source it as
#   . "$(dirname "$0")/lib.sh" "$@"
# with the script's arguments (PATH/TO/circa REPO_ROOT): it sets CIRCA (an
# absolute path) and ROOT, moves into a fresh temporary folder removed on
# exit, and defines the checks below. End the script with `finish`.
set -u
CIRCA=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ROOT=${2:-}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
have() { command -v "$1" >/dev/null 2>&1; }
# expect CODE DESCRIPTION COMMAND...: runs COMMAND, checks its exit status.
expect() {
    want=$1; what=$2; shift 2
    "$@" >out.txt 2>err.txt
    got=$?
    if [ "$got" = "$want" ]; then ok; else bad "$what: exit $got, wanted $want; stderr: $(cat err.txt)"; fi
}
# err_is PATTERN DESCRIPTION: stderr of the last command is one line matching PATTERN.
err_is() {
    if [ "$(wc -l < err.txt)" = 1 ] && grep -q "$1" err.txt; then ok; else bad "$2: stderr was: $(cat err.txt)"; fi
}
# same A B DESCRIPTION: A and B have the same bytes.
same() { if cmp -s "$1" "$2"; then ok; else bad "$3: $1 and $2 differ"; fi; }
# finish: prints the closing line and exits non-zero on any failure.
finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" = 0 ]
}
