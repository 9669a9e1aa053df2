# Timing helpers shared by the benchmarks (sourced; needs WORK, a scratch dir):
#   timed CMD...   run CMD, print its wall time in seconds; on failure print
#                  its output and exit
#   median N...    the median of the numbers given
now() { date +%s.%N; }
timed() {
  local t0 t1
  t0=$(now)
  if ! "$@" >"$WORK/last.log" 2>&1; then cat "$WORK/last.log" >&2; echo "benchmark command failed: $*" >&2; exit 1; fi
  t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
