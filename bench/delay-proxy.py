#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Copyright 2026 The Herald authors
"""delay-proxy.py: a loopback TCP proxy that makes round trips visible.

    delay-proxy.py --upstream 127.0.0.1:PORT --delay MS [--stats FILE]

Listens on 127.0.0.1 (a free port, printed as "PORT=<n>" on stdout) and
forwards every connection to the upstream port, also on loopback. Every chunk
of bytes, in either direction, is held back for the one-way delay before it is
passed on; order is kept. Because the kernel completes the TCP handshake at
once, the proxy stands in for it: nothing moves, in either direction, until
one round trip (2 x delay) after the connection was accepted.

Round trips are counted per connection, from the client's side:

  A *turn* is a client action (it sends bytes, or closes its side) that
  happens after the proxy has delivered to the client server bytes (or the
  server's close) that the server sent after it had received the client's
  previous action. It is the client answering something it had to wait a
  round trip for. Bytes a client writes back to back without such server
  data in between (pipelining, TLS Finished followed by EHLO) belong to one
  turn; server data that was already on its way before the client's last
  action (a TLS close_notify racing the client's own) starts no turn.

  round_trips = turns + 0.5

The half is the issue's accounting: the connection plus the greeting cost 1.5
round trips before the first turn, and the last turn (closing after the final
reply) waits for nothing. For STARTTLS the protocol minimum is then 7 turns
(greeting->EHLO, EHLO->STARTTLS, 220->ClientHello, ServerHello..Finished->
Finished+EHLO, EHLO->AUTH, 235->MAIL+RCPT+BDAT LAST(+QUIT), 250->close), i.e.
7.5 round trips; for implicit TLS 5 turns, 5.5 round trips.

When the client closes, one JSON line per connection is appended to the stats
file: {"conn", "turns", "round_trips", "c2s_chunks", "s2c_chunks",
"c2s_bytes", "s2c_bytes", "ms", "first_ms", "think_ms", "turn_think_ms"}: "ms" is the
time from accept to the client's close, "turn_think_ms" lists, per turn, how
long the client took to act after the server data it waited for was delivered
(its own processing on the critical path), "think_ms" is their sum, and
"first_ms" the time from accept to the client's first byte when the client
speaks first (implicit TLS: its ClientHello), else null. Only
loopback addresses are accepted.
"""

import argparse
import asyncio
import ipaddress
import json
import os
import signal
import sys
import time

CHUNK = 65536


class Connection:
    counter = 0

    def __init__(self, proxy, client_reader, client_writer):
        Connection.counter += 1
        self.id = Connection.counter
        self.proxy = proxy
        self.loop = asyncio.get_running_loop()
        self.t0 = self.loop.time()
        # Nothing moves before one round trip has passed (the TCP handshake).
        self.open_at = self.t0 + 2 * proxy.delay
        self.client_reader = client_reader
        self.client_writer = client_writer
        self.delivered = False   # an answer reached the client since its last action
        self.last_forward = float("-inf")  # when the client's latest bytes went upstream
        self.first_ms = None     # accept -> first client byte, when the client speaks first
        self.last_delivery = 0.0
        self.think = []          # per turn: ms from the last delivery to the client's action
        self.turns = 0
        self.c2s_chunks = self.s2c_chunks = 0
        self.c2s_bytes = self.s2c_bytes = 0
        self.recorded = False

    def client_action(self, now):
        if self.delivered:
            self.turns += 1
            self.delivered = False
            # How long the client took to answer what it had received.
            self.think.append(round((now - self.last_delivery) * 1000, 1))

    async def pump(self, reader, queue, from_client):
        """Reads chunks as they come and stamps each with its release time."""
        try:
            while True:
                data = await reader.read(CHUNK)
                now = self.loop.time()
                release = max(now, self.open_at) + self.proxy.delay
                if self.proxy.trace:
                    print("conn %d %8.1f ms %s %5d bytes%s" % (
                        self.id, (now - self.t0) * 1000, "C->S" if from_client else "S->C",
                        len(data), "" if data else " (close)"), file=sys.stderr, flush=True)
                if from_client:
                    if self.first_ms is None and not self.s2c_chunks:
                        self.first_ms = round((now - self.t0) * 1000, 1)
                    self.client_action(now)
                    if data:
                        self.c2s_chunks += 1
                        self.c2s_bytes += len(data)
                    else:
                        self.record(now)
                elif data:
                    self.s2c_chunks += 1
                    self.s2c_bytes += len(data)
                # Server data is an answer when the server sent it after the
                # client's latest bytes had reached it.
                await queue.put((release, data, not from_client and now > self.last_forward))
                if not data:
                    return
        except (ConnectionError, OSError):
            if from_client:
                self.record(self.loop.time())
            await queue.put((self.loop.time(), b"", True))

    async def sender(self, queue, writer, to_client):
        """Writes each chunk once its release time has come, in order."""
        try:
            while True:
                release, data, answer = await queue.get()
                wait = release - self.loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    if to_client and answer:
                        self.delivered = True
                        self.last_delivery = self.loop.time()
                    elif not to_client:
                        self.last_forward = self.loop.time()
                    return
                writer.write(data)
                await writer.drain()
                if to_client and answer:
                    self.delivered = True
                    self.last_delivery = self.loop.time()
                elif not to_client:
                    self.last_forward = self.loop.time()
        except (ConnectionError, OSError):
            return

    def record(self, now):
        if self.recorded:
            return
        self.recorded = True
        line = {
            "conn": self.id,
            "turns": self.turns,
            "round_trips": self.turns + 0.5,
            "c2s_chunks": self.c2s_chunks,
            "s2c_chunks": self.s2c_chunks,
            "c2s_bytes": self.c2s_bytes,
            "s2c_bytes": self.s2c_bytes,
            "ms": round((now - self.t0) * 1000, 1),
            "first_ms": self.first_ms,
            # CLOCK_MONOTONIC seconds (time.monotonic() in other processes).
            "accept_at": round(self.t0, 6),
            "close_at": round(now, 6),
            "think_ms": round(sum(self.think), 1),
            "turn_think_ms": self.think,
        }
        self.proxy.write_stats(line)

    async def run(self):
        peer = self.client_writer.get_extra_info("peername")
        if not peer or not ipaddress.ip_address(peer[0]).is_loopback:
            self.client_writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self.proxy.up_host, self.proxy.up_port)
        except OSError:
            self.client_writer.close()
            return
        c2s = asyncio.Queue()
        s2c = asyncio.Queue()
        tasks = [
            asyncio.create_task(self.pump(self.client_reader, c2s, True)),
            asyncio.create_task(self.sender(c2s, up_writer, False)),
            asyncio.create_task(self.pump(up_reader, s2c, False)),
            asyncio.create_task(self.sender(s2c, self.client_writer, True)),
        ]
        await asyncio.gather(*tasks, return_exceptions=True)
        self.record(self.loop.time())
        for w in (up_writer, self.client_writer):
            w.close()


class Proxy:
    def __init__(self, up_host, up_port, delay_ms, stats_path, trace=False):
        self.trace = trace
        self.up_host = up_host
        self.up_port = up_port
        self.delay = delay_ms / 1000.0
        self.stats_path = stats_path

    def write_stats(self, line):
        if not self.stats_path:
            return
        with open(self.stats_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")

    async def handle(self, reader, writer):
        sock = writer.get_extra_info("socket")
        if sock is not None:
            import socket
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await Connection(self, reader, writer).run()


async def main_async(args):
    host, _, port = args.upstream.rpartition(":")
    host = host.strip("[]")
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit("delay-proxy: the upstream must be a loopback address")
    proxy = Proxy(host, int(port), args.delay, args.stats, args.trace)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", args.port)
    print("PORT=%d" % server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="127.0.0.1:PORT")
    parser.add_argument("--delay", type=float, default=0.0, help="one-way delay in ms")
    parser.add_argument("--port", type=int, default=0, help="listen port (0: any free)")
    parser.add_argument("--stats", help="append one JSON line per connection here")
    parser.add_argument("--trace", action="store_true",
                        help="print every chunk (time since accept, direction, size) on stderr")
    args = parser.parse_args()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
