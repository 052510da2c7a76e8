"""Wide&Deep feature tower: request-time side information -> (user, peer) embeddings, 64-d each.

Deep part: one small embedding per categorical field plus log1p of the two numeric fields, through an MLP.
Wide part: one-hot and crossed one-hot features (gender x wants, language x device_language, country x age)
summed straight into the output, so hard-filter structure (who wants whom, who can talk to whom) is easy to learn.
"""

import numpy as np
import torch
from torch import nn

from world import SIDE_INT_FIELDS, VOCAB

EMBED_DIM = 64
FIELD_DIM = 8
HIDDEN = 128
# Crossed features of the wide part: (field a, field b).
CROSSES = [("gender", "wants"), ("language", "device_language"), ("country", "age_bucket")]


class FeatureTower(nn.Module):
    def __init__(self):
        super().__init__()
        self.fields = nn.ModuleList([nn.Embedding(VOCAB[f], FIELD_DIM) for f in SIDE_INT_FIELDS])
        self.deep = nn.Sequential(
            nn.Linear(FIELD_DIM * len(SIDE_INT_FIELDS) + 2, HIDDEN), nn.ReLU(),
            nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
        )
        self.user_head = nn.Linear(HIDDEN, EMBED_DIM)
        self.peer_head = nn.Linear(HIDDEN, EMBED_DIM)
        # Wide table rows: every one-hot of every field, then every crossed pair.
        sizes = [VOCAB[f] for f in SIDE_INT_FIELDS] + [VOCAB[a] * VOCAB[b] for a, b in CROSSES]
        self.register_buffer("wide_offsets", torch.tensor(np.concatenate([[0], np.cumsum(sizes)[:-1]]), dtype=torch.int64))
        self.wide = nn.Embedding(int(sum(sizes)), 2 * EMBED_DIM)
        nn.init.normal_(self.wide.weight, std=0.01)

    def forward(self, country, language, gender, wants, age_bucket, device_language, account_age_days, recent_reports):
        ints = {"country": country, "language": language, "gender": gender, "wants": wants,
                "age_bucket": age_bucket, "device_language": device_language}
        numeric = torch.stack([torch.log1p(torch.clamp(account_age_days, min=0.0)) / 6.0,
                               torch.log1p(torch.clamp(recent_reports, min=0.0))], dim=1)
        deep_in = torch.cat([emb(ints[f]) for emb, f in zip(self.fields, SIDE_INT_FIELDS)] + [numeric], dim=1)
        hidden = self.deep(deep_in)
        wide_ids = [ints[f] for f in SIDE_INT_FIELDS] + [ints[a] * VOCAB[b] + ints[b] for a, b in CROSSES]
        wide_ids = torch.stack(wide_ids, dim=1) + self.wide_offsets
        wide = self.wide(wide_ids).sum(dim=1)
        user = self.user_head(hidden) + wide[:, :EMBED_DIM]
        peer = self.peer_head(hidden) + wide[:, EMBED_DIM:]
        return user, peer


def side_tensors(users, index=None):
    """The 8 side-info inputs, in contract order, for the given user indices."""
    idx = np.arange(len(users["country"])) if index is None else np.asarray(index)
    out = [torch.from_numpy(users[f][idx].astype(np.int64)) for f in SIDE_INT_FIELDS]
    out += [torch.from_numpy(users[f][idx].astype(np.float32)) for f in ("account_age_days", "recent_reports")]
    return out


def train_feature_tower(world, train_mask, epochs=10, batch=1024, seed=1):
    """Fit u_a . p_b to log chat seconds on both directions of every training match."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    m = world.matches
    a = np.concatenate([m["a"][train_mask], m["b"][train_mask]])
    b = np.concatenate([m["b"][train_mask], m["a"][train_mask]])
    y = torch.from_numpy(np.log(np.concatenate([m["duration_s"][train_mask]] * 2)).astype(np.float32))
    model = FeatureTower()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    side = side_tensors(world.users)
    for epoch in range(epochs):
        order = torch.from_numpy(rng.permutation(a.size))
        total = 0.0
        for start in range(0, a.size, batch):
            sel = order[start:start + batch]
            # Compute all users once per step would waste work; gather each side's rows instead.
            ia = torch.from_numpy(a)[sel]
            ib = torch.from_numpy(b)[sel]
            u, _ = model(*[t[ia] for t in side])
            _, p = model(*[t[ib] for t in side])
            loss = ((u * p).sum(1) - y[sel]).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * sel.numel()
        for g in opt.param_groups:
            g["lr"] *= 0.8
        print(f"  feature tower epoch {epoch + 1}/{epochs}: mse {total / a.size:.4f}", flush=True)
    model.eval()
    return model


@torch.no_grad()
def all_user_embeddings(model, users):
    return model(*side_tensors(users))
