"""Reference for tests/interp/test_autodiff_resnet.c: a small ResNet (conv-bn-relu, residual
adds, max pool, global average pool, fc) and one batch. Writes model.onnx (BatchNormalization
kept as nodes, exported in training mode), x.npy, labels.npy, loss.npy (cross-entropy with batch
statistics, PyTorch train mode), grad_<initializer>.npy for every parameter, params.txt, and
running_<name>.npy: the BN running statistics after that one training step."""
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(7)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                       nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return F.relu(y + (x if self.short is None else self.short(x)))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 1, 1)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.l1 = Block(8, 8, 1)
        self.l2 = Block(8, 16, 2)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn(self.conv(x))))
        x = self.l2(self.l1(x))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


net = Net()
with torch.no_grad():  # non-trivial BN affine parameters and running statistics
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.5, 0.5)
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
x = torch.randn(6, 3, 16, 16)
labels = torch.randint(0, 10, (6,))
init = {k: v.clone() for k, v in net.state_dict().items()}

net.train()
torch.onnx.export(net, (x,), os.path.join(out, "model.onnx"), input_names=["x"],
                  output_names=["logits"], opset_version=17, do_constant_folding=False,
                  training=torch.onnx.TrainingMode.TRAINING)
# Tracing ran a training forward and the file holds its updated running statistics: put the
# initial ones back, in the file and in the net.
net.load_state_dict(init)
model = onnx.load(os.path.join(out, "model.onnx"))
for t in model.graph.initializer:
    if t.name in init:
        t.CopyFrom(numpy_helper.from_array(init[t.name].numpy(), t.name))
onnx.save(model, os.path.join(out, "model.onnx"))
net.zero_grad()
loss = F.cross_entropy(net(x), labels)
loss.backward()

np.save(os.path.join(out, "x.npy"), x.numpy().astype(np.float32))
np.save(os.path.join(out, "labels.npy"), labels.numpy().astype(np.int64))
np.save(os.path.join(out, "loss.npy"), np.array([loss.item()], dtype=np.float64))
names = []
for name, p in net.named_parameters():
    names.append(name)
    np.save(os.path.join(out, "grad_" + name + ".npy"), p.grad.numpy().astype(np.float32))
for name, b in net.named_buffers():
    if name.endswith("running_mean") or name.endswith("running_var"):
        np.save(os.path.join(out, "running_" + name + ".npy"), b.numpy().astype(np.float32))
with open(os.path.join(out, "params.txt"), "w") as f:
    f.write("\n".join(names) + "\n")
