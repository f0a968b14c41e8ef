# expect: error
# An object whose == is always True, hoping the grader compares with ==.
class Liar:
    def __eq__(self, other):
        return True
    __hash__ = object.__hash__
def mse_loss(y_pred, y):
    return Liar()
