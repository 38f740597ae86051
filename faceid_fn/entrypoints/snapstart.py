"""Lambda SnapStart's runtime hooks: what makes an instance restored from a snapshot safe to serve
(random re-seeded, connections and cached credentials dropped)."""

from __future__ import annotations

import gc
import random

from faceid_fn import container
from faceid_fn.observability import logger


def before_snapshot() -> None:
    container.load_for_snapshot()  # boto3 and the AWS service models the first requests need: into the snapshot
    container.drop_connections()
    # What init built lives as long as the instance: collect once and move it out of the collector's view,
    # so that a full collection over init's objects (bench/README.md) does not fall on the first request
    # after a restore, whenever the allocation counters happen to trigger one.
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
