"""Without a CUDA device, target="cuda" raises RuntimeError with one line."""
import numpy as np

import mixir

for attempt in (
    lambda: mixir.compile("func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {\n"
                          "  return %a : tensor<4xf32>\n}\n", target="cuda"),
    lambda: mixir.scan(np.ones((1, 8, 4), np.float32),
                       np.zeros((1, 8, 4), np.float32), target="cuda"),
):
    try:
        attempt()
        print("no error")
    except RuntimeError as e:
        assert "\n" not in str(e), repr(str(e))
        print(f"RuntimeError: {e}")
print(f"available: {mixir.cuda_status()[0]}")
