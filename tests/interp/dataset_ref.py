"""Builds the image-folder fixtures for test_dataset.c and PIL/torch references for them.

usage: dataset_ref.py OUTDIR. Writes OUTDIR/root (ImageNet layout), OUTDIR/ref/<file>.{rgb,l}.npy
(PIL's decode, HWC uint8), resize references and broken folders."""
import os, sys
import numpy as np
from PIL import Image
import torch
import torch.nn.functional as F

out = sys.argv[1]
rng = np.random.default_rng(7)
root, ref = os.path.join(out, "root"), os.path.join(out, "ref")
for d in ("ant", "cat", "dog", ".hidden"):
    os.makedirs(os.path.join(root, d), exist_ok=True)
os.makedirs(ref, exist_ok=True)


def smooth(h, w, c):
    y, x = np.mgrid[0:h, 0:w]
    chans = [(40 + 9 * x + 5 * y + 30 * k + rng.integers(0, 20, (h, w))) % 256 for k in range(c)]
    return np.stack(chans, -1).astype(np.uint8)


def refs(path, name):
    im = Image.open(path)
    np.save(os.path.join(ref, name + ".rgb.npy"), np.asarray(im.convert("RGB")))
    np.save(os.path.join(ref, name + ".l.npy"), np.asarray(im.convert("L")))


rgb = smooth(9, 13, 3)
Image.fromarray(rgb).save(os.path.join(root, "ant", "a1.png"))
refs(os.path.join(root, "ant", "a1.png"), "a1.png")
Image.fromarray(smooth(20, 24, 3)).save(os.path.join(root, "ant", "a2.JPG"), quality=90)
refs(os.path.join(root, "ant", "a2.JPG"), "a2.JPG")
Image.fromarray(smooth(10, 7, 4)).save(os.path.join(root, "cat", "c1.png"))
refs(os.path.join(root, "cat", "c1.png"), "c1.png")
Image.fromarray(smooth(11, 12, 3)).convert("P", palette=Image.ADAPTIVE, colors=16).save(
    os.path.join(root, "cat", "c2.png"))
refs(os.path.join(root, "cat", "c2.png"), "c2.png")
Image.fromarray(smooth(8, 8, 1)[:, :, 0]).save(os.path.join(root, "dog", "d1.png"))
refs(os.path.join(root, "dog", "d1.png"), "d1.png")
g16 = (smooth(6, 9, 1)[:, :, 0].astype(np.uint16) * 257 + rng.integers(0, 256, (6, 9))).astype(
    np.uint16)
Image.fromarray(g16).save(os.path.join(root, "dog", "d2.png"))
hi = (g16 >> 8).astype(np.uint8)  # 16-bit keeps the high byte
np.save(os.path.join(ref, "d2.png.l.npy"), hi)
np.save(os.path.join(ref, "d2.png.rgb.npy"), np.repeat(hi[:, :, None], 3, 2))
Image.fromarray(smooth(16, 17, 1)[:, :, 0]).save(os.path.join(root, "dog", "d3.jpeg"), quality=85)
refs(os.path.join(root, "dog", "d3.jpeg"), "d3.jpeg")
open(os.path.join(root, "dog", "notes.txt"), "w").write("not an image\n")
Image.fromarray(rgb).save(os.path.join(root, ".hidden", "h.png"))

# Resize references: bilinear, half-pixel centres, no antialias; then torchvision-style
# Resize(short) + CenterCrop.
x = torch.from_numpy(rgb).permute(2, 0, 1)[None].double()
r = F.interpolate(x, size=(7, 11), mode="bilinear", align_corners=False, antialias=False)
np.save(os.path.join(ref, "resize_7x11.npy"),
        r[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy())
h, w = 6, int(6 * 13 / 9)
r = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=False)
top, left = int(round((h - 5) / 2.0)), int(round((w - 5) / 2.0))
r = r[0, :, top:top + 5, left:left + 5]
np.save(os.path.join(ref, "crop_6_5x5.npy"),
        r.permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy())

# Broken inputs.
jpg = open(os.path.join(root, "ant", "a2.JPG"), "rb").read()
png = open(os.path.join(root, "ant", "a1.png"), "rb").read()
os.makedirs(os.path.join(out, "bad", "k"), exist_ok=True)
open(os.path.join(out, "bad", "k", "a.png"), "wb").write(png)
open(os.path.join(out, "bad", "k", "trunc.jpg"), "wb").write(jpg[: len(jpg) * 6 // 10])
open(os.path.join(out, "trunc.png"), "wb").write(png[: len(png) - 30])
open(os.path.join(out, "garbage.jpg"), "wb").write(b"hello, not an image")
for d in ("a", "b"):
    os.makedirs(os.path.join(out, "empty_class", d), exist_ok=True)
open(os.path.join(out, "empty_class", "a", "x.png"), "wb").write(png)
os.makedirs(os.path.join(out, "no_classes"), exist_ok=True)
