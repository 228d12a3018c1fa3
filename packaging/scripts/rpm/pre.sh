#!/bin/sh
# %pre of the edgerewrite rpm ($1: 1 = install, 2 = upgrade). Creates the system user and group
# before the files are unpacked, so rpm can give the config group edgerewrite. Like Fedora's
# %sysusers_create_compat: systemd-sysusers with the same line as
# /usr/lib/sysusers.d/edgerewrite.conf, or useradd where systemd-sysusers is missing.
if command -v systemd-sysusers >/dev/null 2>&1; then
	echo 'u edgerewrite - "edgerewrite milter" -' |
		systemd-sysusers --replace=/usr/lib/sysusers.d/edgerewrite.conf - || :
fi
if ! getent group edgerewrite >/dev/null; then
	groupadd -r edgerewrite || exit 1
fi
if ! getent passwd edgerewrite >/dev/null; then
	useradd -r -g edgerewrite -d / -s /sbin/nologin -c "edgerewrite milter" edgerewrite || exit 1
fi
exit 0
