#!/usr/bin/env bash
# Builds dist/edgerewrite_VERSION-1_ARCH.deb and dist/edgerewrite-VERSION-1.RPMARCH.rpm with nfpm
# (pinned as a Go tool in go.mod) from bin/edgerewrite, which `make package` builds first.
#
# Environment:
#   PKG_VERSION     upstream version, e.g. 0.1.0 (required; a leading "v" is dropped)
#   PKG_MAINTAINER  "Name <address>" for the package metadata and the Debian changelog
#   PKG_CONF_SRC    folder holding edgerewrite.toml and rules/ (default: packaging)
#   PKG_BIN         the binary to package (default: bin/edgerewrite)
#   SOURCE_DATE_EPOCH  timestamp of every file in the packages (default: the last commit's),
#                   so the same commit gives the same packages
set -euo pipefail

cd "$(dirname "$0")/.."

PKG_VERSION=${PKG_VERSION:?PKG_VERSION is not set, e.g. PKG_VERSION=0.1.0}
PKG_VERSION=${PKG_VERSION#v}
# Semantic version MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]: nfpm maps it onto each package
# format predictably, and rpm allows no "-" inside a version.
if ! [[ $PKG_VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?(\+[0-9A-Za-z.]+)?$ ]]; then
	echo "build.sh: PKG_VERSION \"$PKG_VERSION\" is not MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]" >&2
	exit 1
fi
PKG_MAINTAINER=${PKG_MAINTAINER:-edgerewrite maintainers <maintainers@edgerewrite.invalid>}
PKG_CONF_SRC=${PKG_CONF_SRC:-packaging}
PKG_BIN=${PKG_BIN:-bin/edgerewrite}
GO=${GO:-go}
PKG_ARCH=$($GO env GOARCH)
export PKG_VERSION PKG_MAINTAINER PKG_ARCH

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

for f in "$PKG_BIN" "$PKG_CONF_SRC/edgerewrite.toml"; do
	if [ ! -f "$f" ]; then
		echo "build.sh: $f is missing (make package builds bin/edgerewrite; the default config is packaging/edgerewrite.toml)" >&2
		exit 1
	fi
done
if [ ! -d "$PKG_CONF_SRC/rules" ]; then
	echo "build.sh: $PKG_CONF_SRC/rules/ is missing (the example rules directory)" >&2
	exit 1
fi

stage=dist/stage
rm -rf "$stage"
mkdir -p "$stage/rules" "$stage/doc-deb" "$stage/doc-rpm"

install -m 0755 "$PKG_BIN" "$stage/edgerewrite"

# Default config and example rules: regular files only, no editor backups.
cp "$PKG_CONF_SRC/edgerewrite.toml" "$stage/edgerewrite.toml"
find "$PKG_CONF_SRC/rules" -maxdepth 1 -type f ! -name '*~' ! -name '.*' -exec cp -t "$stage/rules" {} +
if [ -z "$(ls -A "$stage/rules")" ]; then
	echo "build.sh: $PKG_CONF_SRC/rules/ has no files to install as example rules" >&2
	exit 1
fi

# Man page, compressed the Debian way (-9, no name or time stamp in the header).
gzip -9n <packaging/edgerewrite.8 >"$stage/edgerewrite.8.gz"

# Documentation: README (the rpm lists it as %doc itself) and whatever postfix-examples/ holds.
cp README.md "$stage/doc-deb/README.md"
for d in "$stage/doc-deb" "$stage/doc-rpm"; do
	# Regular files only (no empty folders, no hidden or editor backup files).
	if [ -d postfix-examples ]; then
		find postfix-examples -type f ! -name '.*' ! -name '*~' ! -name '*.swp' -print0 |
			while IFS= read -r -d '' f; do
				mkdir -p "$d/$(dirname "$f")"
				cp "$f" "$d/$f"
			done
	fi
done

# Debian: machine-readable copyright (DEP-5) from LICENSE, and changelog.Debian.gz.
{
	cat <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: edgerewrite
Source: https://github.com/edgerewrite/edgerewrite

Files: *
Copyright: $(sed -n 's/^Copyright (c) //p' LICENSE | head -1)
License: Expat

License: Expat
EOF
	# The licence text after the copyright line, indented, blank lines as " ." (DEP-5).
	sed '1,/^Copyright/d' LICENSE | sed '/./,$!d' | sed 's/^$/./; s/^/ /'
} >"$stage/doc-deb/copyright"

# nfpm turns a semver pre-release into a Debian/rpm one: 0.2.0-rc.1 -> 0.2.0~rc.1 (sorts before
# 0.2.0). The changelog's version must be the package's; checked after the build below.
deb_version=${PKG_VERSION/-/\~}-1
changelog_date=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
cat >"$stage/changelog.Debian" <<EOF
edgerewrite ($deb_version) unstable; urgency=medium

  * Package of edgerewrite $PKG_VERSION, built from commit $commit.

 -- $PKG_MAINTAINER  $changelog_date
EOF
gzip -9n <"$stage/changelog.Debian" >"$stage/doc-deb/changelog.Debian.gz"
rm "$stage/changelog.Debian"

find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -type f ! -name edgerewrite -exec chmod 0644 {} +

# Old packages of this name would be picked up by the `dist/*.deb` globs of the checks.
rm -f dist/edgerewrite_*.deb dist/edgerewrite-*.rpm
for p in deb rpm; do
	$GO tool nfpm package --config packaging/nfpm.yaml --packager "$p" --target dist/
done
rm -rf "$stage"
deb=(dist/edgerewrite_*.deb)
if [ "$(dpkg-deb -f "${deb[0]}" Version)" != "$deb_version" ]; then
	echo "build.sh: ${deb[0]} has version $(dpkg-deb -f "${deb[0]}" Version), its changelog $deb_version" >&2
	exit 1
fi
ls -l dist/edgerewrite_*.deb dist/edgerewrite-*.rpm
