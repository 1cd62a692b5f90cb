#!/usr/bin/env python3
"""Rewrite a capture's ids as UUIDs: the same traffic with the id format
many platforms use (36 bytes, against gencapture.py's "e-0012983" and
"bg00288"), for bench/run.sh's shapes benchmark (docs/bench.md).

    tools/uuid_ids.py IN OUT

In a line that is a JSON object without duplicate keys, every value of
event_id, account, counterparty, packet_id and ref that is a plain string
of 1-64 bytes becomes the UUID-formatted MD5 of the value, so one id maps
to one UUID wherever it appears (a transfer's event_id and the complaint's
ref naming it still match). Only those values' bytes change; every other
line is copied unchanged (so the malformed ones mostly stay malformed for
the same reason). Deterministic.
"""
import hashlib
import json
import os
import re
import sys

ID_VALUE = re.compile(rb'"(event_id|account|counterparty|packet_id|ref)"(\s*:\s*)"([^"\\]{1,64})"')


def uuid_of(value):
    h = hashlib.md5(value).hexdigest()
    return ("%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:32])).encode()


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


def rewrite(line):
    try:
        obj = json.loads(line, object_pairs_hook=no_duplicates)
    except ValueError:
        return line
    if not isinstance(obj, dict):
        return line
    return ID_VALUE.sub(lambda m: b'"' + m.group(1) + b'"' + m.group(2) + b'"' + uuid_of(m.group(3)) + b'"', line)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: uuid_ids.py IN OUT")
    with open(sys.argv[1], "rb") as src, open(sys.argv[2] + ".tmp", "wb") as out:
        for line in src:
            out.write(rewrite(line))
    os.replace(sys.argv[2] + ".tmp", sys.argv[2])


if __name__ == "__main__":
    main()
