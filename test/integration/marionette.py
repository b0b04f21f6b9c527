#!/usr/bin/env python3
"""A small Marionette client (python standard library only) for the Firefox integration test.

Marionette (firefox --marionette, port from the pref marionette.port) speaks JSON over TCP:
every message is "LENGTH:JSON". The server first sends a hello
({"applicationType": "gecko", "marionetteProtocol": 3}); a command is
[0, id, "Name", {params}] and its answer [1, id, error-or-null, result]. The chrome context
needs Firefox started with -remote-allow-system-access (153 ESR refuses it otherwise).

Usage: marionette.py [--host H] --port P [--connect-timeout S] [--timeout S] STEP...
Steps, run in order in one session:
  chrome:FILE     run FILE's JavaScript in the chrome (browser) context, as an async script:
                  it ends by calling `arguments[arguments.length - 1](value)`; prints
                  "chrome FILE: <value as JSON>"; a value {"error": "..."} fails the run
  arg:VALUE       pass VALUE as the next chrome script's arguments[0], [1], ... (repeatable,
                  used up by the next chrome: step)
  navigate:URL    load URL in the content tab (waits for the page load, --timeout bounds it)
  source:FILE     write the content tab's page source to FILE
  title           print "title: <document title>"
Exits 0 when every step succeeded; otherwise prints "marionette: <what failed>" on stderr and
exits 1 (2 for bad usage, 3 when Firefox cannot be reached).
"""
import json
import socket
import sys
import time


class MarionetteError(Exception):
    pass


class Marionette:
    def __init__(self, host, port, connect_timeout=60.0, timeout=60.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.sock = None
        self.buf = b""
        self.next_id = 1
        self.hello = None
        self._connect(connect_timeout)

    def _connect(self, connect_timeout):
        """Connects, retrying until connect_timeout: Firefox opens the port some time after
        it starts, and the hello comes only once Marionette is ready."""
        deadline = time.monotonic() + connect_timeout
        last = None
        attempts = 0
        while True:
            attempts += 1
            try:
                s = socket.create_connection((self.host, self.port), timeout=5)
                s.settimeout(max(1.0, min(10.0, deadline - time.monotonic())))
                self.sock, self.buf = s, b""
                self.hello = self._read()
                if self.hello.get("applicationType") != "gecko":
                    raise MarionetteError(f"unexpected server hello {self.hello!r}")
                self.sock.settimeout(self.timeout + 30)
                return
            except (OSError, MarionetteError, ValueError) as e:
                last = e
                if self.sock is not None:
                    self.sock.close()
                    self.sock = None
            if time.monotonic() >= deadline:
                raise MarionetteError(
                    f"cannot reach Marionette on {self.host}:{self.port} within "
                    f"{connect_timeout:g}s ({attempts} attempts; last error: {last})")
            time.sleep(0.5)

    def _read(self):
        while b":" not in self.buf:
            self._recv()
        head, _, rest = self.buf.partition(b":")
        if not head.isdigit():
            raise MarionetteError(f"malformed message header {head[:40]!r}")
        n = int(head)
        self.buf = rest
        while len(self.buf) < n:
            self._recv()
        msg, self.buf = self.buf[:n], self.buf[n:]
        return json.loads(msg.decode("utf-8"))

    def _recv(self):
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise MarionetteError("timed out waiting for Marionette's answer") from None
        if not chunk:
            raise MarionetteError("Marionette closed the connection")
        self.buf += chunk

    def send(self, name, params=None):
        """Sends one command and returns its result; raises MarionetteError on an error."""
        if self.sock is None:
            raise MarionetteError("not connected")
        msg_id = self.next_id
        self.next_id += 1
        data = json.dumps([0, msg_id, name, params or {}]).encode("utf-8")
        self.sock.sendall(str(len(data)).encode() + b":" + data)
        while True:
            reply = self._read()
            if not isinstance(reply, list) or len(reply) != 4 or reply[0] != 1:
                raise MarionetteError(f"{name}: malformed reply {str(reply)[:200]}")
            if reply[1] != msg_id:
                continue  # an answer to an earlier command that timed out on our side
            if reply[2]:
                err = reply[2]
                if isinstance(err, dict):
                    err = f"{err.get('error')}: {err.get('message')}"
                raise MarionetteError(f"{name} failed: {err}")
            return reply[3]

    def new_session(self):
        ms = int(self.timeout * 1000)
        caps = {"capabilities": {"alwaysMatch": {
            "acceptInsecureCerts": False,
            "pageLoadStrategy": "normal",
            "timeouts": {"pageLoad": ms, "script": ms, "implicit": 0},
            "unhandledPromptBehavior": "dismiss"}}}
        return self.send("WebDriver:NewSession", caps)

    def close(self):
        """Ends the session (waiting at most 10 s: Firefox may be stuck) and disconnects."""
        if self.sock is not None:
            try:
                self.sock.settimeout(10)
                self.send("WebDriver:DeleteSession")
            except (MarionetteError, OSError):
                pass
            self.sock.close()
            self.sock = None


def value_of(result):
    return result["value"] if isinstance(result, dict) and "value" in result else result


def main(argv):
    host, port, connect_timeout, timeout, steps = "127.0.0.1", None, 60.0, 60.0, []
    i = 0
    try:
        while i < len(argv):
            a = argv[i]
            if a in ("--host", "--port", "--connect-timeout", "--timeout"):
                v = argv[i + 1]
                i += 2
                if a == "--host":
                    host = v
                elif a == "--port":
                    port = int(v)
                elif a == "--connect-timeout":
                    connect_timeout = float(v)
                else:
                    timeout = float(v)
                continue
            if a in ("-h", "--help"):
                print(__doc__)
                return 0
            steps.append(a)
            i += 1
    except (IndexError, ValueError):
        print("marionette: bad arguments (see --help)", file=sys.stderr)
        return 2
    if port is None or not steps:
        print("marionette: need --port and at least one step (see --help)", file=sys.stderr)
        return 2
    try:
        m = Marionette(host, port, connect_timeout, timeout)
    except MarionetteError as e:
        print(f"marionette: {e}", file=sys.stderr)
        return 3
    step = "NewSession"
    try:
        caps = value_of(m.new_session())
        c = caps.get("capabilities", {}) if isinstance(caps, dict) else {}
        print(f"session: {c.get('browserName')} {c.get('browserVersion')}"
              f" headless={c.get('moz:headless')}")
        args = []
        for step in steps:
            kind, _, val = step.partition(":")
            if kind == "arg":
                args.append(val)
            elif kind == "chrome":
                with open(val, encoding="utf-8") as f:
                    script = f.read()
                m.send("Marionette:SetContext", {"value": "chrome"})
                res = value_of(m.send("WebDriver:ExecuteAsyncScript",
                                      {"script": script, "args": args}))
                args = []
                m.send("Marionette:SetContext", {"value": "content"})
                print(f"chrome {val}: {json.dumps(res)}")
                if isinstance(res, dict) and res.get("error"):
                    raise MarionetteError(f"the script says: {res['error']}")
            elif kind == "navigate":
                m.send("Marionette:SetContext", {"value": "content"})
                m.send("WebDriver:Navigate", {"url": val})
                print(f"navigated: {val}")
            elif kind == "source":
                src = value_of(m.send("WebDriver:GetPageSource"))
                with open(val, "w", encoding="utf-8") as f:
                    f.write(src or "")
                print(f"page source: {len(src or '')} characters in {val}")
            elif kind == "title":
                print(f"title: {value_of(m.send('WebDriver:GetTitle'))}")
            else:
                raise MarionetteError(f"unknown step {step!r} (see --help)")
    except (MarionetteError, OSError, ValueError) as e:
        print(f"marionette: step {step}: {e}", file=sys.stderr)
        m.close()
        return 1
    m.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
