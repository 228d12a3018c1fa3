#!/usr/bin/env bash
# Installs the Debian packages the end-to-end tests, the demo, the benchmarks and the package
# checks need, only when one is missing. Needs root (apt-get). Go modules come through the
# module proxy when `go` first builds.
set -euo pipefail

pkgs=(postfix postfix-lmdb swaks opendkim opendkim-tools postsrsd lintian rpm dpkg-dev systemd man-db strace perl util-linux procps)

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps: this installer knows Debian and Ubuntu (apt-get); elsewhere install: ${pkgs[*]}" >&2
	exit 1
fi

need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for p in "${pkgs[@]}"; do
	have "$p" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: missing Debian packages: ${need[*]}; run as root (apt-get install)" >&2
		exit 1
	fi
	echo "install-deps: installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# Postfix must not configure or start a system instance: tests run throwaway instances.
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	# A fresh cloud machine often runs unattended-upgrades first: wait for the dpkg lock.
	apt_opts=(-o DPkg::Lock::Timeout=300 -qq)
	apt-get "${apt_opts[@]}" update
	apt-get "${apt_opts[@]}" install -y --no-install-recommends "${need[@]}" >/dev/null
	# Debian starts the packaged services on install where it can; the tests need none of them.
	for s in postfix opendkim postsrsd; do
		if command -v systemctl >/dev/null 2>&1; then systemctl stop "$s" >/dev/null 2>&1 || true; fi
		service "$s" stop >/dev/null 2>&1 || true
	done
fi

# What the throwaway instances rely on (integration/harness): the master daemon they run in the
# foreground, the lmdb map type (registered in /etc/postfix/dynamicmaps.cf by postfix-lmdb), and
# the mail_owner / setgid_group accounts the queue directories are created for.
problems=()
[ -x /usr/lib/postfix/sbin/master ] || problems+=("no /usr/lib/postfix/sbin/master (package postfix)")
grep -qs '^lmdb[[:space:]]' /etc/postfix/dynamicmaps.cf /etc/postfix/dynamicmaps.cf.d/* ||
	problems+=("lmdb map type not registered in /etc/postfix/dynamicmaps.cf (package postfix-lmdb)")
getent passwd postfix >/dev/null || problems+=("no postfix user")
getent group postdrop >/dev/null || problems+=("no postdrop group")
if [ ${#problems[@]} -gt 0 ]; then
	printf 'install-deps: %s\n' "${problems[@]}" >&2
	exit 1
fi
