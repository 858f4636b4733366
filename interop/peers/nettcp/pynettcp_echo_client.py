#!/usr/bin/env python3
"""pynettcp (an independent Python net.tcp client, byte-exact with WCF) calls the echo
service over net.tcp: one session (one connection, one pair of session dictionaries), many
calls, then End.

usage: pynettcp_echo_client.py URL [--calls N] [--data-bytes N] [--fault] [--expect-framing-fault NAME]

Prints one line per checked call and exits 0 when every reply was right, 1 otherwise.
"""
import argparse
import base64
import sys

from pynettcp import Channel
from pynettcp.framing import FramingFault
from pynettcp.nbfx import SessionStr
from pynettcp.xmltree import events_to_string

NS = SessionStr("http://example.org/echo")


def body_echo(message):
    def write(w):
        w.start_element("e", SessionStr("echo"), NS)
        w.start_element("e", SessionStr("message"), NS)
        w.value(message)
        w.end_element()
        w.end_element()
    return write


def body_echo_data(data):
    def write(w):
        w.start_element("e", SessionStr("echoData"), NS)
        w.start_element("e", SessionStr("data"), NS)
        w.write_bytes(data)  # a Bytes record: binary on the wire, base64 in the infoset
        w.end_element()
        w.end_element()
    return write


def text_of(events, local):
    """The text content of the first element named `local` in a decoded event list."""
    inside = False
    out = []
    for e in events:
        if e[0] == "start" and e[2] == local:
            inside = True
        elif e[0] == "end" and inside:
            return "".join(out)
        elif e[0] == "text" and inside:
            v = e[1]
            out.append(base64.b64encode(v).decode() if isinstance(v, (bytes, bytearray)) else str(v))
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--calls", type=int, default=3)
    ap.add_argument("--data-bytes", type=int, default=0)
    ap.add_argument("--fault", action="store_true", help="also call an unknown action and expect a SOAP fault")
    ap.add_argument("--expect-framing-fault", default=None)
    args = ap.parse_args()

    if args.expect_framing_fault:
        try:
            with Channel(args.url, timeout=10) as ch:
                ch.call(action="http://example.org/echo/echo", body=body_echo("x"))
        except FramingFault as f:
            ok = f.short == args.expect_framing_fault
            print(f"framing fault {f.short}: {'ok' if ok else 'UNEXPECTED'}")
            return 0 if ok else 1
        print("no framing fault")
        return 1

    failures = 0
    with Channel(args.url, timeout=10) as ch:
        for i in range(args.calls):
            msg = f"hello {i} from pynettcp <&>"
            env = ch.call(action="http://example.org/echo/echo", body=body_echo(msg))
            got = text_of(env.body_events, "message")
            ok = got == msg and env.action == "http://example.org/echo/EchoPortType/echoResponse"
            failures += not ok
            print(f"echo {i}: {'ok' if ok else 'MISMATCH'} action={env.action} message={got!r}")
        if args.data_bytes:
            data = bytes((i * 31 + 7) % 256 for i in range(args.data_bytes))
            env = ch.call(action="http://example.org/echo/echoData", body=body_echo_data(data))
            got = text_of(env.body_events, "data")
            ok = got is not None and base64.b64decode(got) == data
            failures += not ok
            print(f"echoData {len(data)} bytes: {'ok' if ok else 'MISMATCH'}")
        if args.fault:
            env = ch.call(action="http://example.org/echo/nope", body=body_echo("x"))
            ok = env.is_fault
            failures += not ok
            print(f"fault: {'ok' if ok else 'NOT A FAULT'} {events_to_string(env.body_events)[:200]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
