"""FwFM pCTR ranker over hashed features (seed 001).

Fields: user_id, item_id, item_category, item_author, context_hour, context_device and history_item_ids
(the user's recent positive clicks, mean-pooled). All fields live in one hashed table; history_item_ids uses the
same shift as item_id, so an item has one embedding whether it is the candidate or in the history.
logit = bias + sum_f linear_f + sum_{f<g} r_{fg} <v_f, v_g>; pctr = sigmoid(logit).
A click shorter than 3 s is a false positive (seed 004): a negative label, and never part of the history.
"""

import numpy as np
import torch
from torch import nn

from hashing import bucket_array
from world import FALSE_POSITIVE_DWELL_MS

BUCKETS = 16384
DIM = 16
TRAIN_HISTORY = 32
FIELDS = ["user_id", "item_id", "item_category", "item_author", "context_hour", "context_device", "history_item_ids"]
HASH_SHIFT = {"user_id": 0, "item_id": 5003, "item_category": 10007, "item_author": 12011,
              "context_hour": 14009, "context_device": 15013, "history_item_ids": 5003}


class FwFMRanker(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(BUCKETS, DIM)
        nn.init.normal_(self.emb.weight, std=0.01)
        self.lin = nn.Embedding(BUCKETS, 1)
        nn.init.zeros_(self.lin.weight)
        self.bias = nn.Parameter(torch.tensor([-1.5]))
        n = len(FIELDS)
        iu = torch.triu_indices(n, n, offset=1)
        self.register_buffer("pair_i", iu[0].clone())
        self.register_buffer("pair_j", iu[1].clone())
        self.pair_weight = nn.Parameter(torch.full((iu.shape[1],), 0.5))

    def forward(self, user_id, item_id, item_category, item_author, context_hour, context_device,
                history_item_ids, history_length):
        singles = torch.stack([user_id, item_id, item_category, item_author, context_hour, context_device], dim=1)
        positions = torch.arange(history_item_ids.shape[1], device=history_item_ids.device)
        mask = (positions.unsqueeze(0) < history_length.unsqueeze(1)).to(torch.float32).unsqueeze(2)
        count = torch.clamp(mask.sum(dim=1), min=1.0)
        hist_v = (self.emb(history_item_ids) * mask).sum(dim=1) / count
        hist_l = (self.lin(history_item_ids) * mask).sum(dim=1) / count
        v = torch.cat([self.emb(singles), hist_v.unsqueeze(1)], dim=1)  # [batch, fields, DIM]
        linear = self.lin(singles).sum(dim=(1, 2)) + hist_l.squeeze(1)
        inter = (v[:, self.pair_i] * v[:, self.pair_j]).sum(dim=2)  # [batch, pairs]
        logit = self.bias + linear + (inter * self.pair_weight).sum(dim=1)
        return torch.sigmoid(logit)


# Inputs that are the same for every candidate of a request (the exported graph takes them with batch 1 or batch N).
REQUEST_INPUTS = ["user_id", "context_hour", "context_device", "history_item_ids", "history_length"]
CANDIDATE_INPUTS = ["item_id", "item_category", "item_author"]


class ServingRanker(nn.Module):
    """The exported form of a trained FwFMRanker: the same function of the same weights, arranged for serving.

    A feed request scores N candidates for one user, context and history. The request-level inputs
    (REQUEST_INPUTS, all five with batch 1 or all with batch N) are broadcast against the candidate inputs
    (batch N), and the interaction sum splits into a request part, a candidate part and a cross part:
    sum_{f<g} r_fg <v_f, v_g> = sum_{q<q'} r <v_q, v_q'> + sum_{c<c'} r <v_c, v_c'> + sum_c <v_c, w_c>,
    w_c = sum_q r_cq v_q. The history pooling, the request part and the w_c are computed once per distinct
    request row: with batch 1 once, with batch N once per run of consecutive equal rows (a micro-batch of
    several requests has one run per request). Per candidate there remain three lookups and a few dot products.
    """

    def __init__(self, trained):
        super().__init__()
        self.emb = trained.emb
        self.lin = trained.lin
        self.bias = trained.bias
        n = len(FIELDS)
        r = torch.zeros(n, n)
        r[trained.pair_i, trained.pair_j] = trained.pair_weight.detach()
        r = r + r.t()
        q = [FIELDS.index(f) for f in ("user_id", "context_hour", "context_device", "history_item_ids")]
        c = [FIELDS.index(f) for f in CANDIDATE_INPUTS]
        self.register_buffer("r_qq", torch.triu(r[q][:, q], diagonal=1).contiguous())
        self.register_buffer("r_cc", torch.triu(r[c][:, c], diagonal=1).contiguous())
        self.register_buffer("r_cq", r[c][:, q].contiguous())

    def forward(self, user_id, item_id, item_category, item_author, context_hour, context_device,
                history_item_ids, history_length):
        # Distinct request rows: a row equal to the previous one (all five request inputs) joins its group.
        rows = history_item_ids.shape[0]
        ne = lambda x: (x[1:] != x[:-1]).to(torch.int64)
        differs = ne(history_item_ids).sum(dim=1) + ne(history_length) + ne(user_id) + ne(context_hour) + ne(context_device)
        first = torch.cat([torch.ones(1, dtype=torch.bool), differs > 0])[:rows]
        group = torch.cumsum(first.to(torch.int64), dim=0) - 1
        starts = torch.nonzero(first).squeeze(1)
        ids, length = history_item_ids[starts], history_length[starts]
        # Request side, once per group: [4 fields, groups, DIM].
        positions = torch.arange(ids.shape[1], device=ids.device)
        mask = (positions.unsqueeze(0) < length.unsqueeze(1)).to(torch.float32).unsqueeze(2)
        count = torch.clamp(mask.sum(dim=1), min=1.0)
        hist_v = (self.emb(ids) * mask).sum(dim=1) / count
        hist_l = (self.lin(ids) * mask).sum(dim=1) / count
        singles = torch.stack([user_id[starts], context_hour[starts], context_device[starts]], dim=0)
        qv = torch.cat([self.emb(singles), hist_v.unsqueeze(0)], dim=0)
        qflat = qv.reshape(4, -1)
        q_pairs = (qv * torch.matmul(self.r_qq, qflat).reshape(qv.shape)).sum(dim=(0, 2))
        q_const = self.bias + self.lin(singles).sum(dim=(0, 2)) + hist_l.squeeze(1) + q_pairs
        w = torch.matmul(self.r_cq, qflat).reshape(3, -1, DIM)
        # Candidate side: [3 fields, batch, DIM].
        cand = torch.stack([item_id, item_category, item_author], dim=0)
        cv = self.emb(cand)
        c_pairs = torch.matmul(self.r_cc, cv.reshape(3, -1)).reshape(cv.shape)
        per_row = (cv * (c_pairs + w[:, group])).sum(dim=(0, 2)) + self.lin(cand).sum(dim=(0, 2))
        return torch.sigmoid(q_const[group] + per_row)


class ClickData:
    """Hashed training rows: one per impression, with the user's earlier positive clicks as history."""

    def __init__(self, world):
        imp, items = world.impressions, world.items
        self.label = (imp["clicked"] & (imp["dwell_ms"] >= FALSE_POSITIVE_DWELL_MS)).astype(np.float32)
        h = lambda f, v: bucket_array(f, v, HASH_SHIFT, BUCKETS)
        self.cols = {
            "user_id": h("user_id", imp["user"]),
            "item_id": h("item_id", imp["item"]),
            "item_category": h("item_category", items["category"][imp["item"]]),
            "item_author": h("item_author", items["author"][imp["item"]]),
            "context_hour": h("context_hour", imp["hour"]),
            "context_device": h("context_device", imp["device"]),
        }
        m = imp["user"].size
        self.history = np.zeros((m, TRAIN_HISTORY), dtype=np.int64)
        self.history_length = np.zeros(m, dtype=np.int64)
        item_hash = self.cols["item_id"]
        # Impressions are sorted by (user, time): walk each user's stream keeping the recent positives.
        recent, last_user = [], -1
        for r in range(m):
            u = imp["user"][r]
            if u != last_user:
                recent, last_user = [], u
            k = len(recent)
            if k:
                self.history[r, :k] = recent
                self.history_length[r] = k
            if self.label[r] > 0:
                recent = (recent + [item_hash[r]])[-TRAIN_HISTORY:]
        # Held-out split by time: each user's last 20% of impressions.
        rank = np.zeros(m)
        starts = np.flatnonzero(np.r_[True, imp["user"][1:] != imp["user"][:-1]])
        ends = np.r_[starts[1:], m]
        for s, e in zip(starts, ends):
            rank[s:e] = np.arange(e - s) / (e - s)
        self.test = rank >= 0.8

    def tensors(self, rows, drop_history=False):
        hist_len = np.zeros(len(rows), dtype=np.int64) if drop_history else self.history_length[rows]
        return [torch.from_numpy(self.cols[f][rows]) for f in FIELDS[:-1]] + [
            torch.from_numpy(self.history[rows]), torch.from_numpy(hist_len)]


def train_ranker(data, epochs=4, batch=512, seed=4):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = FwFMRanker()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    rows_all = np.flatnonzero(~data.test)
    y = torch.from_numpy(data.label)
    for epoch in range(epochs):
        rows_all = rng.permutation(rows_all)
        total = 0.0
        for start in range(0, rows_all.size, batch):
            rows = rows_all[start:start + batch]
            p = model(*data.tensors(rows))
            loss = nn.functional.binary_cross_entropy(p.clamp(1e-6, 1 - 1e-6), y[rows])
            # A little L2 on the touched embedding rows keeps rare hashed ids from memorising noise.
            loss = loss + 1e-5 * model.emb(torch.from_numpy(data.cols["item_id"][rows])).pow(2).sum() / rows.size
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * rows.size
        for g in opt.param_groups:
            g["lr"] *= 0.6
        print(f"  ranker epoch {epoch + 1}/{epochs}: logloss {total / rows_all.size:.4f}", flush=True)
    model.eval()
    return model


@torch.no_grad()
def predict(model, data, rows, drop_history=False, batch=8192):
    out = [model(*data.tensors(rows[s:s + batch], drop_history)) for s in range(0, rows.size, batch)]
    return torch.cat(out).numpy()
