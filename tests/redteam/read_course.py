# expect: no-leak
# Tries to read the answer key, the gradebook and other students' submissions in the course directory.
import os
def mse_loss(y_pred, y):
    found = []
    for root in ["__COURSE__", "__COURSE__/source", "__COURSE__/submitted/other"]:
        try:
            for name in os.listdir(root):
                found.append("LEAK:" + name)
        except OSError:
            pass
    for path in ["__COURSE__/answer_key.txt", "__COURSE__/gradebook.db"]:
        try:
            found.append("LEAK:" + open(path).read())
        except OSError:
            pass
    return str(found)[:900]
