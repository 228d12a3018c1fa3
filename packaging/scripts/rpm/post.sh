#!/bin/sh
# %post of the edgerewrite rpm ($1: 1 = install, 2 = upgrade). Puts the user in group postfix
# (the daemon gives its socket to Postfix) and, on first install, applies the system's preset
# policy to the unit, like %systemd_post: Fedora and RHEL presets leave a new service disabled;
# start it with "systemctl enable --now edgerewrite" once the config is done.
if getent group postfix >/dev/null && ! id -nG edgerewrite | tr ' ' '\n' | grep -qx postfix; then
	usermod -a -G postfix edgerewrite || :
fi
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || :
fi
if [ "$1" -eq 1 ] && command -v systemctl >/dev/null 2>&1; then
	# --no-reload: works with systemd not running (image builds, containers).
	systemctl --no-reload preset edgerewrite.service >/dev/null 2>&1 || :
fi
exit 0
