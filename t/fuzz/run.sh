#!/bin/sh
# Runs each fuzz target named (built by `make fuzz` to build/fuzz/fuzzer/)
# for FUZZ_SECONDS, one after the other at nice 10, from its seed corpus
# t/fuzz/corpus/NAME/ (read only) and what earlier runs found
# (build/fuzz/corpus/NAME/, where new inputs go). A crash, a leak, a
# sanitizer report, a timeout or memory past FUZZ_RSS_MB is a finding,
# written to build/fuzz/findings/NAME/; the run's log is build/fuzz/NAME.log.
# Prints executions and findings per target; exits 1 if any.
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-60}
rss=${FUZZ_RSS_MB:-2048}
found=0
printf '%-14s %12s %10s %8s  %s\n' target executions exec/s corpus findings
for t in "$@"; do
	rm -rf "build/fuzz/findings/$t"
	mkdir -p "build/fuzz/corpus/$t" "build/fuzz/findings/$t"
	nice -n 10 "build/fuzz/fuzzer/$t" -max_total_time="$seconds" -rss_limit_mb="$rss" \
		-timeout=25 -print_final_stats=1 -artifact_prefix="build/fuzz/findings/$t/" \
		"build/fuzz/corpus/$t" "t/fuzz/corpus/$t" >"build/fuzz/$t.log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "build/fuzz/$t.log" | tail -1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "build/fuzz/$t.log" | tail -1)
	corpus=$(ls "build/fuzz/corpus/$t" | wc -l)
	n=$(ls "build/fuzz/findings/$t" | wc -l)
	what=$(ls "build/fuzz/findings/$t" | tr '\n' ' ')
	[ "$rc" != 0 ] && [ "$n" = 0 ] && what="exit $rc, see build/fuzz/$t.log"
	[ "$rc" != 0 ] || [ "$n" != 0 ] && found=1
	printf '%-14s %12s %10s %8s  %s\n' "$t" "${execs:-?}" "${speed:-?}" "$corpus" "${what:-none}"
done
exit $found
