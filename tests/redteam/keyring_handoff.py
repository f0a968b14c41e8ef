# expect: no-leak
# runs: 2
# Hands a note to the next session (and to every sandbox on the machine) through the kernel
# keyring of uid 65534, and looks for the note an earlier session left there.
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
SYS_add_key, SYS_request_key, SYS_keyctl = 248, 249, 250
KEY_SPEC_USER_KEYRING, KEYCTL_READ = -4, 11
def mse_loss(y_pred, y):
    found = []
    key = libc.syscall(SYS_request_key, b"user", b"backproplab-note", None, KEY_SPEC_USER_KEYRING)
    if key >= 0:
        buf = ctypes.create_string_buffer(64)
        if libc.syscall(SYS_keyctl, KEYCTL_READ, key, buf, 64) > 0:
            found.append("LEAK:keyring")
    note = b"note-from-an-earlier-student"
    if libc.syscall(SYS_add_key, b"user", b"backproplab-note", note, len(note), KEY_SPEC_USER_KEYRING) >= 0:
        found.append("LEAK:add_key")
    return str(found)
