"""Reference for tests/runtime/test_example.c: a nearest-centroid Fashion-MNIST classifier.

Writes OUT/mu.f32 (10 class means of the normalized training images, float32 [10, 784]) and, for
the f32 and the int8-input variants of the artifact the test builds, the exact text that
examples/classify_fashion prints (accuracy and first predictions), as OUT/expect_f32.txt and
OUT/expect_i8.txt. Scores are -sum((x - mu)^2) in float64, as the test's kernel computes them;
the f32 variant outputs them as float32, the int8 one as round(score * 100) (int32).
usage: centroid_ref.py OUT MEAN STD SCALE"""
import gzip
import sys

import numpy as np

D = "/usr/share/datasets/fashion-mnist/"
NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
         "Bag", "Ankle boot"]


def idx(path, header):
    with gzip.open(D + path, "rb") as f:
        return np.frombuffer(f.read()[header:], dtype=np.uint8)


def main():
    out, mean, std, scale = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), np.float32(sys.argv[4])
    norm = lambda px: ((px.reshape(-1, 784) / 255.0 - mean) / std).astype(np.float32)
    xtr, ytr = norm(idx("train-images-idx3-ubyte.gz", 16)), idx("train-labels-idx1-ubyte.gz", 8)
    x, y = norm(idx("t10k-images-idx3-ubyte.gz", 16)), idx("t10k-labels-idx1-ubyte.gz", 8)
    mu = np.stack([xtr[ytr == c].mean(0) for c in range(10)]).astype(np.float32)
    mu.tofile(out + "/mu.f32")
    q = np.clip(np.rint(x / scale), -128, 127)
    for name, xd in (("f32", x.astype(np.float64)), ("i8", q * float(scale))):
        d = np.stack([((xd - mu[c].astype(np.float64)) ** 2).sum(1) for c in range(10)], 1)
        score = (-d).astype(np.float32) if name == "f32" else np.rint(-d * 100)
        pred = score.argmax(1)
        correct = int((pred == y).sum())
        lines = ["accuracy: %d / %d = %.4f" % (correct, len(y), correct / len(y)),
                 "first predictions:"]
        for i in range(10):
            lines.append("  %d: %-11s (label %-11s)%s" % (i, NAMES[pred[i]], NAMES[y[i]],
                                                          "" if pred[i] == y[i] else "  wrong"))
        with open("%s/expect_%s.txt" % (out, name), "w") as f:
            f.write("\n".join(lines) + "\n")


main()
