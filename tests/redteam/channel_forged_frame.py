# expect: error-or-rejected
# Writes a well-formed reply frame (a made-up value) straight into the result channel,
# then returns normally, hoping the grader takes the forged one.
import json, os, struct
def frame(seq, value):
    body = json.dumps({"v": ["d", "seq", seq, "ok", value], "n": []}).encode()
    payload = struct.pack("<I", len(body)) + body
    return struct.pack("<Q", len(payload)) + payload
def mse_loss(y_pred, y):
    for seq in range(1, 8):
        os.write(3, frame(seq, 0.0))
    return 1e9
