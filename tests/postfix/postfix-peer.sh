#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
#
# postfix-peer.sh — a private, real Postfix submission server on loopback for
# tests and benchmarks. Everything lives under one base directory; /etc/postfix
# is only read and no system Postfix is started or touched.
#
# STABLE INTERFACE (the Postfix tests and the benchmark use it):
#
#   HERALD_PEER_PASSWORD=SECRET postfix-peer.sh start  BASE [PORT_OFFSET]
#   postfix-peer.sh status BASE
#   postfix-peer.sh stop   BASE
#
#   start   Creates BASE (if needed), writes the configuration, the test CA and
#           server certificate (BASE/tls), the SASL database with one user
#           "alice" whose password is $HERALD_PEER_PASSWORD (required, read from
#           the environment only, never printed, never on a command line), then
#           starts Postfix and waits until every listener answers. Refuses to
#           start when a port is already in use or BASE is already running.
#           On success prints shell assignments on stdout (and only those;
#           messages go to stderr), so callers can `eval "$(… start …)"`:
#             PEER_HOST=127.0.0.1
#             SUBMISSION_PORT=…      STARTTLS required, AUTH PLAIN LOGIN only after TLS
#             IMPLICIT_TLS_PORT=…    TLS from the first byte (wrapper mode), AUTH PLAIN LOGIN
#             PLAIN_PORT=…           no TLS at all, no AUTH, accepts mail from loopback
#             STARTTLS_NOAUTH_PORT=… STARTTLS offered, never AUTH, accepts mail from loopback
#             PEER_USER=alice        SASL user (also valid as alice@localhost)
#             CA_FILE=BASE/tls/ca.pem   the CA that signed the server certificate
#                                       (CN/SAN localhost, IP 127.0.0.1 and ::1)
#             MAILDIR=BASE/mail/Maildir every accepted message, one file per
#                                       envelope recipient, lands in MAILDIR/new
#             PEER_LOG=BASE/log/postfix.log
#           Ports are 10587, 10465, 10025 and 10026 plus PORT_OFFSET (default 0,
#           at most 55000). Relaying (any recipient) needs SASL AUTH on the
#           two AUTH ports; without AUTH they answer "554 5.7.1 … Relay access denied".
#   status  Prints the same assignments and exits 0 when BASE's Postfix runs,
#           exits 3 (and prints nothing on stdout) when it does not.
#   stop    Stops BASE's Postfix and every leftover Postfix process of this
#           instance, then checks no listener is left. Idempotent; exit 0 when
#           nothing of the instance is left running.
#
# Exit statuses: 0 ok, 1 failure (message on stderr), 2 bad usage, 3 not running.
# Needs root (Postfix's master and the sasldb permissions) and the Debian
# packages postfix, sasl2-bin, libsasl2-modules and openssl.
# The comment at each step says why it is done that way.
set -euo pipefail

PROG=postfix-peer.sh
POSTFIX_DAEMON_DIR=/usr/lib/postfix/sbin
VIRTUAL_UID=65534
VIRTUAL_GID=65534
PEER_USER_NAME=alice
PEER_REALM=localhost

die () { echo "$PROG: $*" >&2; exit 1; }
usage () {
  echo "Usage: $PROG start BASE [PORT_OFFSET] | status BASE | stop BASE" >&2
  echo "       (start needs HERALD_PEER_PASSWORD in the environment)" >&2
  exit 2
}

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

# Prints the inodes of LISTEN sockets bound to local port $1 (IPv4 and IPv6).
listen_inodes () {
  local port_hex
  port_hex=$(printf '%04X' "$1")
  local f
  for f in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$f" ] || continue
    # Columns: sl local rem st tx:rx tr:when retrnsmt uid timeout inode
    awk -v p=":$port_hex" 'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { print $10 }' "$f"
  done
}

port_in_use () { [ -n "$(listen_inodes "$1")" ]; }

# The master PID of BASE's instance, if it runs (checked through its
# MAIL_CONFIG so a stale pid file never makes us signal a stranger).
master_pid () {
  local pidfile=$BASE/queue/pid/master.pid pid
  [ -r "$pidfile" ] || return 1
  pid=$(tr -d ' \n' < "$pidfile")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  is_instance_process "$pid" || return 1
  echo "$pid"
}

# True when PID $1 is a Postfix binary started with MAIL_CONFIG=$CONF.
# A test process that exported MAIL_CONFIG is not a Postfix binary and is
# never matched.
is_instance_process () {
  local pid=$1 exe
  [ -r "/proc/$pid/environ" ] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  case "$exe" in
    "$POSTFIX_DAEMON_DIR"/*|/usr/sbin/postfix|/usr/sbin/postqueue|/usr/sbin/postdrop) ;;
    *) return 1 ;;
  esac
  tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qxF "MAIL_CONFIG=$CONF"
}

instance_pids () {
  local f pid
  # One grep over every environ (forking per process takes seconds), then
  # the executable check on the few candidates.
  for f in $(grep -lzxF "MAIL_CONFIG=$CONF" /proc/[0-9]*/environ 2>/dev/null); do
    pid=${f#/proc/}
    pid=${pid%/environ}
    [ "$pid" = "$$" ] && continue
    # Zombies have no exe link and are skipped; they are harmless anyway.
    if is_instance_process "$pid" 2>/dev/null; then
      echo "$pid"
    fi
  done
}

load_ports () {
  [ -r "$BASE/ports.env" ] || return 1
  # shellcheck disable=SC1091
  . "$BASE/ports.env"
}

print_assignments () {
  printf 'PEER_HOST=127.0.0.1\n'
  printf 'SUBMISSION_PORT=%d\n' "$SUBMISSION_PORT"
  printf 'IMPLICIT_TLS_PORT=%d\n' "$IMPLICIT_TLS_PORT"
  printf 'PLAIN_PORT=%d\n' "$PLAIN_PORT"
  printf 'STARTTLS_NOAUTH_PORT=%d\n' "$STARTTLS_NOAUTH_PORT"
  printf 'PEER_USER=%q\n' "$PEER_USER_NAME"
  printf 'CA_FILE=%q\n' "$BASE/tls/ca.pem"
  printf 'MAILDIR=%q\n' "$BASE/mail/Maildir"
  printf 'PEER_LOG=%q\n' "$BASE/log/postfix.log"
}

# Reads the 220 banner on port $1 and says QUIT (one descriptor, request and
# response in turn: a backgrounded writer would get /dev/null as stdin).
probe_banner () {
  local port=$1 line=''
  exec 9<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null || return 1
  if ! IFS= read -r -t 2 line <&9; then
    exec 9>&- 9<&-
    return 1
  fi
  printf 'QUIT\r\n' >&9 2>/dev/null || true
  IFS= read -r -t 1 _ <&9 2>/dev/null || true
  exec 9>&- 9<&-
  [[ "$line" == 220* ]]
}

# Writes the test CA and the server certificate into $1: the shared fixture
# script when it exists (same files as every other test), else openssl here.
make_certs () {
  local dir=$1 shared
  shared=$(cd "$(dirname "$0")/.." && pwd)/fixtures/make-test-certs.sh
  mkdir -p "$dir"
  if [ -x "$shared" ] || [ -f "$shared" ]; then
    bash "$shared" "$dir" >&2 || die "tests/fixtures/make-test-certs.sh failed"
  fi
  if [ ! -s "$dir/ca.pem" ] || [ ! -s "$dir/localhost.pem" ] || [ ! -s "$dir/localhost-key.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" -days 3650 \
      -subj "/CN=Herald Test CA" \
      -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null \
      || die "openssl could not make the test CA"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$dir/localhost-key.pem" -out "$dir/localhost.csr" \
      -subj "/CN=localhost" 2>/dev/null || die "openssl could not make the server key"
    printf '%s\n' "basicConstraints=CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" \
      "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" > "$dir/localhost.ext"
    openssl x509 -req -in "$dir/localhost.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" \
      -CAcreateserial -days 3650 -extfile "$dir/localhost.ext" \
      -out "$dir/localhost.pem" 2>/dev/null || die "openssl could not sign the server certificate"
    rm -f "$dir/localhost.csr" "$dir/localhost.ext"
  fi
  # Private keys readable by root only: Postfix reads them before dropping privileges.
  chmod 600 "$dir"/*-key.pem
}

check_tools () {
  local t
  for t in /usr/sbin/postfix /usr/sbin/postconf /usr/sbin/saslpasswd2 /usr/bin/openssl \
           /usr/bin/setpriv "$POSTFIX_DAEMON_DIR/master" "$POSTFIX_DAEMON_DIR/virtual"; do
    [ -x "$t" ] || die "missing $t (install: postfix sasl2-bin libsasl2-modules openssl util-linux)"
  done
  # Without the PLAIN/LOGIN plugins smtpd dies with "no SASL authentication
  # mechanisms" and clients see dropped connections: check up front.
  compgen -G '/usr/lib/*/sasl2/libplain.so*' > /dev/null \
    || die "the Cyrus SASL PLAIN plugin is missing (install libsasl2-modules)"
  compgen -G '/usr/lib/*/sasl2/libsasldb.so*' > /dev/null \
    || die "the Cyrus SASL sasldb plugin is missing (install libsasl2-modules)"
  id postfix > /dev/null 2>&1 || die "there is no postfix user (install postfix)"
  [ "$(id -u)" -eq 0 ] || die "must run as root (Postfix's master needs it)"
}

# ---------------------------------------------------------------------------
# start
# ---------------------------------------------------------------------------

write_config () {
  local B=$BASE
  cat > "$CONF/main.cf" <<EOF
# Private test instance written by tests/postfix/postfix-peer.sh. Do not edit.
compatibility_level = 3.6
queue_directory = $B/queue
data_directory = $B/data
maillog_file = $B/log/postfix.log
maillog_file_prefixes = $B
syslog_name = postfix-peer
myhostname = localhost
mydomain = localdomain
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP Postfix (postfix-peer)
biff = no
append_dot_mydomain = no
smtputf8_enable = yes
# No local or virtual domains: every recipient is remote, relaying rules apply
# to all of them. virtual_mailbox_domains must stay empty, or the static map
# below would make every domain local (an open relay).
mydestination =
relay_domains =
virtual_mailbox_domains =
virtual_alias_domains =
alias_maps =
alias_database =
local_recipient_maps =
default_transport = virtual
virtual_mailbox_base = $B/mail
virtual_mailbox_maps = static:Maildir/
virtual_uid_maps = static:$VIRTUAL_UID
virtual_gid_maps = static:$VIRTUAL_GID
virtual_mailbox_limit = 0
message_size_limit = 52428800
# Relaying needs SASL (no permit_mynetworks: the client is loopback).
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions =
smtpd_sasl_type = cyrus
cyrus_sasl_config_path = $B/conf/sasl
smtpd_sasl_path = smtpd
smtpd_sasl_auth_enable = no
smtpd_sasl_security_options = noanonymous
smtpd_sasl_local_domain =
smtpd_tls_auth_only = yes
broken_sasl_auth_clients = no
smtpd_tls_chain_files = $B/tls/localhost-key.pem, $B/tls/localhost.pem
smtpd_tls_security_level = none
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtp_tls_security_level = none
EOF

  cat > "$CONF/master.cf" <<EOF
# Private test instance written by tests/postfix/postfix-peer.sh. Do not edit.
127.0.0.1:$SUBMISSION_PORT inet n - n - - smtpd
  -o syslog_name=peer/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
127.0.0.1:$IMPLICIT_TLS_PORT inet n - n - - smtpd
  -o syslog_name=peer/submissions
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
127.0.0.1:$PLAIN_PORT inet n - n - - smtpd
  -o syslog_name=peer/plain
  -o smtpd_tls_security_level=none
  -o smtpd_sasl_auth_enable=no
  -o smtpd_relay_restrictions=permit_mynetworks,reject_unauth_destination
127.0.0.1:$STARTTLS_NOAUTH_PORT inet n - n - - smtpd
  -o syslog_name=peer/starttls-noauth
  -o smtpd_tls_security_level=may
  -o smtpd_sasl_auth_enable=no
  -o smtpd_relay_restrictions=permit_mynetworks,reject_unauth_destination
pickup     unix  n  -  n  60    1  pickup
cleanup    unix  n  -  n  -     0  cleanup
qmgr       unix  n  -  n  300   1  qmgr
tlsmgr     unix  -  -  n  1000? 1  tlsmgr
rewrite    unix  -  -  n  -     -  trivial-rewrite
bounce     unix  -  -  n  -     0  bounce
defer      unix  -  -  n  -     0  bounce
trace      unix  -  -  n  -     0  bounce
verify     unix  -  -  n  -     1  verify
flush      unix  n  -  n  1000? 0  flush
proxymap   unix  -  -  n  -     -  proxymap
proxywrite unix  -  -  n  -     1  proxymap
smtp       unix  -  -  n  -     -  smtp
relay      unix  -  -  n  -     -  smtp
showq      unix  n  -  n  -     -  showq
error      unix  -  -  n  -     -  error
retry      unix  -  -  n  -     -  error
discard    unix  -  -  n  -     -  discard
local      unix  -  n  n  -     -  local
virtual    unix  -  n  n  -     -  virtual
lmtp       unix  -  -  n  -     -  lmtp
anvil      unix  -  -  n  -     1  anvil
scache     unix  -  -  n  -     1  scache
postlog    unix-dgram n - n -   1  postlogd
EOF

  mkdir -p "$CONF/sasl"
  cat > "$CONF/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
sasldb_path: $B/sasl/sasldb2
mech_list: PLAIN LOGIN
EOF
  # Postfix stalls ~2 s on every command while main.cf looks freshly written
  # (its guard against half-written files): back-date the configuration.
  local past=$(( $(date +%s) - 60 ))
  touch -d "@$past" "$CONF/main.cf" "$CONF/master.cf" "$CONF/sasl/smtpd.conf"
}

cmd_start () {
  local offset=${1:-0}
  [[ "$offset" =~ ^[0-9]+$ ]] && [ "$offset" -le 55000 ] \
    || { echo "$PROG: PORT_OFFSET must be an integer from 0 to 55000" >&2; exit 2; }
  [ -n "${HERALD_PEER_PASSWORD:-}" ] \
    || { echo "$PROG: set HERALD_PEER_PASSWORD to the password for $PEER_USER_NAME" >&2; exit 2; }
  case "$HERALD_PEER_PASSWORD" in
    *$'\n'*|*$'\r'*) echo "$PROG: HERALD_PEER_PASSWORD must be one line" >&2; exit 2 ;;
  esac
  check_tools

  if master_pid > /dev/null; then
    die "an instance already runs in $BASE (stop it first)"
  fi

  SUBMISSION_PORT=$(( 10587 + offset ))
  IMPLICIT_TLS_PORT=$(( 10465 + offset ))
  PLAIN_PORT=$(( 10025 + offset ))
  STARTTLS_NOAUTH_PORT=$(( 10026 + offset ))
  local ports=("$SUBMISSION_PORT" "$IMPLICIT_TLS_PORT" "$PLAIN_PORT" "$STARTTLS_NOAUTH_PORT")

  # Postfix's master binds with SO_REUSEPORT, so a second instance on the same
  # ports would "start" and share the connections: refuse busy ports.
  local p
  for p in "${ports[@]}"; do
    if port_in_use "$p"; then
      die "port $p is already in use on this machine (choose another PORT_OFFSET)"
    fi
  done

  # Fresh state every time (the postfix uid may change between installs).
  mkdir -p "$BASE"
  chmod 755 "$BASE"
  rm -rf "$BASE/queue" "$BASE/data" "$BASE/mail" "$BASE/log" "$BASE/conf" "$BASE/sasl"
  mkdir -p "$CONF" "$BASE/queue" "$BASE/data" "$BASE/mail" "$BASE/log" "$BASE/sasl"
  chown postfix:postfix "$BASE/data"
  chown "$VIRTUAL_UID:$VIRTUAL_GID" "$BASE/mail"
  chmod 700 "$BASE/mail"

  make_certs "$BASE/tls"
  write_config

  cat > "$BASE/ports.env" <<EOF
SUBMISSION_PORT=$SUBMISSION_PORT
IMPLICIT_TLS_PORT=$IMPLICIT_TLS_PORT
PLAIN_PORT=$PLAIN_PORT
STARTTLS_NOAUTH_PORT=$STARTTLS_NOAUTH_PORT
EOF

  # The password goes through a pipe, never argv (visible in ps).
  printf '%s' "$HERALD_PEER_PASSWORD" \
    | saslpasswd2 -p -c -f "$BASE/sasl/sasldb2" -u "$PEER_REALM" "$PEER_USER_NAME" \
    || die "saslpasswd2 could not create the SASL database"
  # smtpd opens sasldb2 as user postfix on each AUTH; unreadable gives
  # "454 4.7.0 Temporary authentication failure", not 535.
  chown root:postfix "$BASE/sasl" "$BASE/sasl/sasldb2"
  chmod 750 "$BASE/sasl"
  chmod 640 "$BASE/sasl/sasldb2"
  if ! setpriv --reuid=postfix --regid=postfix --clear-groups test -r "$BASE/sasl/sasldb2"; then
    die "user postfix cannot read $BASE/sasl/sasldb2: a parent of $BASE is not searchable (make it 755)"
  fi
  if ! setpriv --reuid="$VIRTUAL_UID" --regid="$VIRTUAL_GID" --clear-groups test -w "$BASE/mail"; then
    die "uid $VIRTUAL_UID cannot write $BASE/mail: a parent of $BASE is not searchable (make it 755)"
  fi

  # postfix start reports to the log, not to stdout; rely on its exit code.
  if ! /usr/sbin/postfix -c "$CONF" start > "$BASE/log/start.out" 2>&1; then
    cat "$BASE/log/start.out" >&2 || true
    tail -n 20 "$BASE/log/postfix.log" >&2 2>/dev/null || true
    cmd_stop > /dev/null 2>&1 || true
    die "postfix did not start (see $BASE/log/postfix.log)"
  fi

  local master='' i
  for i in $(seq 1 100); do
    master=$(master_pid) && break
    sleep 0.05
  done
  [ -n "$master" ] || { cmd_stop > /dev/null 2>&1 || true; die "postfix's master did not come up"; }

  # Each port must have exactly one listener, and it must be ours (another
  # instance started at the same time could share the port via SO_REUSEPORT).
  local ours
  ours=$(ls -l "/proc/$master/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\].*/\1/p')
  for p in "${ports[@]}"; do
    local inodes n
    inodes=$(listen_inodes "$p")
    n=$(printf '%s\n' "$inodes" | grep -c . || true)
    if [ "$n" -ne 1 ] || ! grep -qxF "$inodes" <<< "$ours"; then
      cmd_stop > /dev/null 2>&1 || true
      die "port $p is shared with another listener (another instance started at the same time?)"
    fi
  done

  # Readiness: the banner on the plain-text ports; the implicit-TLS port is
  # checked as a LISTEN socket above (a bare TCP probe only logs SSL errors).
  for p in "$SUBMISSION_PORT" "$PLAIN_PORT" "$STARTTLS_NOAUTH_PORT"; do
    local ready=no
    for i in $(seq 1 100); do
      if probe_banner "$p"; then ready=yes; break; fi
      sleep 0.05
    done
    if [ "$ready" != yes ]; then
      tail -n 20 "$BASE/log/postfix.log" >&2 2>/dev/null || true
      cmd_stop > /dev/null 2>&1 || true
      die "port $p did not send a 220 greeting"
    fi
  done

  print_assignments
}

# ---------------------------------------------------------------------------
# stop / status
# ---------------------------------------------------------------------------

cmd_stop () {
  local master i pids
  if master=$(master_pid); then
    kill -TERM "$master" 2>/dev/null || true
    # The master exits within milliseconds; postfix-script would sleep 1 s.
    for i in $(seq 1 60); do
      is_instance_process "$master" || break
      sleep 0.05
    done
    if is_instance_process "$master"; then
      /usr/sbin/postfix -c "$CONF" stop > /dev/null 2>&1 || true
    fi
  fi

  # Leftovers (e.g. an smtpd still serving a client after a kill -9 of the
  # master): only Postfix binaries carrying this instance's MAIL_CONFIG.
  pids=$(instance_pids)
  if [ -n "$pids" ]; then
    kill -TERM $pids 2>/dev/null || true
    for i in $(seq 1 40); do
      pids=$(instance_pids)
      [ -z "$pids" ] && break
      sleep 0.05
    done
    if [ -n "$pids" ]; then
      kill -KILL $pids 2>/dev/null || true
      sleep 0.1
    fi
  fi

  pids=$(instance_pids)
  if [ -n "$pids" ]; then
    echo "$PROG: Postfix processes of $BASE are still running: $pids" >&2
    return 1
  fi
  if load_ports; then
    local p
    for p in "$SUBMISSION_PORT" "$IMPLICIT_TLS_PORT" "$PLAIN_PORT" "$STARTTLS_NOAUTH_PORT"; do
      # Listeners on our ports that belong to no process of ours would be
      # someone else's; only report them.
      if port_in_use "$p"; then
        echo "$PROG: warning: port $p is still in LISTEN (not ours?)" >&2
      fi
    done
  fi
  return 0
}

cmd_status () {
  if master_pid > /dev/null && load_ports; then
    print_assignments
    return 0
  fi
  exit 3
}

# ---------------------------------------------------------------------------

[ $# -ge 2 ] || usage
ACTION=$1
BASE_ARG=$2
case "$BASE_ARG" in
  /*) BASE=${BASE_ARG%/} ;;
  *) BASE=$(pwd)/${BASE_ARG%/} ;;
esac
[ -n "$BASE" ] && [ "$BASE" != / ] || usage
# main.cf and master.cf cannot quote paths.
case "$BASE" in
  *[[:space:],\'\"\$]*) echo "$PROG: BASE must not contain blanks, commas, quotes or \$" >&2; exit 2 ;;
esac
CONF=$BASE/conf

case "$ACTION" in
  start)  [ $# -le 3 ] || usage; cmd_start "${3:-0}" ;;
  stop)   [ $# -eq 2 ] || usage; cmd_stop ;;
  status) [ $# -eq 2 ] || usage; cmd_status ;;
  *) usage ;;
esac
