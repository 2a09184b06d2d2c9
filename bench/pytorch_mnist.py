"""PyTorch yardstick for BenchmarkMNISTForward and BenchmarkMNISTTrainStep
(unet/mnist_bench_test.go): the embedded model's UNet2DModel config
(train/configs/mnist-default.json) — 28x28 grey, block_out_channels
(32, 64, 64), one resnet per block, DownBlock2D, DownBlock2D,
AttnDownBlock2D / AttnUpBlock2D, UpBlock2D, UpBlock2D, mid-block attention,
GroupNorm(8, eps 1e-5), flip_sin_to_cos, 11 class embeddings, "default"
time conditioning — built from plain torch.nn modules (diffusers is not
installable here), random weights. It prints its parameter count, which
must be the Go model's: 1,114,209.

  forward:    batch 1, no grad, ms per call
  train step: batch 64, forward + backward of the epsilon-MSE loss (no
              optimiser step, as the Go benchmark), ms per step

Usage: python3 bench/pytorch_mnist.py [threads] [runs]
Prints median and best of the runs for each; compare ratios measured side
by side (scripts/bench-mnist.sh), not absolute times.
"""
import math, statistics, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

G, EPS = 8, 1e-5


class Resnet(nn.Module):
    def __init__(s, cin, cout, temb):
        super().__init__()
        s.n1 = nn.GroupNorm(G, cin, eps=EPS); s.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        s.t = nn.Linear(temb, cout); s.n2 = nn.GroupNorm(G, cout, eps=EPS); s.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        s.sc = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(s, x, emb):
        h = s.c1(F.silu(s.n1(x)))
        h = h + s.t(emb)[:, :, None, None]
        h = s.c2(F.silu(s.n2(h)))
        return (s.sc(x) if s.sc is not None else x) + h


class Attn(nn.Module):
    def __init__(s, c, head_dim=32):
        super().__init__()
        s.heads, s.d = c // head_dim, head_dim
        s.n = nn.GroupNorm(G, c, eps=EPS); s.q = nn.Linear(c, c); s.k = nn.Linear(c, c); s.v = nn.Linear(c, c); s.o = nn.Linear(c, c)

    def forward(s, x):
        b, c, h, w = x.shape
        t = s.n(x).view(b, c, h * w).transpose(1, 2)
        split = lambda z: z.view(b, h * w, s.heads, s.d).transpose(1, 2)
        q, k, v = split(s.q(t)), split(s.k(t)), split(s.v(t))
        p = torch.softmax(q @ k.transpose(-1, -2) * s.d ** -0.5, dim=-1)
        a = (p @ v).transpose(1, 2).reshape(b, h * w, c)
        return s.o(a).transpose(1, 2).reshape(b, c, h, w) + x


class UNet(nn.Module):
    def __init__(s, ch=(32, 64, 64), classes=11):
        super().__init__()
        temb = 4 * ch[0]
        s.ch0 = ch[0]
        s.l1 = nn.Linear(ch[0], temb); s.l2 = nn.Linear(temb, temb)
        s.cls = nn.Embedding(classes, temb)
        s.cin = nn.Conv2d(1, ch[0], 3, padding=1)
        s.down = nn.ModuleList(); skips = [ch[0]]; c = ch[0]
        for i, co in enumerate(ch):
            s.down.append(Resnet(c, co, temb)); c = co; skips.append(c)
            if i == len(ch) - 1:  # AttnDownBlock2D
                s.down.append(Attn(c))
            if i < len(ch) - 1:
                s.down.append(nn.Conv2d(c, c, 3, stride=2, padding=1)); skips.append(c)
        s.mid = nn.ModuleList([Resnet(c, c, temb), Attn(c), Resnet(c, c, temb)])
        s.up = nn.ModuleList()
        for i, co in enumerate(reversed(ch)):
            for _ in range(2):
                s.up.append(Resnet(c + skips.pop(), co, temb)); c = co
                if i == 0:  # AttnUpBlock2D
                    s.up.append(Attn(c))
            if i < len(ch) - 1:
                s.up.append(nn.Upsample(scale_factor=2, mode="nearest")); s.up.append(nn.Conv2d(c, c, 3, padding=1))
        s.nout = nn.GroupNorm(G, ch[0], eps=EPS); s.cout = nn.Conv2d(ch[0], 1, 3, padding=1)

    def forward(s, x, t, y):
        half = s.ch0 // 2
        f = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
        e = t[:, None].float() * f[None]
        emb = s.l2(F.silu(s.l1(torch.cat([e.cos(), e.sin()], -1)))) + s.cls(y)
        emb = F.silu(emb)
        h = s.cin(x); skips = [h]
        for m in s.down:
            if isinstance(m, Attn):  # the skip is the attention's output
                h = m(h); skips[-1] = h
                continue
            h = m(h, emb) if isinstance(m, Resnet) else m(h)
            skips.append(h)
        for m in s.mid:
            h = m(h, emb) if isinstance(m, Resnet) else m(h)
        for m in s.up:
            if isinstance(m, Resnet):
                h = m(torch.cat([h, skips.pop()], 1), emb)
            else:
                h = m(h)
        return s.cout(F.silu(s.nout(h)))


def timed(f, runs):
    f(); f()  # warm up
    ts = []
    for _ in range(runs):
        a = time.perf_counter(); f(); ts.append(time.perf_counter() - a)
    return statistics.median(ts) * 1e3, min(ts) * 1e3


if __name__ == "__main__":
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    m = UNet()
    x1, t1, y1 = torch.randn(1, 1, 28, 28), torch.tensor([5]), torch.tensor([1])

    def fwd():
        with torch.no_grad():
            m(x1, t1, y1)

    xb, tb, yb = torch.randn(64, 1, 28, 28), torch.randint(0, 1000, (64,)), torch.randint(0, 11, (64,))
    eps = torch.randn_like(xb)

    def step():
        m.zero_grad(set_to_none=False)
        F.mse_loss(m(xb, tb, yb), eps).backward()

    fm, fb = timed(fwd, runs)
    sm, sb = timed(step, max(3, runs // 4))
    print(f"pytorch {torch.__version__} threads={threads} params={sum(p.numel() for p in m.parameters())}")
    print(f"forward batch 1: median {fm:.2f} ms best {fb:.2f} ms")
    print(f"train step batch 64: median {sm:.1f} ms best {sb:.1f} ms")
