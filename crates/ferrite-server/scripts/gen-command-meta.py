#!/usr/bin/env python3
"""Captures Redis 7.0's command metadata that Ferrite's command table does
not carry (command tips, key specifications, documentation: complexity,
arguments, history) for the commands Ferrite implements.

Usage: gen-command-meta.py REDIS_PORT FERRITE_PORT > src/cmd/redis_command_meta.resp

Both servers must be running (redis-server 7.0.x and ferrite). The output is
two RESP3 replies of redis-server, `COMMAND INFO <names>` and
`COMMAND DOCS <names>`, for the top-level commands ferrite's COMMAND LIST
reports. ferrite-server embeds the file (cmd/command.rs) and takes only
tips, key specs and docs from it; names, arity, flags, key positions and
ACL categories always come from ferrite's own table.
"""
import socket
import sys


def request(sock, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    sock.sendall(out)


def read_reply(f):
    """Reads one RESP3 reply and returns its raw bytes."""
    line = f.readline()
    kind = line[:1]
    raw = line
    if kind in b"+-:_,#(":
        return raw
    if kind in b"$=!":
        n = int(line[1:-2])
        if n >= 0:
            raw += f.read(n + 2)
        return raw
    if kind in b"*~>":
        n = int(line[1:-2])
        for _ in range(max(n, 0)):
            raw += read_reply(f)
        return raw
    if kind == b"%":
        n = int(line[1:-2])
        for _ in range(2 * n):
            raw += read_reply(f)
        return raw
    raise ValueError("unexpected RESP type %r" % line)


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port))
    f = sock.makefile("rb")
    request(sock, "HELLO", "3")
    read_reply(f)
    return sock, f


def main():
    redis_port, ferrite_port = int(sys.argv[1]), int(sys.argv[2])
    sock, f = connect(ferrite_port)
    request(sock, "COMMAND", "LIST")
    raw = read_reply(f)
    names = sorted(
        line.decode()
        for line in raw.split(b"\r\n")
        if line and line[:1] not in b"*~$" and b"|" not in line
    )
    sock.close()
    sock, f = connect(redis_port)
    request(sock, "COMMAND", "INFO", *names)
    info = read_reply(f)
    request(sock, "COMMAND", "DOCS", *names)
    docs = read_reply(f)
    sys.stdout.buffer.write(info + docs)


if __name__ == "__main__":
    main()
