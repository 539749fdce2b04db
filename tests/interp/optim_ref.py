"""References for tests/interp/test_optim.c: torch.optim trajectories, LR schedules and gradient
clipping on fixed parameters with fixed synthetic gradients. Writes raw little-endian files
(f32 for tensors, f64 for LRs and norms) into the directory given as argv[1]."""
import os
import sys

import numpy as np
import torch

out = sys.argv[1]
STEPS = 20
SIZES = [5, 12, 7]  # params p0, p1 (group 0) and p2 (group 1)
rng = np.random.default_rng(1234)
init = [rng.standard_normal(n).astype(np.float32) for n in SIZES]
grads = [[rng.standard_normal(n).astype(np.float32) for n in SIZES] for _ in range(STEPS)]


def save(name, arr, dt):
    np.asarray(arr, dtype=dt).tofile(os.path.join(out, name))


save("init.f32", np.concatenate(init), np.float32)
save("grads.f32", np.concatenate([np.concatenate(g) for g in grads]), np.float32)


def run(name, make, sched=None, skip=None):
    """Trajectory after each step, all params concatenated. skip: (step, param) with grad None."""
    ps = [torch.nn.Parameter(torch.from_numpy(x.copy())) for x in init]
    opt = make(ps)
    s = sched(opt) if sched else None
    traj = []
    for t in range(STEPS):
        for i, p in enumerate(ps):
            p.grad = None if skip == (t, i) else torch.from_numpy(grads[t][i].copy())
        opt.step()
        if s:
            s.step()
        traj.append(np.concatenate([p.detach().numpy().copy() for p in ps]))
    save(name + ".f32", np.concatenate(traj), np.float32)


def groups(ps, g0, g1):
    return [dict(params=ps[:2], **g0), dict(params=ps[2:], **g1)]


O = torch.optim
run("sgd_mom", lambda ps: O.SGD(groups(ps, dict(lr=0.1), dict(lr=0.03)), lr=0.1,
                                 momentum=0.9, weight_decay=0.01))
run("sgd_nest", lambda ps: O.SGD(groups(ps, dict(lr=0.05, weight_decay=1e-3), dict(lr=0.2)),
                                  lr=0.1, momentum=0.8, nesterov=True))
run("sgd_plain", lambda ps: O.SGD(groups(ps, dict(lr=0.1), dict(lr=0.01, weight_decay=0.1)),
                                   lr=0.1), skip=(4, 1))
run("adam", lambda ps: O.Adam(groups(ps, dict(lr=1e-2),
                                     dict(lr=5e-3, weight_decay=0.1, betas=(0.8, 0.99), eps=1e-6)),
                              lr=1e-2), skip=(3, 1))
run("adamw", lambda ps: O.AdamW(groups(ps, dict(lr=1e-2, weight_decay=0.05),
                                       dict(lr=3e-2, weight_decay=0.2, betas=(0.85, 0.995)))))
run("sgd_step", lambda ps: O.SGD(ps, lr=0.2, momentum=0.9),
    sched=lambda o: O.lr_scheduler.StepLR(o, step_size=3, gamma=0.5))


def lrs(name, make_sched, lr=0.1):
    p = torch.nn.Parameter(torch.zeros(1))
    o = O.SGD([p], lr=lr)
    s = make_sched(o)
    seq = []
    for _ in range(STEPS):
        seq.append(o.param_groups[0]["lr"])
        o.step()
        s.step()
    save(name + ".f64", seq, np.float64)


S = O.lr_scheduler
lrs("lr_step", lambda o: S.StepLR(o, step_size=3, gamma=0.5))
lrs("lr_multistep", lambda o: S.MultiStepLR(o, milestones=[4, 9, 15], gamma=0.3))
lrs("lr_cosine", lambda o: S.CosineAnnealingLR(o, T_max=8, eta_min=1e-4))
lrs("lr_onecycle", lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=STEPS, pct_start=0.3,
                                          div_factor=25.0, final_div_factor=1e4,
                                          anneal_strategy="cos", cycle_momentum=False))

# Gradient clipping: total L2 norm over all grads of step 0 (clipped to 1.0, and to 100: no-op),
# and value clipping at 0.5.
for name, mx in (("clip_norm", 1.0), ("clip_norm_big", 100.0)):
    gs = [torch.from_numpy(g.copy()) for g in grads[0]]
    ps = [torch.nn.Parameter(torch.zeros(n)) for n in SIZES]
    for p, g in zip(ps, gs):
        p.grad = g
    n = torch.nn.utils.clip_grad_norm_(ps, mx)
    save(name + ".f32", np.concatenate([p.grad.numpy() for p in ps]), np.float32)
    save(name + ".f64", [float(n)], np.float64)
ps = [torch.nn.Parameter(torch.zeros(n)) for n in SIZES]
for p, g in zip(ps, grads[0]):
    p.grad = torch.from_numpy(g.copy())
torch.nn.utils.clip_grad_value_(ps, 0.5)
save("clip_value.f32", np.concatenate([p.grad.numpy() for p in ps]), np.float32)
