#!/usr/bin/env python3
"""train_torch: the PyTorch yardstick of bench_train (docs/TRAINING.md, "Speed against PyTorch").

The default architecture of core/train/train_arch.c for 11 metrics (CONTRACT section 3's layer
table, 24 units, 20 input/output columns: 11 metrics, granularity, minute, weekday_0..6) and the
trainer's recipe (core/train/trainer.c), written in PyTorch, timed per epoch on one thread:

  BatchNormalization in its inference form (moving mean and variance fixed from the training
  rows, gamma and beta trained, epsilon 1e-3) -> Dense 24 GELU (exact erf) -> Dropout 0.15 ->
  Dense 24 GELU -> LayerNorm (1e-3) -> LSTM 24 (last state) -> LayerNorm -> GaussianNoise 0.001
  -> RepeatVector 32 -> LSTM 24 (sequences) -> Dense 24 GELU = dd;
  heads on dd: minute Dense 1 sigmoid, weekday Dense 7 softmax, granularity Dense 1 sigmoid;
  metrics Dense 11 sigmoid on concat(Dropout 0.15 (dd), minute, weekday, granularity);
  output concat(metrics, granularity, minute, weekday).
  Loss: MAE over every element + L2 activity 0.001 * sum(y^2) / batch on both LSTM outputs +
  L2 0.001 * sum(b^2) on the four heads' biases. AdamW lr 0.00657, weight decay 0.004 (decoupled,
  on every parameter, as Keras), betas 0.9/0.999, epsilon 1e-7. Batch 32, windows shuffled each
  epoch; after each epoch the validation MAE in inference form (no Dropout, no noise).

Differences from ours, none of which changes the work per step: PyTorch's LSTM has two bias
vectors (b_ih, b_hh); b_hh is held at zero and not trained, so the trained parameters are
Keras's. Initial weights are PyTorch's defaults (the cost does not depend on them).

Data: synthetic, the same SHAPE as bench_train's, not the same numbers: 40,320 one-minute rows
(4 weeks) of 20 feature columns in [0, 1] (11 metrics following a daily sine with 5 % uniform
noise, a constant granularity column, minute of day / 1440, one-hot weekday); windows of 32 at
stride 16 inside the first 90 % of rows (2,267 training windows) and the last 10 % (251
validation windows), exactly bench_train's counts. An epoch = the training steps plus the
validation pass, as bench_train's epoch.

Usage: train_torch.py [--epochs 3] [--batch 32] [--threads 1] [--seed 1]
Prints one line per epoch in bench_train's form ("  epoch K/N: ..., SECONDS s") and two last
lines for bench/train_yardstick.sh: "torch_seconds_per_epoch MEAN" (wall clock) and
"torch_cpu_seconds_per_epoch MEAN" (the process's CPU time), means over all epochs as
bench_train's.

Needs PyTorch: on Debian 12 `apt-get install python3-torch` (torch 1.13). Not a test, not in CI.
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

NM = 11
NC = NM + 9
T = 32
STRIDE = 16
ROWS = 40320
UNITS = 24


class FixedBatchNorm(nn.Module):
    """BatchNormalization in inference form: fixed statistics (buffers), trained gamma, beta."""

    def __init__(self, c, eps=1e-3):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(c))
        self.beta = nn.Parameter(torch.zeros(c))
        self.register_buffer("mean", torch.zeros(c))
        self.register_buffer("var", torch.ones(c))
        self.eps = eps

    def forward(self, x):
        return (x - self.mean) * torch.rsqrt(self.var + self.eps) * self.gamma + self.beta


def lstm(d, h):
    cell = nn.LSTM(d, h, batch_first=True)
    with torch.no_grad():
        cell.bias_hh_l0.zero_()
        cell.bias_ih_l0.zero_()
        cell.bias_ih_l0[h:2 * h] = 1.0  # unit_forget_bias, as Keras
    cell.bias_hh_l0.requires_grad_(False)  # Keras's LSTM has one bias
    return cell


class Autoencoder(nn.Module):
    def __init__(self, m=NM, u=UNITS, t=T):
        super().__init__()
        c = m + 9
        self.t = t
        self.bn = FixedBatchNorm(c)
        self.start = nn.Linear(c, u)
        self.drop0 = nn.Dropout(0.15)
        self.enc_dense = nn.Linear(u, u)
        self.enc_norm = nn.LayerNorm(u, eps=1e-3)
        self.encoder = lstm(u, u)
        self.dec_norm = nn.LayerNorm(u, eps=1e-3)
        self.decoder = lstm(u, u)
        self.dec_dense = nn.Linear(u, u)
        self.drop1 = nn.Dropout(0.15)
        self.minute = nn.Linear(u, 1)
        self.weekday = nn.Linear(u, 7)
        self.gran = nn.Linear(u, 1)
        self.metrics = nn.Linear(u + 9, m)
        self.heads = [self.minute, self.weekday, self.gran, self.metrics]

    def forward(self, x):
        h = F.gelu(self.start(self.bn(x)))
        h = self.drop0(h)
        h = self.enc_norm(F.gelu(self.enc_dense(h)))
        _, (enc, _) = self.encoder(h)
        enc = enc[0]  # [B, U], the last state
        z = self.dec_norm(enc)
        if self.training:
            z = z + 0.001 * torch.randn_like(z)
        z = z.unsqueeze(1).expand(-1, self.t, -1)  # RepeatVector
        dec, _ = self.decoder(z)
        dd = F.gelu(self.dec_dense(dec))
        minute = torch.sigmoid(self.minute(dd))
        weekday = torch.softmax(self.weekday(dd), dim=-1)
        gran = torch.sigmoid(self.gran(dd))
        pre = torch.cat([self.drop1(dd), minute, weekday, gran], dim=-1)
        metrics = torch.sigmoid(self.metrics(pre))
        return torch.cat([metrics, gran, minute, weekday], dim=-1), enc, dec

    def reg_loss(self, enc, dec, batch):
        act = 0.001 * (enc.pow(2).sum() + dec.pow(2).sum()) / batch
        bias = 0.001 * sum(hd.bias.pow(2).sum() for hd in self.heads)
        return act + bias


def synthetic_rows(seed):
    g = torch.Generator().manual_seed(seed)
    i = torch.arange(ROWS, dtype=torch.float64)
    minute = (i % 1440) / 1440.0
    day = 0.5 + 0.3 * torch.sin(2 * math.pi * minute)
    scale = torch.linspace(0.6, 1.0, NM, dtype=torch.float64)
    noise = 0.95 + 0.1 * torch.rand(ROWS, NM, generator=g, dtype=torch.float64)
    metrics = day[:, None] * scale[None, :] * noise
    gran = torch.full((ROWS, 1), 1.0 / 8.0, dtype=torch.float64)
    weekday = F.one_hot(((i // 1440 + 4) % 7).long(), 7).double()  # 2023-09-01 was a Friday
    return torch.cat([metrics, gran, minute[:, None], weekday], dim=1).float()


def windows(rows):
    n = (rows.shape[0] - T) // STRIDE + 1
    return torch.stack([rows[k * STRIDE:k * STRIDE + T] for k in range(n)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(a.seed)
    rows = synthetic_rows(12345)
    split = int(ROWS * 0.9)
    xtr, xva = windows(rows[:split]), windows(rows[split:])
    model = Autoencoder()
    model.bn.mean.copy_(rows[:split].mean(0))
    v = rows[:split].var(0, unbiased=False)
    model.bn.var.copy_(torch.where(v < 1e-6, torch.ones_like(v), v))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.00657,
                            betas=(0.9, 0.999), eps=1e-7, weight_decay=0.004)
    ntrain = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"train_torch: torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
          f"{xtr.shape[0]} training + {xva.shape[0]} validation windows of {T}x{NC}, "
          f"batch {a.batch}, {ntrain} trainable parameters", flush=True)
    times = []
    c0 = time.process_time()
    for epoch in range(1, a.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(xtr.shape[0])
        tl, steps = 0.0, 0
        for s in range(0, xtr.shape[0], a.batch):
            xb = xtr[order[s:s + a.batch]]
            y, enc, dec = model(xb)
            loss = (y - xb).abs().mean() + model.reg_loss(enc, dec, xb.shape[0])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tl += loss.item()
            steps += 1
        model.eval()
        vl = 0.0
        with torch.no_grad():
            for s in range(0, xva.shape[0], a.batch):
                xb = xva[s:s + a.batch]
                y, _, _ = model(xb)
                vl += (y - xb).abs().sum().item()
        vl /= xva.numel()
        sec = time.perf_counter() - t0
        times.append(sec)
        print(f"  epoch {epoch}/{a.epochs}: train {tl / steps:.5f} validation {vl:.5f}, "
              f"{sec:.3f} s", flush=True)
    cpu = time.process_time() - c0
    print(f"torch_seconds_per_epoch {sum(times) / len(times):.4f}")
    print(f"torch_cpu_seconds_per_epoch {cpu / len(times):.4f}")


if __name__ == "__main__":
    main()
