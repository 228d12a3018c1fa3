#!/bin/sh
# %preun of the edgerewrite rpm ($1: 0 = erase, 1 = upgrade). On erase, like %systemd_preun:
# disable the unit and stop the daemon, then remove a socket it left behind so rpm can remove
# the socket directory. On upgrade, nothing: %postun restarts the daemon.
if [ "$1" -eq 0 ]; then
	if command -v systemctl >/dev/null 2>&1; then
		systemctl --no-reload disable edgerewrite.service >/dev/null 2>&1 || :
	fi
	if [ -d /run/systemd/system ]; then
		systemctl stop edgerewrite.service >/dev/null 2>&1 || :
	fi
	rm -f /var/spool/postfix/edgerewrite/edgerewrite.sock
fi
exit 0
