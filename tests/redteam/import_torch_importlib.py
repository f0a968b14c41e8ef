# expect: forbidden
import importlib
def mse_loss(y_pred, y):
    torch = importlib.import_module("torch")
    return float(torch.nn.functional.mse_loss(torch.tensor(y_pred), torch.tensor(y)))
