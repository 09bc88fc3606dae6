#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# The packages on a throw-away Debian 12 system (build-aux/herald-dev test-deb):
# a chroot made by mmdebstrap from Debian's archive, with Postfix as its mailer,
# gets the built heraldctl and herald-mta through apt, and we check what an
# administrator would: apt replaces Postfix; the postinst creates the queue
# directories with their modes, enables the units and says what to do next, and
# can run again (dpkg-reconfigure, the package installed twice over itself),
# never with a terminal to ask on; `sendmail -t` queues through the system
# profile (root) or the maildrop (any other user, who cannot read it); `mailq`
# lists the message; `heraldctl doctor --system` sees the wiring; removing
# herald-mta keeps the queue, says how many messages wait and which command
# brings Postfix back; Postfix comes back with its own configuration, also in
# the one-step swap "apt install postfix herald-mta-"; purging removes the
# profile and the secrets, not the mail.
#
# Never run on the machine itself: installing herald-mta would replace the
# Postfix the other tests use. Everything happens under a temporary directory,
# in a private mount and network namespace (no network: delivery fails, so
# mail stays queued).
#
# Usage: test-chroot.sh DEB_DIR     (DEB_DIR holds heraldctl_*.deb, herald-mta_*.deb;
#                                     the base tarball is cached there)
set -euo pipefail

deb_dir=$(realpath "$1")
heraldctl_deb=$(ls -t "$deb_dir"/heraldctl_*.deb | head -1)
mta_deb=$(ls -t "$deb_dir"/herald-mta_*.deb | head -1)
start=$(date +%s)
passed=0
failed=0

ok () {   # ok NAME COMMAND...: one TAP line
  local name=$1
  shift
  if "$@" >/dev/null 2>&1; then
    passed=$((passed + 1))
    echo "ok $((passed + failed)) - $name"
  else
    failed=$((failed + 1))
    echo "not ok $((passed + failed)) - $name"
  fi
}

# The base system: apt, Postfix (the MTA herald-mta must replace), systemd and every
# library heraldctl needs (tests/debian/base-system.sh), cached by the list of packages.
. "$(dirname "$0")/base-system.sh"
tarball=$(herald_base_tarball "$deb_dir" "$heraldctl_deb")

root=$(mktemp -d "$deb_dir/chroot.XXXXXX")
trap 'rm -rf --one-file-system "$root"' EXIT
chmod 0755 "$root"
tar -xf "$tarball" -C "$root"
cp "$heraldctl_deb" "$mta_deb" "$root/tmp/"
# Daemons never start inside (postfix's postinst would try).
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"

# A command inside the chroot, with /proc, without network.
in_root () {
  unshare --mount --net -- sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' \
    "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"
}
out="$root/tmp/out"
# Package operations as an unattended run does them: no standard input (a
# maintainer script that asked anything would read end of file) and a time
# limit (one that waited for an answer would be stopped, and fail).
pkg () {
  timeout 600 unshare --mount --net -- sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' \
    "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@" < /dev/null
}

# -- before: Postfix is the mailer ---------------------------------------------------
owner_is () {   # owner_is PACKAGE PATH: dpkg says PACKAGE owns PATH
  in_root dpkg -S "$2" 2>/dev/null | grep -qx "$1: $2"
}
state_is () {   # state_is STATE PACKAGE: ii (installed), rc (removed, configuration kept)
  in_root dpkg-query -W -f='${db:Status-Abbrev}' "$2" 2>/dev/null | grep -q "^$1"
}
enabled () {
  in_root systemctl is-enabled "$1" 2>/dev/null | grep -qx enabled
}
not () {
  ! "$@"
}
ok "before: /usr/sbin/sendmail is Postfix's" owner_is postfix /usr/sbin/sendmail
main_cf_before=$(md5sum < "$root/etc/postfix/main.cf")

# -- install: apt replaces Postfix -------------------------------------------------
pkg apt-get install -y -q --no-install-recommends \
  "/tmp/$(basename "$heraldctl_deb")" "/tmp/$(basename "$mta_deb")" > "$out.install" 2>&1 || true
sed 's/^/#   /' "$out.install" | grep -i -E 'remov|herald|error' | head -30
ok "apt installs heraldctl and herald-mta" state_is ii herald-mta
ok "apt removes Postfix, keeping its configuration" state_is rc postfix
ok "/usr/sbin/sendmail belongs to herald-mta" owner_is herald-mta /usr/sbin/sendmail
for name in /usr/sbin/sendmail /usr/lib/sendmail /usr/bin/mailq; do
  ok "$name runs /usr/bin/heraldctl" test "$(readlink -f "$root$name")" = "$root/usr/bin/heraldctl"
done
ok "postinst says what to do next" grep -q 'heraldctl config --system import -' "$out.install"
ok "postinst names heraldctl doctor" grep -q 'heraldctl doctor --system' "$out.install"

modes () {
  stat -c '%a %U:%G' "$root/var/spool/herald" "$root/var/spool/herald/queue" \
    "$root/var/spool/herald/maildrop" "$root/var/lib/herald" | tr '\n' ' '
}
want="711 root:root 700 root:root 1733 root:root 700 root:root "
ok "spool 711, queue 700, maildrop 1733, state 700, all root's" test "$(modes)" = "$want"
for unit in herald-queue.path herald-queue.timer; do
  ok "$unit enabled (without a running systemd)" enabled "$unit"
done

# -- the maintainer scripts run again: same result, modes repaired ------------------
chmod 0755 "$root/var/spool/herald/maildrop"
rc=0
pkg dpkg-reconfigure herald-mta > "$out.reconf" 2>&1 || rc=$?
ok "dpkg-reconfigure herald-mta exits 0" test $rc -eq 0
ok "postinst runs again (dpkg-reconfigure) and repairs the maildrop's mode" \
  test "$(modes)" = "$want"
# Installed a second time over itself: prerm and postrm "upgrade", postinst
# "configure" with the old version.
rc=0
pkg dpkg -i "/tmp/$(basename "$mta_deb")" > "$out.twice" 2>&1 || rc=$?
sed 's/^/#   /' "$out.twice" | grep -i -E 'error|warn' | head -10 || true
ok "herald-mta installed a second time over itself exits 0" test $rc -eq 0
ok "installed twice: the same directories and modes" test "$(modes)" = "$want"
for unit in herald-queue.path herald-queue.timer; do
  ok "installed twice: $unit still enabled" enabled "$unit"
done
ok "installed twice: /usr/sbin/sendmail still runs heraldctl" \
  test "$(readlink -f "$root/usr/sbin/sendmail")" = "$root/usr/bin/heraldctl"

# -- the system profile ------------------------------------------------------------
# A server that is never reached: the chroot has no network, so every delivery
# fails temporarily and the message stays queued.
{
  in_root heraldctl config --system set server smtp.example.com &&
  in_root heraldctl config --system set port 587 &&
  in_root heraldctl config --system set security starttls &&
  in_root heraldctl config --system set auth none &&
  in_root heraldctl config --system set from alerts@example.com &&
  in_root heraldctl config --system set to ops@example.com &&
  in_root heraldctl config --system set alerts-enabled true
} > "$out.config" 2>&1 || sed 's/^/#   /' "$out.config"
ok "heraldctl config --system set writes /etc/herald/herald.conf" \
  grep -q '^server=smtp.example.com$' "$root/etc/herald/herald.conf"

# -- sendmail -t and mailq ----------------------------------------------------------
rc=0
printf 'To: ops@example.com\nSubject: RAID degraded\n\n/dev/md0 lost a disk.\n' |
  in_root sendmail -t > "$out.sendmail" 2>&1 || rc=$?
sed 's/^/#   /' "$out.sendmail"
ok "root: sendmail -t exits 0 (queued)" test $rc -eq 0
ok "root: the message is in the system queue" \
  test "$(find "$root/var/spool/herald/queue" -maxdepth 1 -name '*.msg' | wc -l)" -eq 1
in_root mailq > "$out.mailq" 2>&1 || true
ok "mailq lists it" grep -q 'ops@example.com' "$out.mailq"

rc=0
printf 'To: ops@example.com\nSubject: from cron of nobody\n\nhello\n' |
  in_root setpriv --reuid=nobody --regid=nogroup --clear-groups sendmail -t > "$out.nobody" 2>&1 ||
  rc=$?
sed 's/^/#   /' "$out.nobody"
ok "nobody: sendmail -t exits 0 (maildrop)" test $rc -eq 0
ok "nobody: the message waits in the maildrop" \
  test "$(find "$root/var/spool/herald/maildrop" -type f | wc -l)" -eq 1
ok "nobody cannot list the maildrop" \
  not in_root setpriv --reuid=nobody --regid=nogroup --clear-groups ls /var/spool/herald/maildrop

# -- doctor --------------------------------------------------------------------------
in_root heraldctl doctor --system --json > "$out.doctor" 2>"$out.doctor.err" || true
doctor () {   # doctor ID STATUS
  python3 -c 'import json, sys
checks = {c["id"]: c["status"] for c in json.load(open(sys.argv[1]))["checks"]}
sys.exit(0 if checks.get(sys.argv[2]) == sys.argv[3] else 1)' "$out.doctor" "$1" "$2"
}
ok "doctor --system: /usr/sbin/sendmail is Herald" doctor sendmail ok
ok "doctor --system: /usr/lib/sendmail is Herald" doctor sendmail-lib ok
ok "doctor --system: the queue's units are enabled" doctor units ok

# -- remove: the queue stays, the count is told ---------------------------------------
queued () {
  find "$root/var/spool/herald/queue" "$root/var/spool/herald/maildrop" -maxdepth 1 -type f \
    \( -name '*.msg' -o -path '*/maildrop/*' \) | wc -l
}
pkg apt-get remove -y -q herald-mta > "$out.remove" 2>&1 || true
sed 's/^/#   /' "$out.remove" | grep -A3 -E 'herald-mta:|REMOVED' | head -16
ok "apt remove herald-mta says 2 messages are waiting" \
  grep -q '2 messages are still waiting in /var/spool/herald' "$out.remove"
ok "the queued message and the maildrop's stay" test "$(queued)" -eq 2
ok "apt remove herald-mta names the command that brings Postfix back" \
  grep -q '"apt install postfix" brings back' "$out.remove"
ok "... and the one-step swap for next time" grep -q 'apt install postfix herald-mta-' "$out.remove"
ok "no /usr/sbin/sendmail once herald-mta is removed (apt brings nothing back)" \
  test ! -e "$root/usr/sbin/sendmail" -a ! -L "$root/usr/sbin/sendmail"
ok "apt also removes bsd-mailx (it depends on a mail-transport-agent)" not state_is ii bsd-mailx
ok "the units are disabled again" not enabled herald-queue.timer
ok "heraldctl stays installed" state_is ii heraldctl

# -- Postfix back, from apt's cache ------------------------------------------------------
apt_offline () {
  pkg apt-get install -y -q --no-install-recommends --no-download "$@"
}
apt_offline postfix bsd-mailx > "$out.postfix" 2>&1 || sed 's/^/#   /' "$out.postfix" | tail -20
ok "apt install postfix: /usr/sbin/sendmail is Postfix's again" owner_is postfix /usr/sbin/sendmail
ok "Postfix's main.cf is the one it had" test "$(md5sum < "$root/etc/postfix/main.cf")" = "$main_cf_before"

# -- the swap the README shows: apt install postfix herald-mta- ---------------------------
# (--no-download breaks installing a .deb file: apt 2.6 says "Pathname to
# install is not absolute"; the chroot has no network anyway.)
pkg apt-get install -y -q --no-install-recommends "/tmp/$(basename "$mta_deb")" \
  > "$out.again" 2>&1 || sed 's/^/#   /' "$out.again" | tail -20
ok "herald-mta again: it replaces Postfix" owner_is herald-mta /usr/sbin/sendmail
ok "herald-mta again: bsd-mailx stays" state_is ii bsd-mailx
apt_offline postfix herald-mta- > "$out.swap" 2>&1 || sed 's/^/#   /' "$out.swap" | tail -20
ok "apt install postfix herald-mta-: /usr/sbin/sendmail is Postfix's again" \
  owner_is postfix /usr/sbin/sendmail
ok "apt install postfix herald-mta-: /usr/bin/mailq is Postfix's again" owner_is postfix /usr/bin/mailq
ok "apt install postfix herald-mta-: /usr/sbin/sendmail no longer runs heraldctl" \
  test "$(readlink -f "$root/usr/sbin/sendmail")" != "$root/usr/bin/heraldctl"
ok "apt install postfix herald-mta-: bsd-mailx stays" state_is ii bsd-mailx
ok "apt install postfix herald-mta-: says 2 messages are waiting" \
  grep -q '2 messages are still waiting in /var/spool/herald' "$out.swap"

# -- purge ---------------------------------------------------------------------------------
mkdir -p "$root/var/lib/herald" && echo secret > "$root/var/lib/herald/probe"
pkg dpkg --purge herald-mta > "$out.purge" 2>&1 || true
ok "purge removes the system profile" test ! -e "$root/etc/herald/herald.conf"
ok "purge removes root's secrets" test ! -e "$root/var/lib/herald"
ok "purge says undelivered mail is kept" grep -q '2 messages are kept in /var/spool/herald, undelivered' "$out.purge"
ok "purge keeps the undelivered mail" test "$(queued)" -eq 2

echo "1..$((passed + failed))"
echo "# $((passed + failed)) checks in $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
