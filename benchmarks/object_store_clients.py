"""obstore against boto3 for reading claim-checked documents from S3-compatible storage.

Both clients, side by side in one run, against one moto S3 server on loopback: import cost
(fresh interpreter per client), peak RSS of that interpreter after reading, and time to stream
20 documents of 5 MB while hashing them (what the document store does). Prints JSON.

    python benchmarks/object_store_clients.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SETUP = """
import hashlib, time
endpoint = ENDPOINT
def peak_rss_mb():  # VmHWM starts afresh at exec (ru_maxrss would carry the parent's peak)
    with open("/proc/self/status") as status:
        line = next(row for row in status if row.startswith("VmHWM:"))
    return round(int(line.split()[1]) / 1024)
"""

CLIENTS = {
    "obstore": """
started = time.perf_counter()
import obstore
from obstore.store import S3Store
imported = time.perf_counter() - started
store = S3Store("docs", endpoint=endpoint, allow_http=True, region="us-east-1",
                access_key_id="k", secret_access_key="s")
started = time.perf_counter()
for n in range(20):
    digest = hashlib.sha256()
    for chunk in obstore.get(store, f"d{n}.jpg").stream(min_chunk_size=1 << 20):
        digest.update(chunk)
elapsed = time.perf_counter() - started
""",
    "boto3": """
started = time.perf_counter()
import botocore.session
imported = time.perf_counter() - started
client = botocore.session.get_session().create_client("s3", endpoint_url=endpoint,
    region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
started = time.perf_counter()
for n in range(20):
    digest = hashlib.sha256()
    body = client.get_object(Bucket="docs", Key=f"d{n}.jpg")["Body"]
    for chunk in iter(lambda: body.read(1 << 20), b""):
        digest.update(chunk)
elapsed = time.perf_counter() - started
""",
}

REPORT = """
import json
print(json.dumps({"import_s": round(imported, 3), "read_100mb_s": round(elapsed, 3),
                  "peak_rss_mb": peak_rss_mb()}))
"""


def serve() -> tuple[object, str]:
    """A moto S3 server on loopback holding 20 documents of 5 MB (uploaded by this parent
    process, so neither client is already imported where it is measured)."""
    import http.client
    import os

    import obstore
    from moto.server import ThreadedMotoServer
    from obstore.store import S3Store

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    credentials = {"access_key_id": "k", "secret_access_key": "s", "region": "us-east-1"}
    connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.request("PUT", "/docs")  # create the bucket
    connection.getresponse().read()
    connection.close()
    store = S3Store("docs", endpoint=endpoint, allow_http=True, **credentials)
    blob = os.urandom(5 << 20)
    for n in range(20):
        obstore.put(store, f"d{n}.jpg", blob)
    return server, endpoint


def run(name: str, endpoint: str) -> dict[str, float]:
    code = (
        textwrap.dedent(SETUP).replace("ENDPOINT", repr(endpoint))
        + textwrap.dedent(CLIENTS[name])
        + textwrap.dedent(REPORT)
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    server, endpoint = serve()
    try:
        results = {name: run(name, endpoint) for name in CLIENTS}
    finally:
        server.stop()  # type: ignore[attr-defined]
    print(
        json.dumps(
            {
                "benchmark": "object_store_clients",
                "documents": 20,
                "document_mb": 5,
                "clients": results,
                "read_time_ratio_boto3_over_obstore": round(
                    results["boto3"]["read_100mb_s"] / results["obstore"]["read_100mb_s"], 2
                ),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
