# expect: no-leak
# Uses shell tools to look for the repository, courses and home directories.
import subprocess
def mse_loss(y_pred, y):
    found = []
    for cmd in (["ls", "/work", "/root", "/home", "__COURSE__"], ["cat", "__SOLUTIONS__/losses.py"], ["id"]):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=2)
            if r.returncode == 0 and cmd[0] != "id":
                found.append("LEAK:" + r.stdout[:100])
            if cmd[0] == "id" and "uid=0" in r.stdout:
                found.append("LEAK:root")
        except OSError:
            pass
    return str(found)
