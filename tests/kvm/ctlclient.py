#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# A minimal client of the VMM control protocol (src/common/ctl.h), for tests.
import socket
import struct
import sys
import time

MAGIC, VERSION = 0x42574B43, 1
PING, PAUSE, RESUME, POWER_BUTTON, STOP, STATS = 1, 2, 3, 4, 5, 6
REPLY, EVENT = 100, 101
HDR = struct.Struct("<IHHII")
# struct ctl_stats: exits, pio_exits, mmio_exits, cpu_ns, rss_bytes, then the I/O totals
# blk_reads, blk_writes, blk_read_bytes, blk_write_bytes, net_rx_frames, net_tx_frames,
# net_rx_bytes, net_tx_bytes, vsock_rx_bytes, vsock_tx_bytes.
STATS_FMT = struct.Struct("<15Q")


class Ctl:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.settimeout(5)
        self.s.connect(path)
        self.seq = 0

    def call(self, typ, payload=b""):
        self.seq += 1
        self.s.send(HDR.pack(MAGIC, VERSION, typ, self.seq, len(payload)) + payload)
        while True:
            m = self.s.recv(8192)
            if not m:
                raise ConnectionError("control socket closed")
            magic, ver, t, seq, ln = HDR.unpack_from(m)
            assert magic == MAGIC and ver == VERSION and len(m) == HDR.size + ln, "bad reply framing"
            if t == EVENT:
                continue
            assert t == REPLY and seq == self.seq, f"reply {t}/{seq} for request {self.seq}"
            status = struct.unpack_from("<i", m, HDR.size)[0]
            return status, m[HDR.size + 4:]

    def state(self):
        st, data = self.call(PING)
        assert st == 0, st
        return struct.unpack("<IIQQ", data)

    def stats(self):
        st, data = self.call(STATS)
        assert st == 0, st
        assert len(data) == STATS_FMT.size, f"ctl_stats is {len(data)} bytes, expected {STATS_FMT.size}"
        return STATS_FMT.unpack(data)

    def cpu_ns(self):
        return self.stats()[3]


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


def main():
    path = sys.argv[1]
    c = Ctl(path)
    state, ncpus, mem, _ = c.state()
    check(state == 1 and ncpus == 2 and mem == 64 << 20, f"status {state} {ncpus} {mem}")
    s = c.stats()
    check(s[0] > 0 and s[4] > 0, f"exits and RSS {s[:5]}")
    # The tiny guest never touches its disk (the VMM has one): the I/O totals are all 0.
    check(s[5:] == (0,) * 10, f"I/O totals of a guest that did no I/O: {s[5:]}")

    t0 = c.cpu_ns(); time.sleep(0.5); running = c.cpu_ns() - t0
    check(c.call(PAUSE)[0] == 0, "pause")
    check(c.call(PAUSE)[0] == 0, "pause is idempotent")
    check(c.state()[0] == 2, "state paused")
    t0 = c.cpu_ns(); time.sleep(0.5); paused = c.cpu_ns() - t0
    print(f"cpu over 0.5 s: running {running / 1e6:.0f} ms, paused {paused / 1e6:.0f} ms")
    check(running > 30e6, "the spinning guest burns CPU while running")
    check(paused < running / 4, "a paused guest burns (almost) no CPU")
    check(c.call(RESUME)[0] == 0, "resume")
    check(c.state()[0] == 1, "state running again")
    t0 = c.cpu_ns(); time.sleep(0.5); check(c.cpu_ns() - t0 > running / 4, "runs after resume")

    check(c.call(POWER_BUTTON)[0] == 0, "power button raises the GED interrupt")
    check(c.call(77)[0] == -95, "unknown request is refused")
    check(c.call(PING, b"x")[0] == -22, "unexpected payload is refused")

    # Garbage framing drops the client; the VMM keeps running and takes a new one.
    c.s.send(b"\x00" * 7)
    time.sleep(0.2)
    c = Ctl(path)
    check(c.state()[0] == 1, "a new client after a protocol error")
    # A second client replaces the first (a restarted daemon).
    c2 = Ctl(path)
    check(c2.state()[0] == 1, "the newest client is served")
    check(c2.call(STOP)[0] == 0, "stop")
    print("ok")


main()
