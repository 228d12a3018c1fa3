# Shared by check.sh, check-serve.sh and check-rpm.sh (sourced, not run): the installed paths
# and the PASS/FAIL helpers. Each script counts its failures in $failures and ends with finish.

UNIT=edgerewrite.service
CONF=/etc/edgerewrite/edgerewrite.toml
SOCKDIR=/var/spool/postfix/edgerewrite
SOCK=$SOCKDIR/edgerewrite.sock

failures=0
pass() { echo "PASS: $*"; }
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}
info() { echo "INFO: $*"; }

# check DESCRIPTION COMMAND...: PASS if COMMAND exits 0, else FAIL with its output.
check() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$what"
	else
		fail "$what"
		[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/      /'
	fi
	return 0
}

# owner_mode PATH USER:GROUP MODE: PATH has this owner, group and octal mode (as stat %a).
owner_mode() {
	local got
	got=$(stat -c '%U:%G %a' "$1" 2>&1)
	if [ "$got" = "$2 $3" ]; then
		pass "$1 is $2 $3"
	else
		fail "$1 is $2 $3 (found: $got)"
	fi
}

systemd_running() { [ -d /run/systemd/system ]; }

# finish NAME: the summary line; exit status 1 if any check failed.
finish() {
	if [ "$failures" -eq 0 ]; then
		echo "$1: all checks passed"
		exit 0
	fi
	echo "$1: $failures check(s) FAILED"
	exit 1
}
