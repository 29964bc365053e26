#!/usr/bin/env python3
"""infer_peers: the PyTorch side of bench/infer_peers.sh (not a test, not in CI).

  infer_peers.py export MODEL.keras DIR   the upstream traffic autoencoder (the graph of
      /work/shared/spec/NOTES-onednn-serving.md) in PyTorch with the model's own weights read
      from its model.weights.h5, saved as TorchScript (DIR/traffic.pt) and ONNX
      (DIR/traffic.onnx, batch axis dynamic) for onnxruntime-node (bench/infer_peers.js)
  infer_peers.py time DIR B[,B...] [REPS_WINDOWS]   TorchScript, one thread, no grad: one line
      per batch "torchscript B CPU_US_PER_WINDOW WALL_US_PER_WINDOW" (best of 3 timed runs of
      about REPS_WINDOWS windows each, default 640)

Keras -> PyTorch: Dense kernel [in, out] is Linear.weight transposed; LSTM kernel and
recurrent kernel [in, 4u] (gates i, f, c, o, as PyTorch's i, f, g, o) are weight_ih/hh
transposed, the one Keras bias is bias_ih, bias_hh is zero; BatchNorm (inference form) and
LayerNorm with epsilon 1e-3; GELU exact (erf). Needs Debian python3-torch and python3-h5py.
"""
import io
import sys
import time
import zipfile

import h5py
import torch
import torch.nn as nn
import torch.nn.functional as F

T, C, U, NM = 32, 20, 24, 11


class Traffic(nn.Module):
    def __init__(self):
        super().__init__()
        self.bn_mean = nn.Parameter(torch.zeros(C), requires_grad=False)
        self.bn_scale = nn.Parameter(torch.ones(C), requires_grad=False)
        self.bn_shift = nn.Parameter(torch.zeros(C), requires_grad=False)
        self.start = nn.Linear(C, U)
        self.enc_dense = nn.Linear(U, U)
        self.enc_norm = nn.LayerNorm(U, eps=1e-3)
        self.encoder = nn.LSTM(U, U, batch_first=True)
        self.dec_norm = nn.LayerNorm(U, eps=1e-3)
        self.decoder = nn.LSTM(U, U, batch_first=True)
        self.dec_dense = nn.Linear(U, U)
        self.minute = nn.Linear(U, 1)
        self.weekday = nn.Linear(U, 7)
        self.gran = nn.Linear(U, 1)
        self.metrics = nn.Linear(U + 9, NM)

    def forward(self, x):
        h = (x - self.bn_mean) * self.bn_scale + self.bn_shift
        h = F.gelu(self.start(h))
        h = self.enc_norm(F.gelu(self.enc_dense(h)))
        _, (enc, _) = self.encoder(h)
        z = self.dec_norm(enc[0])
        z = z.unsqueeze(1).expand(-1, T, -1)
        dec, _ = self.decoder(z)
        dd = F.gelu(self.dec_dense(dec))
        minute = torch.sigmoid(self.minute(dd))
        weekday = torch.softmax(self.weekday(dd), dim=-1)
        gran = torch.sigmoid(self.gran(dd))
        metrics = torch.sigmoid(self.metrics(torch.cat([dd, minute, weekday, gran], dim=-1)))
        return torch.cat([metrics, gran, minute, weekday], dim=-1)


def load(keras_path):
    z = zipfile.ZipFile(keras_path)
    f = h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")

    def v(group, k):
        return torch.tensor(f["layers/%s/vars/%d" % (group, k)][()], dtype=torch.float32)

    m = Traffic().eval()
    with torch.no_grad():
        gamma, beta, mean, var = (v("batch_normalization", k) for k in range(4))
        m.bn_mean.copy_(mean)
        m.bn_scale.copy_(gamma / torch.sqrt(var + 1e-3))
        m.bn_shift.copy_(beta)
        for lin, g in ((m.start, "dense"), (m.enc_dense, "dense_1"), (m.dec_dense, "dense_2"),
                       (m.minute, "dense_3"), (m.weekday, "dense_4"), (m.gran, "dense_5"),
                       (m.metrics, "dense_6")):
            lin.weight.copy_(v(g, 0).t())
            lin.bias.copy_(v(g, 1))
        for ln, g in ((m.enc_norm, "layer_normalization"), (m.dec_norm, "layer_normalization_1")):
            ln.weight.copy_(v(g, 0))
            ln.bias.copy_(v(g, 1))
        for cell, g in ((m.encoder, "lstm"), (m.decoder, "lstm_1")):
            cell.weight_ih_l0.copy_(v(g + "/cell", 0).t())
            cell.weight_hh_l0.copy_(v(g + "/cell", 1).t())
            cell.bias_ih_l0.copy_(v(g + "/cell", 2))
            cell.bias_hh_l0.zero_()
    return m


def export(keras_path, out_dir):
    m = load(keras_path)
    x = torch.rand(4, T, C)
    with torch.no_grad():
        ts = torch.jit.trace(m, x)
        ts.save(out_dir + "/traffic.pt")
        torch.onnx.export(m, x, out_dir + "/traffic.onnx", input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=14)
    print("exported %s/traffic.pt and traffic.onnx" % out_dir)


def timing(out_dir, batches, windows):
    torch.set_num_threads(1)
    m = torch.jit.load(out_dir + "/traffic.pt").eval()
    gen = torch.Generator().manual_seed(20261205)
    with torch.no_grad():
        for b in batches:
            x = torch.rand(b, T, C, generator=gen)
            reps = max(1, windows // b)
            for _ in range(2):
                m(x)
            best = None
            for _ in range(3):
                c0, w0 = time.process_time(), time.perf_counter()
                for _ in range(reps):
                    m(x)
                c, w = time.process_time() - c0, time.perf_counter() - w0
                if best is None or c < best[0]:
                    best = (c, w)
            n = reps * b
            print("torchscript %d %.2f %.2f" % (b, best[0] * 1e6 / n, best[1] * 1e6 / n), flush=True)


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "export":
        export(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 4 and sys.argv[1] == "time":
        timing(sys.argv[2], [int(b) for b in sys.argv[3].split(",")],
               int(sys.argv[4]) if len(sys.argv) > 4 else 640)
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
