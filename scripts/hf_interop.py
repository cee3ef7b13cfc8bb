#!/usr/bin/env python3
"""Downloads from Vessel's Hugging Face Hub endpoint with the pinned huggingface_hub, for the
interoperability tests (Tests/VesselServerTests/HubInteropTests.swift) and scripts/bench_hf.sh.

    HF_ENDPOINT=URL/hf hf_interop.py snapshot REPO REVISION CACHE [TOKEN]
    HF_ENDPOINT=URL/hf hf_interop.py file REPO REVISION FILENAME CACHE [TOKEN]
    HF_ENDPOINT=URL/hf hf_interop.py pretrained REPO REVISION CACHE [TOKEN]   (transformers'
        AutoConfig and AutoTokenizer, without torch; "files" holds the config's class, its
        hidden_size and the ids of "hello world")

Prints one JSON object: on success {"ok": true, "path", "files": {relative path: sha256 hex},
"requests": ["METHOD URL [range=…] [auth]", ...], "seconds": the call alone}; on failure {"ok": false, "type", "message",
"cause", "requests"} and exits 1. `requests` is every HTTP request the client sent (its own
httpx client, with a hook added), so a call served from the cache shows what it still asked.
"""
import hashlib
import json
import os
import sys
import time

import huggingface_hub
from huggingface_hub.utils import _http

requests = []


def factory():
    client = _http.default_client_factory()
    def record(request):
        line = f"{request.method} {request.url}"
        if "range" in request.headers:
            line += f" range={request.headers['range']}"
        if "authorization" in request.headers:
            line += " auth"
        requests.append(line)

    client.event_hooks["request"].append(record)
    return client


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def files_under(root):
    out = {}
    for folder, _, names in os.walk(root):
        for name in names:
            full = os.path.join(folder, name)
            out[os.path.relpath(full, root).replace(os.sep, "/")] = digest(full)
    return out


def main(argv):
    huggingface_hub.set_client_factory(factory)
    endpoint = os.environ["HF_ENDPOINT"]
    mode = argv[1]
    start = time.perf_counter()
    try:
        if mode == "snapshot":
            repo, revision, cache = argv[2:5]
            token = argv[5] if len(argv) > 5 else None
            path = huggingface_hub.snapshot_download(repo_id=repo, revision=revision, cache_dir=cache, endpoint=endpoint, token=token)
            seconds = time.perf_counter() - start
            result = {"ok": True, "path": path, "files": files_under(path)}
        elif mode == "file":
            repo, revision, filename, cache = argv[2:6]
            token = argv[6] if len(argv) > 6 else None
            path = huggingface_hub.hf_hub_download(repo_id=repo, filename=filename, revision=revision, cache_dir=cache, endpoint=endpoint, token=token)
            seconds = time.perf_counter() - start
            result = {"ok": True, "path": path, "files": {filename: digest(path)}}
        elif mode == "pretrained":
            # transformers without torch: a config and a tokenizer, as `from_pretrained` fetches them.
            repo, revision, cache = argv[2:5]
            token = argv[5] if len(argv) > 5 else None
            from transformers import AutoConfig, AutoTokenizer
            config = AutoConfig.from_pretrained(repo, revision=revision, cache_dir=cache, token=token)
            tokenizer = AutoTokenizer.from_pretrained(repo, revision=revision, cache_dir=cache, token=token)
            seconds = time.perf_counter() - start
            result = {"ok": True, "files": {"config_class": type(config).__name__, "hidden_size": str(config.hidden_size),
                                            "input_ids": json.dumps(tokenizer("hello world")["input_ids"])}}
        else:
            raise SystemExit(f"unknown mode {mode!r}")
    except Exception as error:  # the test reads what the user would see
        seconds = time.perf_counter() - start
        result = {"ok": False, "type": type(error).__name__, "message": str(error),
                  "cause": str(error.__cause__) if error.__cause__ is not None else None}
    result["seconds"] = seconds  # the call alone, not the hashing of its files
    result["requests"] = requests
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
