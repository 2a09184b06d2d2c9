"""Times the google/ddpm-cifar10-32 U-Net forward in PyTorch on this machine,
as the yardstick for the Go CPU backend (issue: CPU speed). It builds the
same architecture as diffusers' UNet2DModel with plain torch.nn modules
(diffusers is not installable here), random weights, batch 1.

Usage: python3 bench/pytorch_cifar10.py [threads] [runs] [32|256]
(256: the google/ddpm-celebahq-256 architecture, bench/configs/ddpm-256.config.json)
"""
import sys, time, statistics
import torch
import torch.nn as nn
import torch.nn.functional as F

class Resnet(nn.Module):
    def __init__(s, cin, cout, temb):
        super().__init__()
        s.n1 = nn.GroupNorm(32, cin, eps=1e-6); s.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        s.t = nn.Linear(temb, cout); s.n2 = nn.GroupNorm(32, cout, eps=1e-6); s.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        s.sc = nn.Conv2d(cin, cout, 1) if cin != cout else None
    def forward(s, x, emb):
        h = s.c1(F.silu(s.n1(x)))
        h = h + s.t(F.silu(emb))[:, :, None, None]
        h = s.c2(F.silu(s.n2(h)))
        return (s.sc(x) if s.sc is not None else x) + h

class Attn(nn.Module):
    def __init__(s, c):
        super().__init__()
        s.n = nn.GroupNorm(32, c, eps=1e-6); s.q = nn.Linear(c, c); s.k = nn.Linear(c, c); s.v = nn.Linear(c, c); s.o = nn.Linear(c, c)
    def forward(s, x):
        b, c, h, w = x.shape
        t = s.n(x).view(b, c, h * w).transpose(1, 2)
        q, k, v = s.q(t), s.k(t), s.v(t)
        p = torch.softmax(torch.baddbmm(torch.empty(b, h * w, h * w, device=x.device), q, k.transpose(1, 2), beta=0, alpha=c ** -0.5), dim=-1)
        return s.o(torch.bmm(p, v)).transpose(1, 2).reshape(b, c, h, w) + x

class UNet(nn.Module):
    def __init__(s, ch=(128, 256, 256, 256), attn=(False, True, False, False), layers=2):
        super().__init__()
        temb = 4 * ch[0]
        s.l1 = nn.Linear(ch[0], temb); s.l2 = nn.Linear(temb, temb)
        s.cin = nn.Conv2d(3, ch[0], 3, padding=1)
        s.down = nn.ModuleList(); skips = [ch[0]]; c = ch[0]
        for i, co in enumerate(ch):
            for _ in range(layers):
                s.down.append(Resnet(c, co, temb)); c = co; skips.append(c)
                if attn[i]: s.down.append(Attn(c))
            if i < len(ch) - 1:
                s.down.append(nn.Conv2d(c, c, 3, stride=2)); skips.append(c)
        s.mid = nn.ModuleList([Resnet(c, c, temb), Attn(c), Resnet(c, c, temb)])
        s.up = nn.ModuleList()
        for i, co in enumerate(reversed(ch)):
            for _ in range(layers + 1):
                s.up.append(Resnet(c + skips.pop(), co, temb)); c = co
                if attn[len(ch) - 1 - i]: s.up.append(Attn(c))
            if i < len(ch) - 1:
                s.up.append(nn.Upsample(scale_factor=2, mode="nearest")); s.up.append(nn.Conv2d(c, c, 3, padding=1))
        s.nout = nn.GroupNorm(32, ch[0], eps=1e-6); s.cout = nn.Conv2d(ch[0], 3, 3, padding=1)
    def forward(s, x, t):
        half = 64
        f = torch.exp(-torch.log(torch.tensor(10000.0)) * torch.arange(half, device=t.device) / (half - 1))
        e = t[:, None].float() * f[None]
        emb = s.l2(F.silu(s.l1(torch.cat([e.sin(), e.cos()], -1))))
        h = s.cin(x); skips = [h]
        for m in s.down:
            if isinstance(m, Resnet): h = m(h, emb); skips.append(h)
            elif isinstance(m, Attn): h = m(h); skips[-1] = h
            else: h = m(F.pad(h, (0, 1, 0, 1))); skips.append(h)
        for m in s.mid: h = m(h, emb) if isinstance(m, Resnet) else m(h)
        for m in s.up:
            if isinstance(m, Resnet): h = m(torch.cat([h, skips.pop()], 1), emb)
            else: h = m(h)
        return s.cout(F.silu(s.nout(h)))

if __name__ == "__main__":
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    torch.set_num_threads(threads)
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    if size == 256:
        m, gflop = UNet(ch=(128, 128, 256, 256, 512, 512), attn=(False, False, False, False, True, False)).eval(), 497.0
    else:
        m, gflop = UNet().eval(), 12.44
    print("parameters", sum(p.numel() for p in m.parameters()))
    x, t = torch.randn(1, 3, size, size), torch.tensor([500])
    with torch.no_grad():
        for _ in range(3): m(x, t)
        times = []
        for _ in range(runs):
            s = time.perf_counter(); m(x, t); times.append(time.perf_counter() - s)
    med = statistics.median(times)
    print(f"threads={threads} median {med*1e3:.1f} ms  best {min(times)*1e3:.1f} ms  = {gflop/med:.1f} GFLOP/s ({gflop} GFLOP)")
