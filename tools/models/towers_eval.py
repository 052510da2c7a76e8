"""Held-out evaluation of the match towers and the fit of the score transforms (chat duration, like)."""

import numpy as np
import torch

from metrics import spearman


def directed_events(world, mask):
    """Both directions of every selected match: (chooser, partner, event index, chooser's like)."""
    m = world.matches
    ks = np.flatnonzero(mask)
    chooser = np.concatenate([m["a"][ks], m["b"][ks]])
    partner = np.concatenate([m["b"][ks], m["a"][ks]])
    ev = np.concatenate([ks, ks])
    like = np.concatenate([m["like_a"][ks], m["like_b"][ks]])
    return chooser, partner, ev, like


def full_vectors(world, hist, fu, fp, cache_u, cache_p, chooser, partner, ev):
    """Feature + session vectors at the time of each event (session = the prefix before it; zero when cold)."""
    m = world.matches
    cpos = np.where(m["a"][ev] == chooser, hist.pos_a[ev], hist.pos_b[ev])
    ppos = np.where(m["a"][ev] == partner, hist.pos_a[ev], hist.pos_b[ev])
    u = fu[chooser] + cache_u[chooser, cpos]
    p = fp[partner] + cache_p[partner, ppos]
    return u, p


def fit_exp_transform(scores, durations):
    """Least squares of log(duration) on s: exp(w*s + b) then predicts the chat duration (geometric mean)."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.log(np.asarray(durations, dtype=np.float64))
    w, b = np.polyfit(s, y, 1)
    return float(w), float(b)


def train_like_head(u, p, like, dim=16, epochs=300, seed=3):
    """Projections P_u, P_p (64 -> dim) and (w, b) so that exp(w (P_u u).(P_p p) + b) ~ P(chooser likes partner).

    Poisson log-likelihood: the exp transform is then a log-linear model of the like probability.
    """
    torch.manual_seed(seed)
    pu = torch.nn.Linear(u.shape[1], dim, bias=False)
    pp = torch.nn.Linear(p.shape[1], dim, bias=False)
    for layer in (pu, pp):
        torch.nn.init.normal_(layer.weight, std=0.05)
    wb = torch.nn.Parameter(torch.tensor([1.0, float(np.log(like.mean()))]))
    y = torch.from_numpy(like.astype(np.float32))
    params = list(pu.parameters()) + list(pp.parameters()) + [wb]
    opt = torch.optim.Adam(params, lr=1e-2)
    for _ in range(epochs):
        s = wb[0] * (pu(u) * pp(p)).sum(1) + wb[1]
        loss = (torch.exp(s) - y * s).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return pu.weight.detach(), pp.weight.detach(), float(wb[0]), float(wb[1])


def spearman_report(durations, allowed, score_sets):
    """Spearman of each score set with the real durations, on all pairs and on filter-allowed pairs only."""
    out = {}
    for name, s in score_sets.items():
        out[name] = {"all": spearman(s, durations), "allowedOnly": spearman(s[allowed], durations[allowed])}
    return out
