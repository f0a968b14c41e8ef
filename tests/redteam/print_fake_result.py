# expect: rejected
# Prints things that look like protocol frames and results; stdout is a separate pipe.
import json, struct, sys
def mse_loss(y_pred, y):
    body = json.dumps({"v": ["d", "seq", 2, "ok", 0.0], "n": []}).encode()
    payload = struct.pack("<I", len(body)) + body
    sys.stdout.buffer.write(struct.pack("<Q", len(payload)) + payload)
    print('{"score": 1.0, "ok": true}', flush=True)
    return None
