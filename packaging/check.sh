#!/usr/bin/env bash
# Checks the packages that packaging/build.sh wrote to dist/ (make package-check, run by
# make test): lintian on the .deb; install it and check what it installed (edgerewrite check,
# the user, owners and modes, the unit; check-serve.sh runs the daemon as the unit would);
# install it again (the upgrade path), remove and purge it; check-rpm.sh queries the .rpm's
# metadata, files and scripts.
#
# Needs root, dpkg, lintian, rpm, systemd-analyze and Postfix (make deps installs them). Does
# not need systemd to be running. Prints one PASS or FAIL line per check and exits non-zero if
# any failed. Leaves the machine as it found it: the package is purged on every exit, and the
# edgerewrite user and group are deleted again if this script's install created them.
set -uo pipefail

cd "$(dirname "$0")/.."

. packaging/check-lib.sh
MAX_EXPOSURE=2.0

installed() { dpkg-query -W -f='${db:Status-Status}' edgerewrite 2>/dev/null | grep -qv '^not-installed$'; }

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
user_existed=no
getent passwd edgerewrite >/dev/null && user_existed=yes
group_existed=no
getent group edgerewrite >/dev/null && group_existed=yes

cleanup() {
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

if systemd_running; then
	# postinst started it through systemd.
	echo "== the daemon"
	check "$UNIT is active after install" systemctl is-active --quiet $UNIT
else
	bash packaging/check-serve.sh || failures=$((failures + 1))
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

bash packaging/check-rpm.sh "$RPM" "$(dpkg-deb -f "$DEB" Version)" || failures=$((failures + 1))

echo
finish package-check
