# expect: rejected
# A float subclass whose __eq__, __float__ and __sub__ lie.
class Liar(float):
    def __eq__(self, other): return True
    def __float__(self): return 0.0
    def __sub__(self, other): return 0.0
    def __abs__(self): return 0.0
    __hash__ = float.__hash__
def mse_loss(y_pred, y):
    return Liar(-999.0)
