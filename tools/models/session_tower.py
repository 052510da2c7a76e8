"""Causal-transformer session tower: [user id + side info, past matches...] -> (user, peer) session vectors.

Token 0 is a context token (hashed user id + side information); token t >= 1 is the t-th past match (hashed
partner id + log1p chat seconds). Attention is written by hand (no scaled_dot_product_attention) with a causal
mask and a key mask for padding. The output is the last valid token (index history_length), projected to 64-d.
It is trained on top of the frozen feature tower: the full embedding is feature + session, per side.
"""

import math

import numpy as np
import torch
from torch import nn

from feature_tower import EMBED_DIM, side_tensors
from hashing import bucket_array
from world import N_USERS, SIDE_INT_FIELDS, VOCAB

MAX_HISTORY = 128
MODEL_DIM = 32
HEADS = 2
LAYERS = 2
USER_BUCKETS = 4096
# One user table for both roles; the per-field shift keeps "this is me" and "I talked with them" apart.
HASH_SHIFT = {"user_hash": 0, "history_peer_hash": 2039}
SIDE_DIM = 4
DROPOUT = 0.1
LEARNING_RATE = 1e-3


class CausalSelfAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x, bias):
        bsz, seq, dim = x.shape
        q, k, v = self.qkv(x).split(dim, dim=2)
        q = q.reshape(bsz, seq, self.heads, self.head_dim).transpose(1, 2)
        k = k.reshape(bsz, seq, self.heads, self.head_dim).transpose(1, 2)
        v = v.reshape(bsz, seq, self.heads, self.head_dim).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(2, 3)) * (1.0 / math.sqrt(self.head_dim)) + bias
        attn = torch.softmax(scores, dim=-1)
        y = torch.matmul(attn, v).transpose(1, 2).reshape(bsz, seq, dim)
        return self.out(y)


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = CausalSelfAttention(dim, heads)
        self.ln2 = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x, bias):
        x = x + self.attn(self.ln1(x), bias)
        return x + self.ffn(self.ln2(x))


class SessionTower(nn.Module):
    def __init__(self):
        super().__init__()
        self.ids = nn.Embedding(USER_BUCKETS, MODEL_DIM)
        nn.init.normal_(self.ids.weight, std=0.05)
        self.side = nn.ModuleList([nn.Embedding(VOCAB[f], SIDE_DIM) for f in SIDE_INT_FIELDS])
        self.side_proj = nn.Linear(SIDE_DIM * len(SIDE_INT_FIELDS) + 2, MODEL_DIM)
        self.token_proj = nn.Linear(2 * MODEL_DIM + 1, MODEL_DIM)
        self.pos = nn.Embedding(MAX_HISTORY + 1, MODEL_DIM)
        nn.init.normal_(self.pos.weight, std=0.02)
        self.blocks = nn.ModuleList([Block(MODEL_DIM, HEADS) for _ in range(LAYERS)])
        self.ln = nn.LayerNorm(MODEL_DIM)
        self.drop = nn.Dropout(DROPOUT)
        self.user_head = nn.Linear(MODEL_DIM, EMBED_DIM)
        self.peer_head = nn.Linear(MODEL_DIM, EMBED_DIM)
        for head in (self.user_head, self.peer_head):
            nn.init.normal_(head.weight, std=0.01)
            nn.init.zeros_(head.bias)

    def sequence(self, user_hash, country, language, gender, wants, age_bucket, device_language,
                 account_age_days, recent_reports, history_peer_hash, history_log_duration, history_length):
        """Hidden states of every token: [batch, 1 + seq, MODEL_DIM] (token t = after t past matches)."""
        ints = [country, language, gender, wants, age_bucket, device_language]
        numeric = torch.stack([torch.log1p(torch.clamp(account_age_days, min=0.0)) / 6.0,
                               torch.log1p(torch.clamp(recent_reports, min=0.0))], dim=1)
        side = torch.cat([emb(v) for emb, v in zip(self.side, ints)] + [numeric], dim=1)
        context = self.ids(user_hash) + self.side_proj(side)
        peers = self.ids(history_peer_hash)
        ld = (history_log_duration / 4.0).unsqueeze(2)
        tokens = self.token_proj(torch.cat([peers, peers * ld, ld], dim=2))
        x = torch.cat([context.unsqueeze(1), tokens], dim=1)
        positions = torch.arange(x.shape[1], device=x.device)
        x = self.drop(x + self.pos(positions).unsqueeze(0))
        # Additive mask: token t sees tokens <= t that are valid (index <= history_length).
        causal = positions.unsqueeze(0) <= positions.unsqueeze(1)  # [query, key]
        valid = positions.unsqueeze(0) <= history_length.unsqueeze(1)  # [batch, key]
        allowed = causal.unsqueeze(0) & valid.unsqueeze(1)
        bias = torch.where(allowed, torch.zeros((), dtype=x.dtype), torch.full((), -1e9, dtype=x.dtype)).unsqueeze(1)
        for block in self.blocks:
            x = block(x, bias)
        return self.ln(x)

    def forward(self, user_hash, country, language, gender, wants, age_bucket, device_language,
                account_age_days, recent_reports, history_peer_hash, history_log_duration, history_length):
        h = self.sequence(user_hash, country, language, gender, wants, age_bucket, device_language,
                          account_age_days, recent_reports, history_peer_hash, history_log_duration, history_length)
        positions = torch.arange(h.shape[1], device=h.device)
        last = torch.maximum(torch.minimum(history_length, positions.max()), torch.zeros_like(history_length))
        pick = (positions.unsqueeze(0) == last.unsqueeze(1)).to(h.dtype).unsqueeze(2)
        out = (h * pick).sum(dim=1)
        return self.user_head(out), self.peer_head(out)


class Histories:
    """Per user: the time-ordered matches (event index, partner, log1p seconds, partner's position)."""

    def __init__(self, world):
        m = world.matches
        n_events = m["a"].size
        self.events = [[] for _ in range(N_USERS)]
        pos_a = np.zeros(n_events, dtype=np.int64)
        pos_b = np.zeros(n_events, dtype=np.int64)
        for k in range(n_events):
            a, b = m["a"][k], m["b"][k]
            pos_a[k] = len(self.events[a])
            self.events[a].append(k)
            pos_b[k] = len(self.events[b])
            self.events[b].append(k)
        self.pos_a, self.pos_b = pos_a, pos_b
        self.length = np.array([len(e) for e in self.events])
        self.user_hash = bucket_array("user_hash", np.arange(N_USERS), HASH_SHIFT, USER_BUCKETS)
        peer_hash_of_user = bucket_array("history_peer_hash", np.arange(N_USERS), HASH_SHIFT, USER_BUCKETS)
        self.peer_hash = np.zeros((N_USERS, MAX_HISTORY), dtype=np.int64)
        self.log_dur = np.zeros((N_USERS, MAX_HISTORY), dtype=np.float32)
        for i, ks in enumerate(self.events):
            ks = np.array(ks, dtype=np.int64)
            partner = np.where(m["a"][ks] == i, m["b"][ks], m["a"][ks])
            self.peer_hash[i, :ks.size] = peer_hash_of_user[partner]
            self.log_dur[i, :ks.size] = np.log1p(m["duration_s"][ks])

    def inputs(self, world, users, seq=None):
        """Model inputs for full histories of the given users (history_length = all their matches)."""
        users = np.asarray(users)
        seq = int(self.length[users].max()) if seq is None else seq
        seq = max(seq, 1)
        return [torch.from_numpy(self.user_hash[users])] + side_tensors(world.users, users) + [
            torch.from_numpy(self.peer_hash[users, :seq]), torch.from_numpy(self.log_dur[users, :seq]),
            torch.from_numpy(self.length[users].astype(np.int64))]


def session_states(model, world, hist, users, head):
    """[len(users), 1 + seq, 64]: the session vector after each prefix of each user's history."""
    h = model.sequence(*hist.inputs(world, users))
    return head(h)


@torch.no_grad()
def all_prefix_vectors(model, world, hist, batch=128):
    """Cache of every user's session vectors after every prefix: (user [N, 129, 64], peer [N, 129, 64])."""
    user = torch.zeros(N_USERS, MAX_HISTORY + 1, EMBED_DIM)
    peer = torch.zeros(N_USERS, MAX_HISTORY + 1, EMBED_DIM)
    order = np.argsort(hist.length)
    for start in range(0, N_USERS, batch):
        us = order[start:start + batch]
        h = model.sequence(*hist.inputs(world, us))
        user[us, :h.shape[1]] = model.user_head(h)
        peer[us, :h.shape[1]] = model.peer_head(h)
    # A cold user (no past match) gets a zero session vector, as the caller does.
    user[:, 0] = 0
    peer[:, 0] = 0
    return user, peer


def train_session_tower(world, feature_user, feature_peer, train_mask, epochs=6, batch=96, seed=2, on_epoch=None):
    """Fit (F_u + S_u)(i) . (F_p + S_p)(j) to log chat seconds, feature tower frozen.

    The batch users' sequences get gradients; their partners' session vectors come from a cache refreshed every epoch.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    hist = Histories(world)
    m = world.matches
    logd = torch.from_numpy(np.log(m["duration_s"]).astype(np.float32))
    model = SessionTower()
    opt = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    fu, fp = feature_user.detach(), feature_peer.detach()
    for epoch in range(epochs):
        model.eval()
        cache_u, cache_p = all_prefix_vectors(model, world, hist)
        model.train()
        # Batches of users with similar history lengths, in random order.
        order = np.argsort(hist.length + rng.random(N_USERS) * 8)
        batches = [order[s:s + batch] for s in range(0, N_USERS, batch)]
        rng.shuffle(batches)
        total, count = 0.0, 0
        for us in batches:
            h = model.sequence(*hist.inputs(world, us))
            su, sp = model.user_head(h), model.peer_head(h)
            rows, pos, partner, ppos, ev = [], [], [], [], []
            for r, i in enumerate(us):
                ks = np.array(hist.events[i], dtype=np.int64)
                if ks.size == 0:
                    continue
                keep = train_mask[ks]
                ks = ks[keep]
                me_a = m["a"][ks] == i
                rows.append(np.full(ks.size, r))
                pos.append(np.where(me_a, hist.pos_a[ks], hist.pos_b[ks]))
                partner.append(np.where(me_a, m["b"][ks], m["a"][ks]))
                ppos.append(np.where(me_a, hist.pos_b[ks], hist.pos_a[ks]))
                ev.append(ks)
            rows, pos, partner, ppos, ev = (torch.from_numpy(np.concatenate(v)) for v in (rows, pos, partner, ppos, ev))
            warm = (pos > 0).float().unsqueeze(1)  # prefix 0 = cold: zero session vector
            ids = torch.from_numpy(us)[rows]
            my_u = fu[ids] + su[rows, pos] * warm
            my_p = fp[ids] + sp[rows, pos] * warm
            their_u = fu[partner] + cache_u[partner, ppos]
            their_p = fp[partner] + cache_p[partner, ppos]
            y = logd[ev]
            loss = (((my_u * their_p).sum(1) - y).pow(2).mean() + ((their_u * my_p).sum(1) - y).pow(2).mean()) / 2
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total += loss.item() * rows.numel()
            count += rows.numel()
        for g in opt.param_groups:
            g["lr"] *= 0.8
        print(f"  session tower epoch {epoch + 1}/{epochs}: mse {total / count:.4f}", flush=True)
        if on_epoch is not None:
            model.eval()
            on_epoch(model, hist)
    model.eval()
    return model, hist
