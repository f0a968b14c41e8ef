# expect: no-leak
# Tries to read the repository's reference solutions and hidden tests.
import glob, os
def mse_loss(y_pred, y):
    found = []
    for path in ["__SOLUTIONS__", "__SOLUTIONS__/losses.py", "__AUTOGRADER__", "/work", "/root", "/home"]:
        try:
            found.append("LEAK:" + (open(path).read(50) if os.path.isfile(path) else str(os.listdir(path))))
        except OSError:
            pass
    for pattern in ["/opt/*/solutions/*.py", "/opt/*/backproplab/_data/*/*", "/opt/*/backproplab/*.py", "/tmp/*/*.py"]:
        found += ["LEAK:" + p for p in glob.glob(pattern)[:3]]
    return str(found)[:900]
