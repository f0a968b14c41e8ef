# expect: no-leak
# A new user namespace makes the student root of it: then mount a tmpfs over the cwd, and
# try the other escapes a seccomp filter must deny (each success is reported).
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, CLONE_NEWNS = 0x10000000, 0x00020000
def mse_loss(y_pred, y):
    found = []
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0:
        found.append("LEAK:unshare")
        if libc.mount(b"none", os.getcwd().encode(), b"tmpfs", 0, None) == 0:
            found.append("LEAK:mount")
    if libc.unshare(CLONE_NEWUSER) == 0:
        found.append("LEAK:unshare-user")
    if libc.ptrace(0, 0, None, None) == 0:  # PTRACE_TRACEME
        found.append("LEAK:ptrace")
    return str(found)
