#!/usr/bin/env python3
"""A net.tcp echo responder built on pynettcp's codecs (an independent implementation of
[MC-NBFX]/[MC-NBFS] session encoding, byte-exact with WCF), so that soapwire's net.tcp
*client* is checked against a third-party encoder and decoder. The [MC-NMF] responder
records (PreambleAck, SizedEnvelope, End) are written here by hand, as pynettcp ships
only the initiator side.

usage: pynettcp_echo_server.py PORT_FILE
Listens on 127.0.0.1, an ephemeral port written to PORT_FILE; serves sessions until killed.
Each request <e:echo><e:message>T</e:message></e:echo> is answered with
<e:echoResponse><e:message>T</e:message></e:echoResponse>, RelatesTo = its MessageID.
"""
import socket
import sys
import threading
import uuid

from pynettcp.nbfs import SessionCodec
from pynettcp.nbfx import DictStr, SessionStr
from pynettcp.soap import parse_envelope
from pynettcp.varint import encode_multibyte_int31, read_multibyte_int31

SOAP12 = DictStr("http://www.w3.org/2003/05/soap-envelope")
WSA10 = DictStr("http://www.w3.org/2005/08/addressing")
NS = SessionStr("http://example.org/echo")


def read_exact(f, n):
    data = f.read(n)
    if data is None or len(data) < n:
        raise EOFError
    return data


def read_string(f):
    return read_exact(f, read_multibyte_int31(f)).decode("utf-8")


def header_text(events, local):
    inside = False
    for e in events:
        if e[0] == "start" and e[2] == local:
            inside = True
        elif e[0] == "text" and inside:
            return str(e[1])
        elif e[0] == "end" and inside:
            return None
    return None


def serve(conn):
    f = conn.makefile("rwb")
    codec = SessionCodec()
    try:
        # Preamble: Version, Mode, Via, KnownEncoding, PreambleEnd.
        assert read_exact(f, 1) == b"\x00"
        read_exact(f, 2)
        assert read_exact(f, 1) == b"\x01"
        read_exact(f, 1)
        assert read_exact(f, 1) == b"\x02"
        via = read_string(f)
        assert read_exact(f, 1) == b"\x03"
        encoding = read_exact(f, 1)
        assert encoding == b"\x08", f"expected binary session encoding, got {encoding!r}"
        assert read_exact(f, 1) == b"\x0c"
        f.write(b"\x0b")
        f.flush()
        while True:
            record = read_exact(f, 1)
            if record == b"\x07":  # End: answer with ours, then close.
                f.write(b"\x07")
                f.flush()
                return
            assert record == b"\x06", f"unexpected record {record!r}"
            payload = read_exact(f, read_multibyte_int31(f))
            env = parse_envelope(codec.decode(payload))
            message = header_text(env.body_events, "message") or ""
            message_id = header_text(env.header_events, "MessageID")
            if message_id and not message_id.startswith("urn:"):
                # pynettcp decodes a UniqueId record to a bare GUID; its text form is urn:uuid:.
                message_id = "urn:uuid:" + str(uuid.UUID(message_id))

            def build(w):
                w.start_element("s", DictStr("Envelope"), SOAP12)
                w.xmlns("a", WSA10)
                w.start_element("s", DictStr("Header"), SOAP12)
                w.start_element("a", DictStr("Action"), WSA10)
                w.attribute("s", DictStr("mustUnderstand"), 1, namespace=SOAP12)
                w.value("urn:pynettcp:echoed:" + (env.action or ""))
                w.end_element()
                if message_id:
                    w.start_element("a", DictStr("RelatesTo"), WSA10)
                    w.value(message_id)
                    w.end_element()
                w.end_element()
                w.start_element("s", DictStr("Body"), SOAP12)
                w.start_element("e", SessionStr("echoResponse"), NS)
                w.start_element("e", SessionStr("message"), NS)
                w.value(message)
                w.end_element()
                w.end_element()
                w.end_element()
                w.end_element()

            out = codec.encode(build)
            f.write(b"\x06" + encode_multibyte_int31(len(out)) + out)
            f.flush()
    except (EOFError, ConnectionError, AssertionError) as e:
        print(f"session ended: {e!r} (via {locals().get('via')})", file=sys.stderr)
    finally:
        try:
            f.close()
            conn.close()
        except OSError:
            pass


def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    with open(sys.argv[1], "w") as pf:
        pf.write(str(s.getsockname()[1]))
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
