# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# Sourced by test-chroot.sh and test-boot.sh: the Debian 12 base both unpack.
#
# herald_base_tarball DEB_DIR HERALDCTL_DEB
#   prints the path of a tarball (in DEB_DIR) of a Debian 12 base with Postfix,
#   systemd (systemctl, systemd-creds, as on a server) and every library
#   heraldctl needs, so that the tests install from the cache without the
#   network; built with mmdebstrap when no tarball for this list of packages
#   is there yet. Of alternatives ("dconf-gsettings-backend |
#   gsettings-backend", the second virtual) the first, as apt would choose.
herald_base_tarball () {
  local deb_dir=$1 heraldctl_deb=$2 deps include tarball
  deps=$(dpkg-deb -f "$heraldctl_deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/ //g' |
         grep -v '^$' | sort -u | tr '\n' ',')
  include="postfix,systemd,bsd-mailx,ca-certificates,${deps%,}"
  tarball="$deb_dir/chroot-bookworm-$(echo "$include" | sha256sum | cut -c1-12).tar"
  if [ ! -s "$tarball" ]; then
    echo "# mmdebstrap: a Debian 12 base with $include" >&2
    # Postfix without questions: a local-only mailer with its own main.cf.
    mmdebstrap --variant=apt --include="$include" --skip=cleanup/apt \
      --essential-hook='echo "postfix postfix/main_mailer_type select Local only" |
                         chroot "$1" debconf-set-selections' \
      --format=tar bookworm "$tarball.tmp" http://deb.debian.org/debian >&2
    mv "$tarball.tmp" "$tarball"
  fi
  echo "$tarball"
}
