#!/usr/bin/env python3
"""pynettcp's svcutil replacement against the echo service: fetch the metadata over net.tcp
(WS-MetadataExchange: a WS-Transfer Get to URL/mex), generate a typed Python client from the
WSDL, then call every operation through it on one session.

usage: pynettcp_codegen_client.py URL OUTDIR
Prints one line per check; exits 0 when all pass.
"""
import base64
import hashlib
import importlib.util
import subprocess
import sys


def main():
    url, outdir = sys.argv[1], sys.argv[2]
    module_path = f"{outdir}/echo_client.py"
    gen = subprocess.run(
        [sys.executable, "-m", "pynettcp.codegen", url, "-o", module_path],
        capture_output=True, text=True, timeout=60,
    )
    print(f"codegen: exit {gen.returncode}: {gen.stderr.strip()}")
    if gen.returncode != 0:
        return 1
    spec = importlib.util.spec_from_file_location("echo_client", module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    print(f"generated address: {module.DEFAULT_ADDRESS}")
    failures = 0
    with module.EchoClient() as client:
        got = client.echo("generated client over net.tcp")
        ok = got == "generated client over net.tcp"
        failures += not ok
        print(f"echo: {'ok' if ok else 'MISMATCH ' + repr(got)}")
        data = bytes((i * 31 + 7) % 256 for i in range(4096))
        got = client.echo_data(data)
        # WCF's serializer sends byte[] as a typed Bytes record and pynettcp's generated
        # reader passes a text record through as str; the infoset is the same base64 text.
        if isinstance(got, str):
            got = base64.b64decode(got)
        ok = got == data
        failures += not ok
        print(f"echoData: {'ok' if ok else 'MISMATCH'}")
        got = client.upload(b"abc")
        ok = str(got.get("length")) == "3" and got.get("sha256") == hashlib.sha256(b"abc").hexdigest()
        failures += not ok
        print(f"upload: {'ok' if ok else 'MISMATCH ' + repr(got)}")
        try:
            client.download(10)
            print("download: UNEXPECTED SUCCESS")
            failures += 1
        except module.ServiceFault as fault:
            print(f"download: ok (fault: {fault})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
