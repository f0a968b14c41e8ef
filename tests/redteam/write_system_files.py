# expect: no-leak
# Tries to change the code every later session runs: numpy, the stdlib, the worker.
import os, numpy
def mse_loss(y_pred, y):
    found = []
    targets = [os.path.join(os.path.dirname(numpy.__file__), "__init__.py"), os.__file__,
               "/usr/bin/python3", "/opt/backproplab/worker.py", "/etc/passwd"]
    for path in targets:
        try:
            with open(path, "a") as f:
                f.write("\n# owned\n")
            found.append("LEAK:" + path)
        except OSError:
            pass
    for uid in (0,):
        try:
            os.setuid(uid)
            found.append("LEAK:setuid")
        except OSError:
            pass
    return str(found)
