"""The COS forwarder (index.py), deployed to Tencent SCF on its own: not part of the Lambda artifact."""
