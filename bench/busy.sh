#!/usr/bin/env bash
# busy.sh - generation speed on a busy machine: `logitlab generate` at two thread counts
# (default -t 1 and -t 2) while `yes > /dev/null` keeps one CPU busy beside it, the two
# runs interleaved round by round (which goes first alternates), then each thread count's
# median tokens/s and the median of the per-round ratios (second / first). A second thread
# that cannot get a core must not slow generation down: the ratio should be >= 1.
#
#   bench/busy.sh [options] [MODEL...]      (no MODEL, or 'embedded': the embedded model)
#     -r N        rounds (default 5)
#     -n N        generated tokens per run (default 128)
#     -t A,B      the two thread counts (default 1,2)
#     -b N        busy processes beside it (default 1; 0 measures the idle machine)
#     -l PATH     the logitlab binary (default: build/logitlab next to this script)
#     -o FILE     also write every sample as TSV (model threads round tokens/s)
#
# The script starts its own `yes` processes and kills them when it exits (also on ^C).
# Other load on the machine shows in the spread: run it on a quiet machine, or several
# times. Needs bash, awk and sed.
set -euo pipefail

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }

rounds=5 tokens=128 threads=1,2 busy=1 raw=""
here=$(cd "$(dirname "$0")" && pwd)
ll="$here/../build/logitlab"
while getopts "r:n:t:b:l:o:h" opt; do
    case $opt in
    r) rounds=$OPTARG ;;
    n) tokens=$OPTARG ;;
    t) threads=$OPTARG ;;
    b) busy=$OPTARG ;;
    l) ll=$OPTARG ;;
    o) raw=$OPTARG ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))

die() { echo "busy.sh: $*" >&2; exit 2; }
[[ $rounds =~ ^[1-9][0-9]{0,3}$ ]] || die "-r '$rounds' is not a count: valid is 1 to 9999"
[[ $tokens =~ ^[1-9][0-9]{0,5}$ ]] || die "-n '$tokens' is not a count: valid is 1 to 999999"
[[ $busy =~ ^[0-9]{1,3}$ ]] || die "-b '$busy' is not a count: valid is 0 to 999"
[[ $threads =~ ^([1-9][0-9]{0,2}),([1-9][0-9]{0,2})$ ]] || die "-t '$threads' is not two thread counts like 1,2"
ta=${BASH_REMATCH[1]} tb=${BASH_REMATCH[2]}
[ -x "$ll" ] || die "$ll is not an executable file (pass the logitlab binary with -l)"
for f in "$@"; do [ "$f" = embedded ] || [ -r "$f" ] || die "cannot read model file '$f'"; done
[ $# -ge 1 ] || set -- embedded

tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1) ($(nproc) CPUs for this process)"
echo "logitlab: $ll ($(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $busy busy process(es) beside it"
echo "generate: $tokens tokens, greedy; -t $ta against -t $tb; $rounds rounds, interleaved"

for ((i = 0; i < busy; i++)); do
    yes >/dev/null &
    pids+=($!)
done
sleep 0.2 # let them take their CPUs

samples="$tmp/samples.tsv"
: >"$samples"
# One run: appends "model threads round tokens/s".
run() {
    local f=$1 t=$2 r=$3 model_flag=()
    [ "$f" = embedded ] || model_flag=(-m "$f")
    "$ll" generate "${model_flag[@]}" -p "In the beginning" --max-new-tokens "$tokens" --ignore-eos \
        --temperature 0 -t "$t" --json --quiet >"$tmp/out.json" 2>"$tmp/err" ||
        { cat "$tmp/err" >&2; die "logitlab generate -t $t failed on '$f'"; }
    local v
    v=$(sed -n 's/.*"generated_tokens_per_second": *\([0-9.eE+-]*\).*/\1/p' "$tmp/out.json")
    [ -n "$v" ] || die "no generated_tokens_per_second in the output of -t $t on '$f'"
    printf '%s\t%s\t%s\t%s\n' "$f" "$t" "$r" "$v" >>"$samples"
}

for ((r = 1; r <= rounds; r++)); do
    for f in "$@"; do
        if ((r % 2)); then run "$f" "$ta" "$r"; run "$f" "$tb" "$r"; else run "$f" "$tb" "$r"; run "$f" "$ta" "$r"; fi
    done
done
[ -z "$raw" ] || cp "$samples" "$raw"

awk -F'\t' -v ta="$ta" -v tb="$tb" '
function median(arr, n,    i, j, t) {
    for (i = 2; i <= n; i++) for (j = i; j > 1 && arr[j - 1] > arr[j]; j--) { t = arr[j]; arr[j] = arr[j - 1]; arr[j - 1] = t }
    return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2
}
function range(arr, n,    i, lo, hi) {
    lo = hi = arr[1]
    for (i = 2; i <= n; i++) { if (arr[i] < lo) lo = arr[i]; if (arr[i] > hi) hi = arr[i] }
    return sprintf("%.2f-%.2f", lo, hi)
}
{ v[$1, $2, $3] = $4; if (!($1 in seen)) { seen[$1] = 1; order[++nm] = $1 } if ($3 > R) R = $3 }
END {
    printf "%-32s %22s %22s %22s\n", "model", "-t " ta " tokens/s", "-t " tb " tokens/s", "ratio " tb "/" ta
    for (k = 1; k <= nm; k++) {
        m = order[k]; n = 0
        for (r = 1; r <= R; r++) if ((m, ta, r) in v && (m, tb, r) in v) { n++; a[n] = v[m, ta, r]; b[n] = v[m, tb, r]; q[n] = b[n] / a[n] }
        ra = range(a, n); rb = range(b, n); rq = range(q, n)
        printf "%-32s %8.1f (%s) %8.1f (%s) %6.2f (%s)\n", m, median(a, n), ra, median(b, n), rb, median(q, n), rq
    }
    print "(medians over the rounds, ranges in brackets; the ratio is the median of the per-round ratios)"
}' "$samples"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
