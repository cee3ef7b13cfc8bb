#!/usr/bin/env python3
"""boto3's side of the S3 benchmark (issue 9): times `upload_file` and `download_file` of one file
against an S3 endpoint (the Ceph RGW of `scripts/services.sh start-rgw`), so Vessel's push and pull
through the same bucket can be compared with it. Prints one JSON object per line; MB = 10^6 bytes.

    scripts/bench_s3_boto3.py FILE [--endpoint URL] [--bucket B] [--access-key K] [--secret-key S]
                                   [--repeat N] [--checksum when_supported|when_required]

Endpoint and keys default to VESSEL_TEST_S3_ENDPOINT / _ACCESS_KEY / _SECRET_KEY (eval the output
of `scripts/services.sh start-rgw`); the bucket defaults to vessel-test. Transfers use boto3's
default TransferConfig (printed in the first line: 8 MiB multipart threshold and part size,
10 threads) and path-style addressing. `--checksum` is botocore's request_checksum_calculation;
its default, when_supported, has boto3 compute a CRC32 of every part on the client. Each run
uploads to a fresh key, downloads into a temporary file beside FILE, checks the size, and deletes
every version of the key afterwards (the bucket is versioned).
"""
import argparse
import importlib.metadata
import json
import os
import sys
import tempfile
import time
import uuid

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file")
    ap.add_argument("--endpoint", default=os.environ.get("VESSEL_TEST_S3_ENDPOINT"))
    ap.add_argument("--bucket", default="vessel-test")
    ap.add_argument("--access-key", default=os.environ.get("VESSEL_TEST_S3_ACCESS_KEY"))
    ap.add_argument("--secret-key", default=os.environ.get("VESSEL_TEST_S3_SECRET_KEY"))
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--checksum", choices=["when_supported", "when_required"], default="when_supported")
    args = ap.parse_args()
    if not (args.endpoint and args.access_key and args.secret_key):
        ap.error("--endpoint, --access-key and --secret-key (or VESSEL_TEST_S3_*) are required")

    s3 = boto3.client(
        "s3",
        endpoint_url=args.endpoint,
        region_name=args.region,
        aws_access_key_id=args.access_key,
        aws_secret_access_key=args.secret_key,
        config=Config(s3={"addressing_style": "path"}, request_checksum_calculation=args.checksum),
    )
    transfer = TransferConfig()  # the defaults, deliberately
    size = os.path.getsize(args.file)
    emit({
        "tool": "boto3",
        "boto3": importlib.metadata.version("boto3"),
        "botocore": importlib.metadata.version("botocore"),
        "s3transfer": importlib.metadata.version("s3transfer"),
        "endpoint": args.endpoint,
        "bucket": args.bucket,
        "file": args.file,
        "bytes": size,
        "transfer_config": {
            "multipart_threshold": transfer.multipart_threshold,
            "multipart_chunksize": transfer.multipart_chunksize,
            "max_concurrency": transfer.max_concurrency,
            "use_threads": transfer.use_threads,
        },
        "request_checksum_calculation": args.checksum,
    })

    directory = os.path.dirname(os.path.abspath(args.file))
    for run in range(1, args.repeat + 1):
        key = f"bench/boto3-{uuid.uuid4().hex}"
        out = tempfile.NamedTemporaryFile(dir=directory, prefix=".bench-s3-", delete=False).name
        try:
            t0 = time.monotonic()
            s3.upload_file(args.file, args.bucket, key, Config=transfer)
            emit(result("upload_file", run, key, size, time.monotonic() - t0))
            t0 = time.monotonic()
            s3.download_file(args.bucket, key, out, Config=transfer)
            seconds = time.monotonic() - t0
            got = os.path.getsize(out)
            if got != size:
                print(f"download_file wrote {got} bytes, expected {size}", file=sys.stderr)
                return 1
            emit(result("download_file", run, key, size, seconds))
        finally:
            os.unlink(out)
            delete_all_versions(s3, args.bucket, key)
    return 0


def result(op: str, run: int, key: str, size: int, seconds: float) -> dict:
    return {"tool": "boto3", "op": op, "run": run, "key": key, "bytes": size,
            "seconds": round(seconds, 3), "mb_per_s": round(size / seconds / 1e6, 1)}


def delete_all_versions(s3, bucket: str, key: str) -> None:
    listing = s3.list_object_versions(Bucket=bucket, Prefix=key)
    for entry in listing.get("Versions", []) + listing.get("DeleteMarkers", []):
        if entry["Key"] == key:
            s3.delete_object(Bucket=bucket, Key=key, VersionId=entry["VersionId"])


def emit(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


if __name__ == "__main__":
    sys.exit(main())
