#!/usr/bin/env bash
# fuzz.sh PACKAGE TARGET FUZZTIME: fuzz one target (make fuzz, make fuzz-short).
#
# With FUZZ_QUIET=1 the output of go test is shown only when the target fails (make fuzz-short
# runs two at a time); otherwise it streams. Extra go test flags come in FUZZ_FLAGS.
#
# Go 1.26's fuzzing coordinator can report "context deadline exceeded" as the target's failure
# when -fuzztime runs out while a worker is in the middle of a call (go.dev/issue/75804, fixed
# in Go 1.27). That report finds nothing: a real finding always writes its input to
# testdata/fuzz/ and says so. Exactly that report, with no input written, counts as a pass here;
# anything else that fails is a failure.
set -u -o pipefail

pkg=$1 target=$2 fuzztime=$3
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# shellcheck disable=SC2086 # FUZZ_FLAGS is a list of flags
if [ "${FUZZ_QUIET:-}" = 1 ]; then
	${GO:-go} test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" ${FUZZ_FLAGS:-} "$pkg" >"$out" 2>&1
else
	echo "== $pkg $target ($fuzztime)"
	${GO:-go} test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" ${FUZZ_FLAGS:-} "$pkg" 2>&1 | tee "$out"
fi
rc=$?
if [ "$rc" -eq 0 ]; then
	[ "${FUZZ_QUIET:-}" = 1 ] && echo "ok   $pkg $target ($fuzztime)"
	exit 0
fi

# The coordinator's deadline report: "--- FAIL: Target (T)" followed by exactly this line.
deadline_only=$(awk -v t="$target" '
	$0 ~ "^--- FAIL: " t " " { fail = 1; next }
	fail == 1 { if ($0 ~ /^[ \t]+context deadline exceeded$/) found = 1; fail = 2 }
	END { print (found ? "yes" : "no") }' "$out")
if [ "$deadline_only" = yes ] && ! grep -q 'Failing input written to' "$out"; then
	echo "ok   $pkg $target ($fuzztime; the fuzzing coordinator's end-of-time report go.dev/issue/75804, nothing found)"
	exit 0
fi
if [ "${FUZZ_QUIET:-}" = 1 ]; then
	echo "FAIL $pkg $target ($fuzztime)"
	cat "$out"
fi
exit 1
