# PyTorch's side of bench/profile/square_gemm.js: square fp32 matmuls on 2 threads (OpenBLAS in
# Debian's python3-torch), min over 9 repetitions of the mean per back-to-back call, same sizes.
import time
import torch

torch.set_num_threads(2)
for n in [128, 256, 512, 1024]:
    a = torch.rand(n, n) * 2 - 1
    b = torch.rand(n, n) * 2 - 1
    reps = max(5, round(1e9 / (2 * n ** 3)))
    best = 1e9
    for _ in range(9):
        t0 = time.perf_counter()
        for _ in range(reps):
            torch.mm(a, b)
        best = min(best, (time.perf_counter() - t0) * 1e3 / reps)
    print(f"{n}^3 {best:.4f} ms")
