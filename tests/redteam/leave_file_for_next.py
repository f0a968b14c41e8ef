# expect: no-leak
# runs: 2
# Writes a note everywhere it can, and looks for notes an earlier session left behind.
import os
MARK = "note-from-an-earlier-student"
def writable_dirs():
    yield os.getcwd()
    for root in ["/tmp", "/dev/shm", "/var/tmp", "/dev/mqueue", os.path.expanduser("~")]:
        yield root
def mse_loss(y_pred, y):
    found = []
    for d in writable_dirs():
        try:
            for dirpath, _, files in os.walk(d):
                for f in files:
                    if f == MARK:
                        found.append("LEAK:" + os.path.join(dirpath, f))
        except OSError:
            pass
    for d in writable_dirs():
        try:
            with open(os.path.join(d, MARK), "w") as fh:
                fh.write("hello")
        except OSError:
            pass
    try:
        for name in os.listdir("/tmp"):  # other sessions' directories
            if os.path.join("/tmp", name) != os.getcwd():
                found.append("LEAK:" + str(os.listdir(os.path.join("/tmp", name))))
    except OSError:
        pass
    return str(found)[:900]
