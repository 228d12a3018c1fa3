#!/usr/bin/env bash
# check-serve.sh: runs the installed daemon the way edgerewrite.service runs it, without systemd:
# user and group edgerewrite plus group postfix (User=, Group=, SupplementaryGroups=), UMask=0007,
# a NOTIFY_SOCKET to receive READY=1 (Type=notify). Then: the socket's owner and mode, Postfix's
# user can connect, SIGHUP reloads, SIGTERM stops with status 0. With strace installed, the run
# (and the ExecStartPre= check) is traced and compared with the unit's SystemCallFilter= and
# RestrictAddressFamilies=. Needs root and the .deb installed. Run by check.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
. packaging/check-lib.sh

tmp=$(mktemp -d)
serve_pid=
daemon_pid=
notify_pid=
cleanup() {
	# The daemon first: a tracee outlives a killed strace.
	for p in $daemon_pid $serve_pid $notify_pid; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== the daemon, run as the unit runs it"
tracer=()
if command -v strace >/dev/null 2>&1; then
	tracer=(strace -f -qq -o "$tmp/strace.serve")
fi
# setpriv execs in place: the daemon is the process started (or strace's child).
as_unit=(setpriv --reuid=edgerewrite --regid=edgerewrite --init-groups --)
chmod 0711 "$tmp"

perl -MSocket -MIO::Socket::UNIX -e '
	my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $ARGV[0]) or die "notify socket: $!\n";
	chmod 0666, $ARGV[0];
	$SIG{ALRM} = sub { exit 1 };
	alarm 20;
	while (defined $s->recv(my $buf, 4096)) { print "$buf\n"; exit 0 if $buf =~ /^READY=1$/m }
	exit 1;
' "$tmp/notify.sock" >"$tmp/notify.out" 2>&1 &
notify_pid=$!
for _ in $(seq 50); do [ -S "$tmp/notify.sock" ] && break; sleep 0.1; done

# On a shared test machine another daemon may hold the default metrics address: then run with a
# copy of the installed config that turns metrics off, rather than fail.
serve_conf=$CONF
if perl -MIO::Socket::INET -e 'exit(IO::Socket::INET->new(PeerAddr => "127.0.0.1:9754", Timeout => 1) ? 0 : 1)'; then
	info "127.0.0.1:9754 (the default metrics_listen) is in use: serve runs with metrics_listen = \"\""
	# In a directory the daemon can read: it watches the config file's directory.
	mkdir -m 0755 "$tmp/conf"
	{
		echo 'metrics_listen = ""'
		cat "$CONF"
	} >"$tmp/conf/edgerewrite.toml"
	chmod 0644 "$tmp/conf/edgerewrite.toml"
	serve_conf=$tmp/conf/edgerewrite.toml
fi

(umask 0007 && exec env NOTIFY_SOCKET="$tmp/notify.sock" "${tracer[@]}" "${as_unit[@]}" \
	/usr/sbin/edgerewrite serve -c "$serve_conf") >"$tmp/serve.log" 2>&1 &
serve_pid=$!
if wait "$notify_pid"; then
	pass "serve sends READY=1 to \$NOTIFY_SOCKET (Type=notify)"
else
	fail "serve sends READY=1 to \$NOTIFY_SOCKET within 20 s (Type=notify)"
fi
notify_pid=
daemon_pid=$serve_pid
if [ ${#tracer[@]} -gt 0 ]; then
	daemon_pid=$(pgrep -P "$serve_pid" | head -1)
fi

if [ -S "$SOCK" ]; then
	owner_mode "$SOCK" edgerewrite:postfix 660
	check "user postfix can connect to $SOCK" runuser -u postfix -- perl -MIO::Socket::UNIX \
		-e 'IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "connect $ARGV[0]: $!\n"' "$SOCK"
else
	fail "serve creates the milter socket $SOCK"
fi

if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
	kill -HUP "$daemon_pid"
	sleep 1
	check "serve keeps running after SIGHUP (systemctl reload)" kill -0 "$daemon_pid"
	kill -TERM "$daemon_pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$serve_pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$serve_pid" 2>/dev/null; then
		fail "serve exits within 10 s of SIGTERM"
	else
		wait "$serve_pid"
		rc=$?
		serve_pid=
		daemon_pid=
		if [ "$rc" -eq 0 ]; then
			pass "serve exits 0 on SIGTERM (systemctl stop)"
		else
			fail "serve exits 0 on SIGTERM (exit $rc)"
		fi
	fi
else
	wait "$serve_pid"
	fail "serve keeps running (it exited with $?)"
	serve_pid=
	daemon_pid=
fi

if [ ${#tracer[@]} -gt 0 ]; then
	# ExecStartPre= runs check under the same filter.
	strace -f -qq -o "$tmp/strace.check" "${as_unit[@]}" /usr/sbin/edgerewrite check -c "$CONF" \
		>/dev/null 2>&1
	if denied=$(perl packaging/check-syscalls.pl /lib/systemd/system/$UNIT /usr/sbin/edgerewrite \
		"$tmp/strace.serve" "$tmp/strace.check" 2>&1) && [ -z "$denied" ]; then
		pass "every system call and socket family of serve (start, SIGHUP, SIGTERM) and check is in the unit's SystemCallFilter= and RestrictAddressFamilies="
	else
		fail "system calls or socket families outside the unit's SystemCallFilter= / RestrictAddressFamilies= (they would fail): $denied"
	fi
else
	info "SKIP: strace is not installed; system calls not compared with SystemCallFilter="
fi

if [ "$failures" -gt 0 ] && [ -s "$tmp/serve.log" ]; then
	echo "      serve's log:"
	tail -20 "$tmp/serve.log" | sed 's/^/      /'
fi
finish check-serve
