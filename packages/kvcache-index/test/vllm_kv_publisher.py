#!/usr/bin/env python3
"""A stand-in for one vLLM engine's KV event publisher, written apart from our TypeScript encoder.

It speaks vLLM's wire format (vllm/distributed/kv_events.py, ZmqEventPublisher): three frames per
message, [topic "kv@<pod>@<model>", sequence as 8-byte big-endian uint64, msgpack payload], the
payload an EventBatch [ts, [events...], data_parallel_rank] whose events are arrays tagged with
their class name (msgspec array_like):
  ["BlockStored", block_hashes, parent_block_hash, token_ids, block_size, lora_id, medium]
  ["BlockRemoved", block_hashes, medium]
  ["AllBlocksCleared"]
Block hashes are bytes, chained like vLLM's sha256 prefix-cache hashes (each block's hash covers
its parent's hash and its tokens), so the consumer has to take them as vLLM sends them.

The socket is an XPUB (a PUB socket that also hands the publisher each subscription): the script
waits for the subscriber's subscription before it publishes, so no message is lost to ZMQ's
"slow joiner" and the test can count messages exactly. Subscribers see a plain PUB socket.

Usage: vllm_kv_publisher.py POD MODEL BLOCK_SIZE
Prints "port N" once bound to 127.0.0.1:N, "subscribed" once a subscriber is in, then reads one
JSON command per line from stdin and publishes one batch for each, printing "sent SEQ":
  {"op": "store", "tokens": [...], "medium": "GPU"}   blocks of tokens not stored yet (full blocks only)
  {"op": "offload", "tokens": [...], "medium": "CPU"} copies of stored blocks on another tier (no tokens)
  {"op": "remove", "tokens": [...], "blocks": [i, ...], "medium": "GPU"}
  {"op": "clear"}
"""

import hashlib
import json
import struct
import sys
import time

import msgpack
import zmq


def block_hashes(tokens, block_size):
    """vLLM-style chained block hashes of the full blocks of `tokens` (32-byte sha256 digests)."""
    parent = hashlib.sha256(b"NONE_HASH:42").digest()
    hashes = []
    for start in range(0, len(tokens) - block_size + 1, block_size):
        block = tokens[start : start + block_size]
        h = hashlib.sha256(parent + json.dumps(block).encode()).digest()
        hashes.append(h)
        parent = h
    return hashes


def main():
    pod, model, block_size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    topic = f"kv@{pod}@{model}".encode()
    ctx = zmq.Context()
    sock = ctx.socket(zmq.XPUB)
    sock.setsockopt(zmq.LINGER, 5000)
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    print(f"port {port}", flush=True)
    while True:
        message = sock.recv()
        if message[:1] == b"\x01":  # a subscription (b"\x00..." would be an unsubscription)
            break
    print("subscribed", flush=True)

    stored = {}  # hash -> medium set: what this engine holds
    seq = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        op = cmd["op"]
        medium = cmd.get("medium", "GPU")
        if op == "store":
            tokens = cmd["tokens"]
            hashes = block_hashes(tokens, block_size)
            new = [i for i, h in enumerate(hashes) if medium not in stored.get(h, set())]
            first = new[0] if new else len(hashes)
            if new != list(range(first, first + len(new))):
                raise SystemExit("store: the blocks to store must follow each other")
            parent = hashes[first - 1] if first > 0 else None
            events = [
                [
                    "BlockStored",
                    [hashes[i] for i in new],
                    parent,
                    tokens[first * block_size : (new[-1] + 1) * block_size] if new else [],
                    block_size,
                    None,
                    medium,
                ]
            ]
            for i in new:
                stored.setdefault(hashes[i], set()).add(medium)
        elif op == "offload":
            hashes = block_hashes(cmd["tokens"], block_size)
            events = [["BlockStored", hashes, None, [], block_size, None, medium]]
            for h in hashes:
                stored.setdefault(h, set()).add(medium)
        elif op == "remove":
            hashes = block_hashes(cmd["tokens"], block_size)
            gone = [hashes[i] for i in cmd["blocks"]]
            events = [["BlockRemoved", gone, medium]]
            for h in gone:
                stored.get(h, set()).discard(medium)
        elif op == "clear":
            events = [["AllBlocksCleared"]]
            stored.clear()
        else:
            raise SystemExit(f"unknown op {op!r}")
        payload = msgpack.packb([time.time(), events, None], use_bin_type=True)
        sock.send_multipart([topic, struct.pack(">Q", seq), payload])
        print(f"sent {seq}", flush=True)
        seq += 1
    sock.close()
    ctx.term()


if __name__ == "__main__":
    main()
