#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# The system units under a real systemd (build-aux/herald-dev test-deb-boot):
# the Debian 12 base of test-chroot.sh gets the built heraldctl and herald-mta,
# a system profile that delivers to an SMTP sink on the container's loopback,
# and one message root queued while nothing listened. Then systemd-nspawn boots
# it (systemd as PID 1, no network but loopback) and a check unit inside looks
# at what an administrator would:
#   - herald-queue.path and herald-queue.timer are active after boot (enabled
#     by herald-mta's postinst without a running systemd);
#   - the timer's first run (OnBootSec=1min) starts herald-queue.service, which
#     delivers root's queued message (the maildrop is empty, so the path unit
#     does not start it);
#   - a message `nobody` drops through sendmail starts herald-queue.service at
#     once through the path unit, and reaches the sink;
#   - each run of the hardened service ends in success, the queue and the
#     maildrop are empty afterwards.
# The results come back as TAP in a file; the container powers itself off.
#
# Needs systemd-nspawn (package systemd-container) and a host where it can boot
# a container. Never touches the machine's own system.
#
# Usage: test-boot.sh DEB_DIR     (as test-chroot.sh; shares its cached base tarball)
set -euo pipefail

deb_dir=$(realpath "$1")
heraldctl_deb=$(ls -t "$deb_dir"/heraldctl_*.deb | head -1)
mta_deb=$(ls -t "$deb_dir"/herald-mta_*.deb | head -1)
start=$(date +%s)

# The same base system (and cache) as test-chroot.sh.
. "$(dirname "$0")/base-system.sh"
tarball=$(herald_base_tarball "$deb_dir" "$heraldctl_deb")

root=$(mktemp -d "$deb_dir/boot.XXXXXX")
trap 'rm -rf --one-file-system "$root"' EXIT
chmod 0755 "$root"
tar -xf "$tarball" -C "$root"
cp "$heraldctl_deb" "$mta_deb" "$root/tmp/"
# A machine ID of its own, so that systemd does not see a first boot (which
# would enable every unit by preset: the units must be enabled by herald-mta's
# postinst alone).
tr -d '-' < /proc/sys/kernel/random/uuid > "$root/etc/machine-id"

in_root () {
  unshare --mount --net -- sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' \
    "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"
}

# -- before boot: the packages, the profile, the sink, one queued message -----------
# (Daemons never start in the chroot; the policy goes before boot.)
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
in_root apt-get install -y -q --no-install-recommends \
  "/tmp/$(basename "$heraldctl_deb")" "/tmp/$(basename "$mta_deb")" < /dev/null \
  > "$root/tmp/install.log" 2>&1 || { sed 's/^/#   /' "$root/tmp/install.log"; exit 1; }
rm -f "$root/usr/sbin/policy-rc.d"
for kv in server=127.0.0.1 port=2525 security=none auth=none from=alerts@example.com \
          to=ops@example.com alerts-enabled=true; do
  in_root heraldctl config --system set "${kv%%=*}" "${kv#*=}" > /dev/null
done

# An SMTP sink on the container's loopback, in Perl (perl-base is essential in
# Debian, so the base system has it): each message into /var/tmp/sink.
mkdir -p "$root/var/tmp/sink"
cat > "$root/usr/local/sbin/smtp-sink" <<'PERL'
#!/usr/bin/perl
use strict;
use warnings;
use IO::Socket::INET;

my $server = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 2525, Listen => 5,
                                   ReuseAddr => 1) or die "smtp-sink: cannot listen: $!\n";
my $count = 0;
while (my $client = $server->accept) {
  $client->autoflush(1);
  print $client "220 sink.test ESMTP\r\n";
  my ($in_data, $message) = (0, '');
  while (my $line = <$client>) {
    if ($in_data) {
      if ($line eq ".\r\n") {
        $count++;
        open my $file, '>', "/var/tmp/sink/$count.tmp" or die;
        print $file $message;
        close $file;
        rename "/var/tmp/sink/$count.tmp", "/var/tmp/sink/$count.eml";
        ($in_data, $message) = (0, '');
        print $client "250 2.0.0 queued as $count\r\n";
      } else {
        $message .= $line;
      }
    } elsif ($line =~ /^(EHLO|HELO)/i) {
      print $client "250-sink.test\r\n250 8BITMIME\r\n";
    } elsif ($line =~ /^DATA/i) {
      $in_data = 1;
      print $client "354 go ahead\r\n";
    } elsif ($line =~ /^QUIT/i) {
      print $client "221 2.0.0 bye\r\n";
      last;
    } else {
      print $client "250 2.0.0 ok\r\n";
    }
  }
  close $client;
}
PERL
chmod 0755 "$root/usr/local/sbin/smtp-sink"
cat > "$root/etc/systemd/system/smtp-sink.service" <<'UNIT'
[Unit]
Description=SMTP sink for the Herald boot test
Before=herald-queue.service

[Service]
ExecStart=/usr/local/sbin/smtp-sink

[Install]
WantedBy=multi-user.target
UNIT
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/smtp-sink.service "$root/etc/systemd/system/multi-user.target.wants/"

# Root's message while nothing listens (the chroot has no network at all): it
# waits in the queue for the timer's first run after boot.
printf 'To: ops@example.com\nSubject: boot test: queued before boot\n\nfor the timer\n' |
  in_root sendmail -t > "$root/tmp/queued.log" 2>&1 || true
sed 's/^/#   /' "$root/tmp/queued.log"

# -- the checks, run inside by a unit once the system is up --------------------------
cat > "$root/usr/local/sbin/herald-boot-check" <<'CHECK'
#!/bin/sh
out=/var/tmp/herald-boot.tap
n=0
: > "$out"
ok () {
  name=$1
  shift
  n=$((n + 1))
  if "$@" > /dev/null 2>&1; then echo "ok $n - $name" >> "$out"; else echo "not ok $n - $name" >> "$out"; fi
}
wait_for () {   # wait_for SECONDS COMMAND...
  left=$1
  shift
  while [ "$left" -gt 0 ]; do
    "$@" > /dev/null 2>&1 && return 0
    sleep 1
    left=$((left - 1))
  done
  return 1
}
sink_has () {
  grep -qs "^Subject: $1" /var/tmp/sink/*.eml
}
prop () {   # prop UNIT PROPERTY
  systemctl show -P "$2" "$1"
}
count_files () {
  find "$1" -maxdepth 1 -type f | wc -l
}

ok "herald-queue.path is active after boot" systemctl is-active --quiet herald-queue.path
ok "herald-queue.timer is active after boot" systemctl is-active --quiet herald-queue.timer
ok "root's message waits in the queue before the timer's first run" \
  test "$(count_files /var/spool/herald/queue)" -ge 1
ok "the timer's first run (OnBootSec=1min) delivers root's queued message" \
  wait_for 150 sink_has "boot test: queued before boot"
triggered () {   # the timer has triggered at least once ("n/a" when never)
  t=$(prop herald-queue.timer LastTriggerUSec)
  [ -n "$t" ] && [ "$t" != n/a ]
}
ok "the timer has started herald-queue.service" triggered
ran_ok () {   # ran_ok [INVOCATION]: a run other than INVOCATION finished, exit 0
  inv=$(prop herald-queue.service InvocationID)
  [ -n "$inv" ] && [ "$inv" != "${1:-}" ] &&
    [ "$(prop herald-queue.service ActiveState)" = inactive ] &&
    [ "$(prop herald-queue.service Result)" = success ] &&
    [ "$(prop herald-queue.service ExecMainStatus)" = 0 ]
}
ok "that run of the hardened service ended in success" wait_for 30 ran_ok
first_run=$(prop herald-queue.service InvocationID)
ok "herald-queue.service keeps no capability (CapabilityBoundingSet= empty)" \
  test "$(prop herald-queue.service CapabilityBoundingSet)" = ""
timer_trigger=$(prop herald-queue.timer LastTriggerUSec)
ok "the timer runs again 5 minutes after the service (OnUnitActiveSec=5min)" \
  test "$(prop herald-queue.timer TimersMonotonic | grep -c 'OnUnitActiveUSec.*5min')" -eq 1

printf 'To: ops@example.com\nSubject: boot test: from nobody\n\nthrough the maildrop\n' |
  setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/sbin/sendmail -t > /var/tmp/nobody.log 2>&1
ok "nobody: sendmail -t drops the message and exits 0" grep -q 'queued for the Herald service' /var/tmp/nobody.log
ok "herald-queue.path starts the service at once and nobody's message reaches the sink" \
  wait_for 30 sink_has "boot test: from nobody"
ok "it was the path unit, not the timer" test "$(prop herald-queue.timer LastTriggerUSec)" = "$timer_trigger"
ok "that run (another one) ended in success too" wait_for 30 ran_ok "$first_run"
ok "the maildrop is empty" test "$(count_files /var/spool/herald/maildrop)" -eq 0
ok "the queue is empty" test "$(find /var/spool/herald/queue -maxdepth 1 -name '*.msg' | wc -l)" -eq 0
ok "the sink got exactly the two messages" test "$(ls /var/tmp/sink/*.eml | wc -l)" -eq 2
ok "From is the profile's sender" grep -q '^From: .*alerts@example.com' /var/tmp/sink/2.eml
journalctl -q -b -u herald-queue.service -u herald-queue.path -u herald-queue.timer -o short-monotonic \
  > /var/tmp/herald-boot.journal 2>&1
echo "1..$n" >> "$out"
systemctl poweroff --no-block
CHECK
chmod 0755 "$root/usr/local/sbin/herald-boot-check"
cat > "$root/etc/systemd/system/herald-boot-check.service" <<'UNIT'
[Unit]
Description=Herald boot test
After=multi-user.target smtp-sink.service herald-queue.path herald-queue.timer

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/herald-boot-check
FailureAction=poweroff-force

[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/herald-boot-check.service "$root/etc/systemd/system/multi-user.target.wants/"
# No getty on the console; and no waiting for a network that is only
# loopback (herald-queue.service wants network-online.target).
ln -sf /dev/null "$root/etc/systemd/system/console-getty.service"
ln -sf /dev/null "$root/etc/systemd/system/systemd-networkd-wait-online.service"

# -- boot -------------------------------------------------------------------------------
# --register=no and --keep-unit: no machined and no system bus on the host are
# needed (the host's PID 1 need not be systemd).
rc=0
timeout 420 systemd-nspawn --quiet --directory="$root" --private-network --register=no \
  --keep-unit --boot > "$deb_dir/boot.log" 2>&1 || rc=$?
tap="$root/var/tmp/herald-boot.tap"
if [ ! -s "$tap" ]; then
  echo "not ok 1 - the container booted and ran the checks (systemd-nspawn exit $rc)"
  sed 's/\x1b\[[0-9;]*m//g; s/^/#   /' "$deb_dir/boot.log" | tail -40
  echo "1..1"
  echo "0 passed, 1 failed"
  exit 1
fi
cat "$tap"
passed=$(grep -c '^ok ' "$tap" || true)
failed=$(grep -c '^not ok ' "$tap" || true)
if [ "$failed" -ne 0 ] || ! grep -q '^1\.\.' "$tap"; then
  sed 's/^/#   /' "$root/var/tmp/herald-boot.journal" 2> /dev/null | tail -40
  [ "$failed" -ne 0 ] || failed=1
fi
echo "# booted, checked and powered off in $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
