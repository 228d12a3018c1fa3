#!/usr/bin/env bash
# Checks the packages that packaging/build.sh wrote to dist/ (make package-check, run by
# make test): lintian on the .deb; install it and check what it installed (edgerewrite check,
# the user, owners and modes, the unit, a short run of the daemon as the unit would run it);
# remove and purge it; query the .rpm's metadata, files and scripts.
#
# Needs root, dpkg, lintian, rpm, systemd-analyze and Postfix (make deps installs them). Does
# not need systemd to be running. Prints one PASS or FAIL line per check and exits non-zero if
# any failed. Leaves the machine as it found it: the package is purged on every exit, and the
# edgerewrite user and group are deleted again if this script's install created them.
set -uo pipefail

cd "$(dirname "$0")/.."

UNIT=edgerewrite.service
CONF=/etc/edgerewrite/edgerewrite.toml
SOCKDIR=/var/spool/postfix/edgerewrite
SOCK=$SOCKDIR/edgerewrite.sock
MAX_EXPOSURE=2.0

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
}
# owner_mode PATH USER:GROUP MODE
owner_mode() {
	local got
	got=$(stat -c '%U:%G %a' "$1" 2>&1)
	if [ "$got" = "$2 $3" ]; then
		pass "$1 is $2 $3"
	else
		fail "$1 is $2 $3 (found: $got)"
	fi
}
installed() { dpkg-query -W -f='${db:Status-Status}' edgerewrite 2>/dev/null | grep -qv '^not-installed$'; }
systemd_running() { [ -d /run/systemd/system ]; }

# --- preconditions ---------------------------------------------------------------------------

if [ "$(id -u)" -ne 0 ]; then
	echo "package-check: run as root (it installs and purges the .deb)" >&2
	exit 1
fi
for tool in dpkg-deb lintian rpm systemd-analyze runuser setpriv perl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "package-check: $tool is missing; run make deps" >&2
		exit 1
	fi
done
if ! getent group postfix >/dev/null; then
	echo "package-check: Postfix is not installed (group postfix is missing); run make deps" >&2
	exit 1
fi
if installed; then
	echo "package-check: edgerewrite is already installed on this machine (dpkg status:" \
		"$(dpkg-query -W -f='${db:Status-Abbrev}' edgerewrite)); this check would purge it" \
		"and its config. Remove it first: dpkg -P edgerewrite" >&2
	exit 1
fi

shopt -s nullglob
debs=(dist/edgerewrite_*.deb)
rpms=(dist/edgerewrite-*.rpm)
shopt -u nullglob
if [ ${#debs[@]} -ne 1 ] || [ ${#rpms[@]} -ne 1 ]; then
	echo "package-check: want exactly one dist/edgerewrite_*.deb and one dist/edgerewrite-*.rpm," \
		"found: ${debs[*]:-no .deb} ${rpms[*]:-no .rpm}; run make package" >&2
	exit 1
fi
DEB=${debs[0]}
RPM=${rpms[0]}

# --- cleanup, on every exit --------------------------------------------------------------------

tmp=$(mktemp -d)
serve_pid=
user_existed=no
getent passwd edgerewrite >/dev/null && user_existed=yes
group_existed=no
getent group edgerewrite >/dev/null && group_existed=yes

cleanup() {
	if [ -n "$serve_pid" ] && kill -0 "$serve_pid" 2>/dev/null; then
		kill -KILL "$serve_pid" 2>/dev/null
		wait "$serve_pid" 2>/dev/null
	fi
	if installed; then
		DEBIAN_FRONTEND=noninteractive dpkg -P edgerewrite >/dev/null 2>&1 ||
			echo "package-check: could not purge edgerewrite; run dpkg -P edgerewrite" >&2
	fi
	# dpkg refuses to run at all while a stat override names a user that does not exist.
	for path in "$CONF" /etc/edgerewrite/rules "$SOCKDIR"; do
		if [ "$user_existed" = no ] && dpkg-statoverride --list "$path" >/dev/null 2>&1; then
			dpkg-statoverride --remove "$path" >/dev/null 2>&1
		fi
	done
	if [ "$user_existed" = no ] && getent passwd edgerewrite >/dev/null; then
		userdel edgerewrite >/dev/null 2>&1
	fi
	if [ "$group_existed" = no ] && getent group edgerewrite >/dev/null; then
		groupdel edgerewrite >/dev/null 2>&1
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== package names"
deb_name=$(dpkg-deb -f "$DEB" Package)_$(dpkg-deb -f "$DEB" Version)_$(dpkg-deb -f "$DEB" Architecture).deb
if [ "$(basename "$DEB")" = "$deb_name" ]; then
	pass "$DEB is named PACKAGE_VERSION-REVISION_ARCH.deb (dpkg-name)"
else
	fail "$DEB should be named $deb_name"
fi
rpm_name=$(rpm -qp --qf '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}.rpm' "$RPM" 2>/dev/null)
if [ "$(basename "$RPM")" = "$rpm_name" ]; then
	pass "$RPM is named NAME-VERSION-RELEASE.ARCH.rpm"
else
	fail "$RPM should be named $rpm_name"
fi

# --- lintian -----------------------------------------------------------------------------------

echo "== lintian $DEB"
# Every override needs a reason: a comment right above it (or above its group).
overrides_without_reason=$(awk '
	/^#/ { reason = 1; next }
	/^[[:space:]]*$/ { reason = 0; next }
	{ if (!reason) print "      " FILENAME ":" NR ": " $0 }
' packaging/lintian-overrides)
if [ -z "$overrides_without_reason" ]; then
	pass "every lintian override has a comment giving its reason"
else
	fail "lintian overrides without a reason:"
	echo "$overrides_without_reason"
fi
# Errors and warnings fail (overridden ones do not); info tags are shown too.
if lintian --fail-on error,warning --display-info "$DEB" >"$tmp/lintian" 2>&1; then
	pass "lintian: no errors, no warnings"
else
	fail "lintian: errors or warnings"
fi
grep -v 'running with root privileges is not recommended' "$tmp/lintian" | sed 's/^/      /'
info "lintian overrides (each with its reason in packaging/lintian-overrides):"
grep -v -e '^#' -e '^[[:space:]]*$' packaging/lintian-overrides | sed 's/^/      /'

# --- install -----------------------------------------------------------------------------------

echo "== dpkg -i $DEB"
if DEBIAN_FRONTEND=noninteractive dpkg -i "$DEB" >"$tmp/dpkg-i" 2>&1; then
	pass "dpkg -i $DEB"
else
	fail "dpkg -i $DEB"
	sed 's/^/      /' "$tmp/dpkg-i"
	exit 1
fi

check "installed edgerewrite version runs" /usr/sbin/edgerewrite version
check "edgerewrite check -c $CONF (as root) exits 0" /usr/sbin/edgerewrite check -c "$CONF"
# ExecStartPre runs the check as the service user: it must be able to read config and rules.
check "edgerewrite check -c $CONF as user edgerewrite exits 0" \
	runuser -u edgerewrite -- /usr/sbin/edgerewrite check -c "$CONF"

echo "== user and group"
if id edgerewrite >/dev/null 2>&1; then
	pass "user edgerewrite exists: $(id edgerewrite)"
	uid=$(id -u edgerewrite)
	sys_uid_max=$(awk '$1 == "SYS_UID_MAX" { print $2 }' /etc/login.defs 2>/dev/null)
	if [ "$uid" -le "${sys_uid_max:-999}" ]; then
		pass "edgerewrite is a system user (uid $uid)"
	else
		fail "edgerewrite is a system user (uid $uid > ${sys_uid_max:-999})"
	fi
	check "group edgerewrite is its primary group" test "$(id -gn edgerewrite)" = edgerewrite
	check "edgerewrite is in group postfix" bash -c "id -nG edgerewrite | tr ' ' '\n' | grep -qx postfix"
	home_shell=$(getent passwd edgerewrite | cut -d: -f6,7)
	if [ "$home_shell" = /nonexistent:/usr/sbin/nologin ]; then
		pass "edgerewrite has home /nonexistent and shell /usr/sbin/nologin"
	else
		fail "edgerewrite has home /nonexistent and shell /usr/sbin/nologin (found $home_shell)"
	fi
else
	fail "user edgerewrite exists"
fi

echo "== files, owners and modes"
owner_mode /usr/sbin/edgerewrite root:root 755
owner_mode /etc/edgerewrite root:root 755
owner_mode "$CONF" root:edgerewrite 640
owner_mode /etc/edgerewrite/rules root:edgerewrite 750
for f in /etc/edgerewrite/rules/*; do
	owner_mode "$f" root:root 644
done
owner_mode "$SOCKDIR" edgerewrite:postfix 750
owner_mode /lib/systemd/system/$UNIT root:root 644
owner_mode /usr/share/man/man8/edgerewrite.8.gz root:root 644
for f in README.md copyright changelog.Debian.gz; do
	owner_mode /usr/share/doc/edgerewrite/$f root:root 644
done
owner_mode /usr/share/lintian/overrides/edgerewrite root:root 644
if [ -d postfix-examples ] && [ -n "$(find postfix-examples -type f -print -quit)" ]; then
	check "postfix-examples installed under /usr/share/doc/edgerewrite" \
		test -d /usr/share/doc/edgerewrite/postfix-examples
fi
for o in "root edgerewrite 640 $CONF" "root edgerewrite 750 /etc/edgerewrite/rules" \
	"edgerewrite postfix 750 $SOCKDIR"; do
	check "dpkg-statoverride: $o (applied by dpkg on every upgrade)" \
		bash -c "dpkg-statoverride --list '${o##* }' | grep -qx '$o'"
done
conffiles=$(dpkg-query -W -f='${Conffiles}\n' edgerewrite)
for f in "$CONF" /etc/edgerewrite/rules/*; do
	if grep -q "^ $f " <<<"$conffiles"; then
		pass "$f is a conffile"
	else
		fail "$f is a conffile"
	fi
done
check "man page edgerewrite(8) renders without warnings" \
	bash -c "out=\$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l /usr/share/man/man8/edgerewrite.8.gz 2>&1 >/dev/null); echo \"\$out\"; [ -z \"\$out\" ]"

echo "== systemd unit"
if [ -L /etc/systemd/system/multi-user.target.wants/$UNIT ]; then
	pass "$UNIT is enabled (multi-user.target.wants)"
else
	fail "$UNIT is enabled (multi-user.target.wants)"
fi
if systemd-analyze verify /lib/systemd/system/$UNIT >"$tmp/verify" 2>&1 && ! [ -s "$tmp/verify" ]; then
	pass "systemd-analyze verify /lib/systemd/system/$UNIT"
else
	fail "systemd-analyze verify /lib/systemd/system/$UNIT"
	sed 's/^/      /' "$tmp/verify"
fi
exposure=$(systemd-analyze security --offline=true /lib/systemd/system/$UNIT 2>/dev/null |
	sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
info "exposure: systemd-analyze security --offline=true /lib/systemd/system/$UNIT -> ${exposure:-?}"
if systemd-analyze security --offline=true --threshold="${MAX_EXPOSURE/./}" \
	/lib/systemd/system/$UNIT >/dev/null 2>&1 && [ -n "$exposure" ]; then
	pass "exposure ${exposure} <= $MAX_EXPOSURE"
else
	fail "exposure ${exposure:-?} <= $MAX_EXPOSURE"
fi

echo "== the daemon, run as the unit runs it"
if systemd_running; then
	# postinst started it through systemd.
	check "$UNIT is active after install" systemctl is-active --quiet $UNIT
else
	# No systemd here: run serve as user and group edgerewrite with its supplementary group
	# postfix (as User=, Group=, SupplementaryGroups= do) and UMask=0007, with a NOTIFY_SOCKET
	# to receive READY=1. setpriv execs in place. With strace installed, the run is traced, to
	# check the system calls against the unit's SystemCallFilter=.
	failures_before=$failures
	tracer=()
	if command -v strace >/dev/null 2>&1; then
		tracer=(strace -f -qq -o "$tmp/strace.serve")
	fi
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
	# On a shared test machine another daemon may hold the default metrics address: then run
	# with a copy of the installed config that turns metrics off, rather than fail.
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
	if [ -s "$tmp/serve.log" ] && [ "$failures" -gt "$failures_before" ]; then
		echo "      serve's log:"
		sed 's/^/      /' "$tmp/serve.log" | tail -20
	fi
fi

# --- remove and purge --------------------------------------------------------------------------

echo "== dpkg -i again (the upgrade path: postinst configure OLD-VERSION)"
echo "# changed by package-check" >>"$CONF"
check "dpkg -i $DEB over the installed package" env DEBIAN_FRONTEND=noninteractive dpkg -i "$DEB"
check "the upgrade keeps the admin's change to $CONF" grep -q '^# changed by package-check$' "$CONF"
owner_mode "$CONF" root:edgerewrite 640
owner_mode /etc/edgerewrite/rules root:edgerewrite 750

echo "== dpkg -r edgerewrite"
check "dpkg -r edgerewrite" env DEBIAN_FRONTEND=noninteractive dpkg -r edgerewrite
check "dpkg -r keeps $CONF (with the admin's change)" grep -q '^# changed by package-check$' "$CONF"
check "dpkg -r removes /usr/sbin/edgerewrite" test ! -e /usr/sbin/edgerewrite
check "dpkg -r removes the unit" test ! -e /lib/systemd/system/$UNIT
if systemd_running; then
	check "$UNIT is stopped after dpkg -r" bash -c "! systemctl is-active --quiet $UNIT"
fi

echo "== dpkg -P edgerewrite"
check "dpkg -P edgerewrite" env DEBIAN_FRONTEND=noninteractive dpkg -P edgerewrite
check "dpkg -P removes $CONF" test ! -e "$CONF"
check "dpkg -P removes /etc/edgerewrite" test ! -e /etc/edgerewrite
check "dpkg -P removes $SOCKDIR" test ! -e "$SOCKDIR"
check "dpkg -P leaves no unit symlink or mask" bash -c \
	"! ls /etc/systemd/system/$UNIT /etc/systemd/system/*.wants/$UNIT 2>/dev/null | grep -q ."
check "dpkg no longer knows the package" bash -c "! dpkg-query -W edgerewrite >/dev/null 2>&1"
check "dpkg -P removes the stat overrides postinst added" bash -c \
	"! dpkg-statoverride --list '/etc/edgerewrite*' | grep -q . && ! dpkg-statoverride --list '$SOCKDIR' | grep -q ."

# --- rpm ---------------------------------------------------------------------------------------

echo "== rpm $RPM"
check "rpm -K: digests" rpm -K --nosignature "$RPM"
rpm -qip "$RPM" >"$tmp/rpm-info" 2>&1
sed 's/^/      /' "$tmp/rpm-info" | sed -n '1,16p'
version=$(dpkg-deb -f "$DEB" Version)
# rpm_tag TAG WANT: the rpm's header tag TAG is WANT (the same facts rpm -qip shows).
rpm_tag() {
	local got
	got=$(rpm -qp --qf "%{$1}" "$RPM" 2>&1)
	if [ "$got" = "$2" ]; then
		pass "rpm $1: $2"
	else
		fail "rpm $1: $2 (found: $got)"
	fi
}
rpm_tag NAME edgerewrite
rpm_tag VERSION "${version%-*}"
rpm_tag RELEASE "${version##*-}"
rpm_tag ARCH "$(uname -m)"
rpm_tag LICENSE MIT
rpm_tag URL https://github.com/edgerewrite/edgerewrite
rpm_tag SUMMARY "Address-rewriting milter for Postfix (shared email domains)"
rpm -qlp "$RPM" >"$tmp/rpm-files" 2>&1
for f in /usr/sbin/edgerewrite /usr/lib/systemd/system/$UNIT "$CONF" /etc/edgerewrite/rules \
	/usr/share/man/man8/edgerewrite.8.gz /usr/lib/sysusers.d/edgerewrite.conf \
	/usr/share/doc/edgerewrite/README.md /usr/share/licenses/edgerewrite/LICENSE "$SOCKDIR"; do
	check "rpm -qlp lists $f" grep -qx "$f" "$tmp/rpm-files"
done
# FILEFLAGS: c = %config, n = noreplace.
rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]' \
	"$RPM" >"$tmp/rpm-flags" 2>&1
for want in "cn -rw-r----- root:edgerewrite $CONF" "cn -rw-r--r-- root:root /etc/edgerewrite/rules/" \
	"d?[a-z]* drwxr-x--- root:edgerewrite /etc/edgerewrite/rules$" \
	"[a-z]* drwxr-x--- edgerewrite:postfix $SOCKDIR$" "[a-z]* -rwxr-xr-x root:root /usr/sbin/edgerewrite$"; do
	check "rpm file: $want" grep -Eq "^$want" "$tmp/rpm-flags"
done
check "rpm -qp --configfiles lists $CONF" bash -c "rpm -qp --configfiles '$RPM' | grep -qx '$CONF'"
check "rpm -qp --requires: postfix" bash -c "rpm -qp --requires '$RPM' | grep -qx postfix"
rpm -qp --scripts "$RPM" >"$tmp/rpm-scripts" 2>&1
# section: the scriptlet that starts with "$1 scriptlet"; then the commands it must run.
scriptlet_has() {
	awk -v s="$1 scriptlet" 'index($0, s) == 1 { on = 1; next } / scriptlet \(using / { on = 0 } on' \
		"$tmp/rpm-scripts" | grep -q -- "$2"
}
for want in "preinstall|systemd-sysusers" "preinstall|useradd -r" "postinstall|usermod -a -G postfix" \
	"postinstall|systemctl --no-reload preset edgerewrite.service" \
	"preuninstall|systemctl --no-reload disable edgerewrite.service" \
	"preuninstall|systemctl stop edgerewrite.service" \
	"postuninstall|systemctl try-restart edgerewrite.service"; do
	check "rpm -qp --scripts: ${want%%|*} runs ${want#*|}" scriptlet_has "${want%%|*}" "${want#*|}"
done

echo
if [ "$failures" -eq 0 ]; then
	echo "package-check: all checks passed"
else
	echo "package-check: $failures check(s) FAILED"
	exit 1
fi
