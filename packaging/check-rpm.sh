#!/usr/bin/env bash
# check-rpm.sh RPM DEB-VERSION: the rpm's metadata, files (owners, modes, %config(noreplace))
# and scriptlets, read with rpm -qp (nothing is installed). DEB-VERSION is the .deb's version
# (0.1.0-1): both packages must carry the same one. Run by check.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
. packaging/check-lib.sh

RPM=${1:?usage: check-rpm.sh RPM DEB-VERSION}
version=${2:?usage: check-rpm.sh RPM DEB-VERSION}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== rpm $RPM"
check "rpm -K: digests" rpm -K --nosignature "$RPM"
rpm -qip "$RPM" 2>&1 | sed -n '1,16p' | sed 's/^/      /'

# rpm_tag TAG WANT: the header tag TAG is WANT (the facts rpm -qip shows).
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

rpm -qlp "$RPM" >"$tmp/files" 2>&1
for f in /usr/sbin/edgerewrite /usr/lib/systemd/system/$UNIT "$CONF" /etc/edgerewrite/rules \
	/usr/share/man/man8/edgerewrite.8.gz /usr/lib/sysusers.d/edgerewrite.conf \
	/usr/share/doc/edgerewrite/README.md /usr/share/licenses/edgerewrite/LICENSE "$SOCKDIR"; do
	check "rpm -qlp lists $f" grep -qx "$f" "$tmp/files"
done
# FILEFLAGS: c = %config, n = noreplace.
rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]' \
	"$RPM" >"$tmp/flags" 2>&1
for want in "cn -rw-r----- root:edgerewrite $CONF$" "cn -rw-r--r-- root:root /etc/edgerewrite/rules/" \
	"[a-z]* drwxr-x--- root:edgerewrite /etc/edgerewrite/rules$" \
	"[a-z]* drwxr-x--- edgerewrite:postfix $SOCKDIR$" "[a-z]* -rwxr-xr-x root:root /usr/sbin/edgerewrite$"; do
	check "rpm file: $want" grep -Eq "^$want" "$tmp/flags"
done
check "rpm -qp --configfiles lists $CONF" bash -c "rpm -qp --configfiles '$RPM' | grep -qx '$CONF'"
check "rpm -qp --requires: postfix" bash -c "rpm -qp --requires '$RPM' | grep -qx postfix"

rpm -qp --scripts "$RPM" >"$tmp/scripts" 2>&1
# scriptlet_has NAME TEXT: the scriptlet that rpm prints as "NAME scriptlet (using /bin/sh):"
# contains TEXT.
scriptlet_has() {
	awk -v s="$1 scriptlet" 'index($0, s) == 1 { on = 1; next } / scriptlet \(using / { on = 0 } on' \
		"$tmp/scripts" | grep -qF -- "$2"
}
for want in "preinstall|systemd-sysusers" "preinstall|useradd -r" "postinstall|usermod -a -G postfix" \
	"postinstall|systemctl --no-reload preset edgerewrite.service" \
	"preuninstall|systemctl --no-reload disable edgerewrite.service" \
	"preuninstall|systemctl stop edgerewrite.service" \
	"postuninstall|systemctl try-restart edgerewrite.service"; do
	check "rpm -qp --scripts: ${want%%|*} runs ${want#*|}" scriptlet_has "${want%%|*}" "${want#*|}"
done

finish check-rpm
