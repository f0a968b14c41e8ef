"""What runs inside the sandbox: the wire codec, a student session (`child`), the zygote.

This folder is bound read-only into bubblewrap as a package of its own and
imported there without the rest of backproplab, so its modules import only the
standard library, numpy and each other (relative imports). tests/test_sandbox.py
checks that from inside a sandbox.
"""
