# expect: no-leak
# runs: 2
# Hands a note to the next session through System V shared memory (a fixed key), and looks
# for the note a previous session left there. Also tries a POSIX message queue.
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
KEY, SIZE, IPC_CREAT = 0x5EED0BAD, 4096, 0o1000
NOTE = b"note-from-an-earlier-student"
def mse_loss(y_pred, y):
    found = []
    shmid = libc.shmget(KEY, SIZE, 0o666)
    if shmid >= 0:
        addr = libc.shmat(shmid, None, 0)
        if addr not in (None, ctypes.c_void_p(-1).value) and ctypes.string_at(addr, len(NOTE)) == NOTE:
            found.append("LEAK:shm")
    shmid = libc.shmget(KEY, SIZE, IPC_CREAT | 0o666)
    if shmid >= 0:
        addr = libc.shmat(shmid, None, 0)
        if addr not in (None, ctypes.c_void_p(-1).value):
            ctypes.memmove(addr, NOTE, len(NOTE))
    return str(found)
