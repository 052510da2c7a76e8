"""A seeded synthetic world with real structure, for training and testing kindred's default models.

Users have a latent taste cluster (which depends on country and age), a taste vector (what they like in a
partner), a trait vector (what they are like as a partner), a popularity channel and side information.
Chats last min(stay_i, stay_j) seconds, each side's stay being log-normal around its compatibility with the
other side, so durations are long-tailed and depend on both tastes; pairs the hard filters would forbid
(gender/"wants", no shared language) end at once. Items have topics, categories, authors and 64-d content
vectors; clicks depend on the user's topic taste, and some clicks are short-dwell (< 3 s) false positives.
"""

from dataclasses import dataclass, field
import json
import os

import numpy as np

VOCAB = {"country": 12, "language": 8, "gender": 3, "wants": 8, "age_bucket": 7, "device_language": 8}
SIDE_INT_FIELDS = ["country", "language", "gender", "wants", "age_bucket", "device_language"]
SIDE_FLOAT_FIELDS = ["account_age_days", "recent_reports"]
SIDE_FIELDS = SIDE_INT_FIELDS + SIDE_FLOAT_FIELDS

N_USERS = 3000
N_CLUSTERS = 6
TASTE_DIM = 16
N_MATCHES = 62000
MAX_MATCHES_PER_USER = 128
N_ITEMS = 5000
N_TOPICS = 12
CATEGORIES_PER_TOPIC = 3
N_AUTHORS = 600
CONTENT_DIM = 64
N_DEVICES = 3
FALSE_POSITIVE_DWELL_MS = 3000
T0_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY_MS = 86_400_000
# users.json spells side information as the TypeScript UserSideInfo does; the model inputs keep the contract names.
JSON_KEYS = {"age_bucket": "ageBucket", "device_language": "deviceLanguage", "account_age_days": "accountAgeDays",
             "recent_reports": "recentReports"}


@dataclass
class World:
    users: dict  # side info arrays + cluster, taste, trait, popularity
    matches: dict  # time-ordered events: a, b, at, duration_s, allowed, like_a, like_b
    items: dict  # topic, category, author, content, quality
    impressions: dict  # time-ordered: user, item, at, hour, device, clicked, dwell_ms
    extra: dict = field(default_factory=dict)


def allowed_pairs(users, a, b):
    """The hard filters: mutual gender/"wants" and a shared language (primary or device)."""
    g, w = users["gender"], users["wants"]
    mutual = (((w[a] >> g[b]) & 1) == 1) & (((w[b] >> g[a]) & 1) == 1)
    la, da, lb, db = users["language"][a], users["device_language"][a], users["language"][b], users["device_language"][b]
    shared = (la == lb) | (la == db) | (da == lb) | (da == db)
    return mutual & shared


def make_users(rng):
    n = N_USERS
    country = rng.choice(VOCAB["country"], size=n, p=_zipf(VOCAB["country"], 0.9, rng))
    language = np.where(rng.random(n) < 0.85, country % VOCAB["language"], rng.integers(0, VOCAB["language"], n))
    device_language = np.where(rng.random(n) < 0.75, language, np.where(rng.random(n) < 0.6, 0, rng.integers(0, VOCAB["language"], n)))
    gender = rng.choice(3, size=n, p=[0.48, 0.48, 0.04])
    opposite = np.where(gender == 0, 2, np.where(gender == 1, 1, 7))  # bit 1 = gender 0, bit 2 = gender 1
    same = 1 << gender
    r = rng.random(n)
    wants = np.where(r < 0.72, opposite, np.where(r < 0.82, same, np.where(r < 0.9, 3, 7)))
    wants = np.where(gender == 2, np.where(r < 0.7, 7, 3), wants)
    age_bucket = rng.choice(7, size=n, p=[0.12, 0.26, 0.24, 0.16, 0.10, 0.07, 0.05])
    account_age_days = rng.exponential(220.0, n).astype(np.float32)
    bad_actor = rng.random(n) < 0.08
    recent_reports = rng.poisson(np.where(bad_actor, 3.0, 0.15)).astype(np.float32)

    # Taste clusters depend on country and age, so side information predicts taste (what the feature tower learns).
    logits = 1.6 * rng.normal(size=(VOCAB["country"], N_CLUSTERS))[country] + 1.4 * rng.normal(size=(7, N_CLUSTERS))[age_bucket]
    prob = np.exp(logits - logits.max(1, keepdims=True))
    prob /= prob.sum(1, keepdims=True)
    cluster = (prob.cumsum(1) > rng.random((n, 1))).argmax(1)
    taste_centers = rng.normal(size=(N_CLUSTERS, TASTE_DIM))
    trait_centers = rng.normal(size=(N_CLUSTERS, TASTE_DIM))
    taste = taste_centers[cluster] + 0.6 * rng.normal(size=(n, TASTE_DIM))
    trait = trait_centers[cluster] + 0.6 * rng.normal(size=(n, TASTE_DIM))
    popularity = 0.45 * rng.normal(size=n)
    activity = rng.lognormal(0.0, 0.8, n)
    return {
        "id": np.arange(n),
        "country": country, "language": language, "gender": gender, "wants": wants, "age_bucket": age_bucket,
        "device_language": device_language, "account_age_days": account_age_days, "recent_reports": recent_reports,
        "cluster": cluster, "taste": taste, "trait": trait, "popularity": popularity, "activity": activity,
        "bad_actor": bad_actor,
    }


def log_stay_mean(users, a, b):
    """Mean log-seconds that a stays in a chat with b: taste·trait, b's popularity, age gap, b's reports."""
    compat = np.einsum("ij,ij->i", users["taste"][a], users["trait"][b]) / np.sqrt(TASTE_DIM) * 0.55
    age_gap = np.abs(users["age_bucket"][a] - users["age_bucket"][b])
    return (3.8 + compat + users["popularity"][b] - 0.18 * age_gap - 0.35 * users["recent_reports"][b]
            + 0.08 * np.log1p(users["account_age_days"][a] / 30.0))


def make_matches(rng, users):
    """Sequential 1:1 matches: mostly filter-allowed partners, some forbidden ones (they end at once)."""
    n = N_USERS
    count = np.zeros(n, dtype=np.int64)
    act = users["activity"] / users["activity"].sum()
    a_list, b_list = [], []
    draws = rng.choice(n, size=N_MATCHES * 3, p=act)
    candidates = rng.choice(n, size=(N_MATCHES * 3, 40), p=act)
    forbid_roll = rng.random(N_MATCHES * 3)
    for t in range(N_MATCHES * 3):
        if len(a_list) == N_MATCHES:
            break
        a = draws[t]
        if count[a] >= MAX_MATCHES_PER_USER:
            continue
        cands = candidates[t][(candidates[t] != a) & (count[candidates[t]] < MAX_MATCHES_PER_USER)]
        if cands.size == 0:
            continue
        ok = allowed_pairs(users, np.full(cands.size, a), cands)
        if forbid_roll[t] < 0.10 or not ok.any():
            b = cands[0]
        else:
            b = cands[ok][0]
        a_list.append(a)
        b_list.append(b)
        count[a] += 1
        count[b] += 1
    a = np.array(a_list)
    b = np.array(b_list)
    m = a.size
    allowed = allowed_pairs(users, a, b)
    stay_a = np.exp(log_stay_mean(users, a, b) + 0.75 * rng.normal(size=m))
    stay_b = np.exp(log_stay_mean(users, b, a) + 0.75 * rng.normal(size=m))
    duration = np.minimum(stay_a, stay_b)
    duration = np.where(allowed, duration, rng.uniform(0.3, 2.5, m))
    duration = np.clip(duration, 0.3, 3 * 3600.0).astype(np.float32)
    # A "like" after the chat: more likely the longer the chat and the better b fits a's taste.
    compat_ab = log_stay_mean(users, a, b)
    compat_ba = log_stay_mean(users, b, a)
    like_a = rng.random(m) < _sigmoid(-3.4 + 0.55 * np.log1p(duration) + 0.6 * (compat_ab - 3.8))
    like_b = rng.random(m) < _sigmoid(-3.4 + 0.55 * np.log1p(duration) + 0.6 * (compat_ba - 3.8))
    at = T0_MS + np.sort(rng.integers(0, 30 * DAY_MS, m))
    return {"a": a, "b": b, "at": at, "duration_s": duration, "allowed": allowed, "like_a": like_a, "like_b": like_b}


def make_items(rng):
    topic = rng.choice(N_TOPICS, size=N_ITEMS, p=_zipf(N_TOPICS, 0.5, rng))
    category = topic * CATEGORIES_PER_TOPIC + rng.integers(0, CATEGORIES_PER_TOPIC, N_ITEMS)
    author_topic = rng.integers(0, N_TOPICS, N_AUTHORS)
    author = np.empty(N_ITEMS, dtype=np.int64)
    for t in range(N_TOPICS):
        pool = np.flatnonzero(author_topic == t)
        idx = np.flatnonzero(topic == t)
        author[idx] = rng.choice(pool, size=idx.size, p=_zipf(pool.size, 1.0, rng))
    topic_c = rng.normal(size=(N_TOPICS, CONTENT_DIM))
    topic_c *= 3.0 / np.linalg.norm(topic_c, axis=1, keepdims=True)
    cat_c = rng.normal(size=(N_TOPICS * CATEGORIES_PER_TOPIC, CONTENT_DIM)) * (1.2 / np.sqrt(CONTENT_DIM))
    auth_c = rng.normal(size=(N_AUTHORS, CONTENT_DIM)) * (0.6 / np.sqrt(CONTENT_DIM))
    content = topic_c[topic] + cat_c[category] + auth_c[author] + rng.normal(size=(N_ITEMS, CONTENT_DIM)) * (0.8 / np.sqrt(CONTENT_DIM))
    quality = 0.5 * rng.normal(size=N_ITEMS)
    exposure = _zipf(N_ITEMS, 0.8, rng)
    return {"id": np.arange(N_ITEMS), "topic": topic, "category": category, "author": author,
            "content": content.astype(np.float32), "quality": quality, "exposure": exposure}


def make_impressions(rng, users, items):
    """Feed impressions and clicks; a click shorter than 3 s is an accident (a false positive)."""
    n = N_USERS
    # Topic taste per cluster (a few favourite topics), plus a personal twist.
    cluster_pref = rng.normal(size=(N_CLUSTERS, N_TOPICS)) * 1.2
    pref = cluster_pref[users["cluster"]] + 0.5 * rng.normal(size=(n, N_TOPICS))
    per_user = np.maximum(20, (60 * users["activity"]).astype(np.int64))
    per_user = np.minimum(per_user, 300)
    user = np.repeat(np.arange(n), per_user)
    m = user.size
    # Half of the impressions come from the user's liked topics (a crude retrieval), half by exposure.
    item = rng.choice(N_ITEMS, size=m, p=items["exposure"])
    liked_topic = _sample_rows(rng, np.exp(pref[user]))
    by_topic = [np.flatnonzero(items["topic"] == t) for t in range(N_TOPICS)]
    from_taste = rng.random(m) < 0.5
    for t in range(N_TOPICS):
        sel = from_taste & (liked_topic == t)
        item[sel] = rng.choice(by_topic[t], size=sel.sum())
    at = T0_MS + rng.integers(0, 30 * DAY_MS, m)
    order = np.lexsort((at, user))
    user, item, at = user[order], item[order], at[order]
    peak = rng.integers(0, 24, n)
    hour = (peak[user] + np.round(rng.normal(0, 3, m)).astype(np.int64)) % 24
    user_device = rng.choice(N_DEVICES, size=n, p=[0.6, 0.3, 0.1])
    device = np.where(rng.random(m) < 0.85, user_device[user], rng.integers(0, N_DEVICES, m))
    user_bias = 0.5 * rng.normal(size=n)
    night = (hour >= 22) | (hour < 6)
    logit = (-2.4 + 0.9 * (pref[user, items["topic"][item]] - pref[user].mean(1)) + items["quality"][item] + user_bias[user]
             + 0.35 * (night & (device == 0)) - 0.3 * (device == 2))
    real_click = rng.random(m) < _sigmoid(logit)
    accident = (~real_click) & (rng.random(m) < 0.04)
    dwell_ms = np.zeros(m, dtype=np.int64)
    dwell_ms[real_click] = np.clip(rng.lognormal(np.log(25_000), 0.9, real_click.sum()), 1500, 900_000).astype(np.int64)
    dwell_ms[accident] = rng.integers(200, FALSE_POSITIVE_DWELL_MS, accident.sum())
    clicked = real_click | accident
    return {"user": user, "item": item, "at": at, "hour": hour, "device": device, "clicked": clicked, "dwell_ms": dwell_ms,
            "pref": pref}


def build_world(seed: int = 20261123) -> World:
    rng = np.random.default_rng(seed)
    users = make_users(rng)
    matches = make_matches(rng, users)
    items = make_items(rng)
    impressions = make_impressions(rng, users, items)
    return World(users=users, matches=matches, items=items, impressions=impressions)


def user_histories(world: World):
    """Per user, the time-ordered list of match indices they took part in."""
    hist = [[] for _ in range(N_USERS)]
    for k, (a, b) in enumerate(zip(world.matches["a"], world.matches["b"])):
        hist[a].append(k)
        hist[b].append(k)
    return hist


def write_world_files(world: World, out_dir: str, n_click_users: int = 60):
    """The compact world the TypeScript demo and tests read: users.json, items.json + items.bin, clicks.json."""
    os.makedirs(out_dir, exist_ok=True)
    u, mt = world.users, world.matches
    hist = user_histories(world)
    users_out = []
    for i in range(N_USERS):
        ks = hist[i]
        users_out.append({
            "id": i,
            **{JSON_KEYS.get(f, f): int(u[f][i]) for f in SIDE_INT_FIELDS},
            "accountAgeDays": round(float(u["account_age_days"][i]), 1),
            "recentReports": int(u["recent_reports"][i]),
            "cluster": int(u["cluster"][i]),
            "historyPartners": [int(mt["b"][k] if mt["a"][k] == i else mt["a"][k]) for k in ks],
            "historySeconds": [round(float(mt["duration_s"][k]), 1) for k in ks],
        })
    users_doc = {"vocab": VOCAB, "sideFields": {f: JSON_KEYS.get(f, f) for f in SIDE_FIELDS},
                 "note": "history* are time-ordered past matches; a cold user has none", "users": users_out}
    _dump(os.path.join(out_dir, "users.json"), users_doc)

    # Ground truth for demos: the latent vectors behind every outcome, so any pairing can be scored by the
    # world's own expected log stay (see log_stay_mean) instead of by a model.
    latent_doc = {
        "tasteDim": TASTE_DIM,
        "expectedLogStay": "3.8 + 0.55*dot(taste[i], trait[j])/sqrt(tasteDim) + popularity[j] - 0.18*|ageBucket[i]-ageBucket[j]|"
                           " - 0.35*recentReports[j] + 0.08*log1p(accountAgeDays[i]/30); stay ~ exp(that + 0.75*N(0,1));"
                           " chat seconds = min(stay_i, stay_j); filter-forbidden pairs last < 2.5 s",
        "taste": np.round(u["taste"], 3).tolist(),
        "trait": np.round(u["trait"], 3).tolist(),
        "popularity": np.round(u["popularity"], 3).tolist(),
    }
    _dump(os.path.join(out_dir, "latent.json"), latent_doc)

    it = world.items
    items_doc = {"count": N_ITEMS, "dim": CONTENT_DIM, "contentFile": "items.bin",
                 "contentLayout": "float32 little-endian, row-major [count, dim], row i = item id i",
                 "topic": it["topic"].tolist(), "category": it["category"].tolist(), "author": it["author"].tolist()}
    _dump(os.path.join(out_dir, "items.json"), items_doc)
    it["content"].astype("<f4").tofile(os.path.join(out_dir, "items.bin"))

    imp = world.impressions
    rng = np.random.default_rng(7)
    chosen = np.sort(rng.choice(N_USERS, size=n_click_users, replace=False))
    clicks = []
    for i in chosen:
        sel = (imp["user"] == i) & imp["clicked"]
        clicks.append({"userId": int(i), "cluster": int(u["cluster"][i]),
                       "clicks": [{"itemId": int(a), "at": int(b), "dwellMs": int(c)}
                                  for a, b, c in zip(imp["item"][sel], imp["at"][sel], imp["dwell_ms"][sel])]})
    _dump(os.path.join(out_dir, "clicks.json"),
          {"falsePositiveDwellMs": FALSE_POSITIVE_DWELL_MS, "users": clicks})


def _dump(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


def _zipf(n, s, rng):
    p = 1.0 / np.arange(1, n + 1) ** s
    p = p[rng.permutation(n)]
    return p / p.sum()


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _sample_rows(rng, weights):
    cdf = np.cumsum(weights, axis=1)
    return (cdf > rng.random((weights.shape[0], 1)) * cdf[:, -1:]).argmax(1)


if __name__ == "__main__":
    import time

    t = time.time()
    w = build_world()
    print(f"world built in {time.time() - t:.1f}s")
    d = w.matches["duration_s"]
    print("matches", d.size, "allowed", w.matches["allowed"].mean(), "median s", np.median(d), "p90", np.percentile(d, 90), "max", d.max())
    cnt = np.bincount(np.concatenate([w.matches["a"], w.matches["b"]]), minlength=N_USERS)
    print("matches/user mean", cnt.mean(), "max", cnt.max(), "zero", (cnt == 0).sum())
    imp = w.impressions
    print("impressions", imp["user"].size, "ctr", imp["clicked"].mean(), "fp share", ((imp["dwell_ms"] > 0) & (imp["dwell_ms"] < 3000)).sum() / imp["clicked"].sum())
    print("like rate", w.matches["like_a"].mean(), "mutual", (w.matches["like_a"] & w.matches["like_b"]).mean())
