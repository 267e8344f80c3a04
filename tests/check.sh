# check.sh - what the shell tests share (sourced): a scratch directory
# removed on exit, pass/fail counters, and the summary that sets the
# script's exit status.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
pass=0
check() { # description, command status (0 = ok)
  if [ "$2" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi
}
has() { grep -q -- "$2" "$1"; }
# the last command of a test: its counts, and its status (0 when nothing failed)
finish() { # name
  echo "$1: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
