# expect: no-leak
# runs: 2
# Leaves a 3,000-level tree of folders (each with a file, the deepest one without
# permissions) in its session folder: too deep for a recursive cleanup, paths longer than
# PATH_MAX. The next session must start as usual, with nothing of it left.
import os
def mse_loss(y_pred, y):
    found = []
    for name in os.listdir("/tmp"):
        try:
            if os.path.join("/tmp", name) != os.getcwd() and os.listdir(os.path.join("/tmp", name)):
                found.append("LEAK:" + name)
        except OSError:
            pass
    fd = os.open(".", os.O_RDONLY)
    for _ in range(3000):
        os.mkdir("d", dir_fd=fd)
        sub = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(os.open("f", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=sub))
        os.close(fd)
        fd = sub
    os.mkdir("locked", dir_fd=fd)
    os.chmod("locked", 0, dir_fd=fd)
    os.close(fd)
    return str(found)
