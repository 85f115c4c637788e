"""
resp.py - a tiny RESP2 client (stdlib only) for tests that talk to Redis
directly: commands go out as RESP arrays of bulk strings, replies come
back as str (+), int (:), str or None ($), list or None (*). An error
reply (-) raises RespError. Every socket operation has a timeout.
"""

import socket


class RespError(Exception):
    """Redis answered -ERR ... (the message is the exception's text)."""


class Resp:
    def __init__(self, port, host='127.0.0.1', timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b''

    def close(self):
        self.sock.close()

    def call(self, *args):
        """Sends one command and returns its reply."""
        out = [b'*%d\r\n' % len(args)]
        for a in args:
            if not isinstance(a, bytes):
                a = str(a).encode()
            out.append(b'$%d\r\n%s\r\n' % (len(a), a))
        self.sock.sendall(b''.join(out))
        return self._reply()

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError('redis closed the connection')
        self.buf += data

    def _line(self):
        while b'\r\n' not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b'+':
            return rest.decode()
        if kind == b'-':
            raise RespError(rest.decode())
        if kind == b':':
            return int(rest)
        if kind == b'$':
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data.decode()
        if kind == b'*':
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RespError('bad reply line %r' % line)
