#!/usr/bin/env python3
"""A packet delay line between two TUN devices, for the WAN model (bench/lib/wan-model.ts).

usage: wan-relay.py DELAY_MS TUN_A TUN_B

Every IP packet read from one device is written to the other DELAY_MS later (constant delay, so
each direction is a FIFO and nothing is reordered). It acts on packets: TCP is not terminated, so
the endpoints see a real round-trip time. Runs inside the router namespace, where the devices
exist (persistent, created with `ip tuntap add`). Stdlib only. Prints `ready` once both devices
are attached; stop it with SIGTERM. Verified recipe: shared/reference/wan-model.md.
"""
import collections
import fcntl
import os
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
BATCH = 256


def attach(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def stop(_signum, _frame):
    # Raise, don't set a flag: epoll.poll() is retried after a handled signal (PEP 475), so a
    # flag would leave an idle relay running and the next one would get EBUSY on TUNSETIFF.
    raise SystemExit(0)


def main():
    delay = float(sys.argv[1]) / 1000.0
    fd_a, fd_b = attach(sys.argv[2]), attach(sys.argv[3])
    other = {fd_a: fd_b, fd_b: fd_a}
    queues = {fd_a: collections.deque(), fd_b: collections.deque()}  # packets waiting to go OUT on fd
    poller = select.epoll()
    poller.register(fd_a, select.EPOLLIN)
    poller.register(fd_b, select.EPOLLIN)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("ready", flush=True)
    while True:
        now = time.monotonic()
        due = min((q[0][0] for q in queues.values() if q), default=None)
        timeout = -1 if due is None else max(0.0, due - now)
        for fd, _ in poller.poll(timeout):
            out = other[fd]
            stamp = time.monotonic() + delay
            for _ in range(BATCH):
                try:
                    packet = os.read(fd, 65535)
                except BlockingIOError:
                    break
                queues[out].append((stamp, packet))
        now = time.monotonic()
        for fd, queue in queues.items():
            while queue and queue[0][0] <= now:
                _, packet = queue.popleft()
                try:
                    os.write(fd, packet)
                except (BlockingIOError, OSError):
                    pass  # the device queue is full: the packet is lost, as on a real link


if __name__ == "__main__":
    main()
