#!/usr/bin/env bash
# Installs the Debian packages the end-to-end tests, the demo, the benchmarks and the package
# checks need, only when one is missing. Needs root (apt-get). Go modules come through the
# module proxy when `go` first builds.
set -euo pipefail

need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for p in postfix postfix-lmdb swaks opendkim opendkim-tools lintian rpm dpkg-dev systemd; do
	have "$p" || need+=("$p")
done
if [ ${#need[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing Debian packages: ${need[*]}; run as root (apt-get install)" >&2
	exit 1
fi
echo "install-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
# Postfix must not configure or start a system instance: tests run throwaway instances.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts the packaged services on install where it can; the tests need none of them.
for s in postfix opendkim; do
	if command -v systemctl >/dev/null 2>&1; then systemctl stop "$s" >/dev/null 2>&1 || true; fi
	service "$s" stop >/dev/null 2>&1 || true
done
