#!/bin/sh
# %postun of the edgerewrite rpm ($1: 0 = erase, 1 = upgrade). On upgrade, like
# %systemd_postun_with_restart: restart the daemon if it runs. On erase rpm keeps the config
# files the admin changed as *.rpmsave, and the system user and group stay (Fedora's rule:
# never remove them, their ids may still own files).
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || :
	if [ "$1" -ge 1 ]; then
		systemctl try-restart edgerewrite.service >/dev/null 2>&1 || :
	fi
fi
exit 0
