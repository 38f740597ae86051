"""Lambda SnapStart runtime hooks: what makes an instance restored from a snapshot safe to serve.

With SnapStart on (the `snapStart` deploy param), Lambda runs the cold start's init once per published
version, snapshots the memory, and resumes every new instance from that snapshot. So everything init
left in memory is shared by all instances and may be old when they resume:
- the random generator's state: every instance would draw the same numbers (the SDK's request Nonce,
  retry jitter), so it is re-seeded from the OS;
- pooled connections (the Tencent SDK's requests.Session, the upload session, boto3 clients, the
  ledger's DynamoDB session, the Parameters and Secrets extension's session): their sockets belong to
  the machine that took the snapshot, so they are closed before the snapshot and again after the
  restore (sessions and clients open new ones on next use);
- cached credentials: the secret may have been rotated since the snapshot, so it is read again on the
  first request (the value read at init stays only as the fallback for a failed read); the webhook
  signing secret too.

Before the snapshot, the hook also loads boto3 and the AWS service models that the first requests would
load (`container.prime`), and builds the session ledger's thin DynamoDB client (faceid_fn/adapters/aws/dynamodb.py),
which records every start.

The hooks are registered with AWS's `snapshot_restore_py` (in Lambda's Python runtimes; the runtime
calls `get_before_snapshot()` / `get_after_restore()` entries as `func(*args, **kwargs)`). Where the
module is missing (nothing but SnapStart calls these hooks), nothing is registered.
"""

from __future__ import annotations

import gc
import random

from faceid_fn import container
from faceid_fn.observability import logger


def before_snapshot() -> None:
    container.load_for_snapshot()  # boto3 and the AWS service models the first requests need: into the snapshot
    container.drop_connections()
    # What init built lives as long as the instance: collect once and move it out of the collector's view,
    # so that a full collection (about 20 ms over init's objects, measured) does not fall on the first
    # request after a restore, whenever the allocation counters happen to trigger one.
    gc.collect()
    gc.freeze()


def after_restore() -> None:
    random.seed()  # from os.urandom: each restored instance draws its own numbers
    container.drop_connections()
    logger.info("restored from a SnapStart snapshot: random re-seeded, connections and credentials dropped")


def register() -> bool:
    """Register both hooks with the runtime; False where snapshot_restore_py is not installed."""
    try:
        import snapshot_restore_py as hooks
    except ImportError:
        return False
    if not any(entry[0] is before_snapshot for entry in hooks.get_before_snapshot()):  # once per process
        hooks.register_before_snapshot(before_snapshot)
        hooks.register_after_restore(after_restore)
    return True
