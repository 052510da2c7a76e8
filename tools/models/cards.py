"""Model cards (models/<model>.md), written from the exported graphs and the measured metrics."""

import os

from export import io_signature

REBUILD = "Rebuild (deterministic, CPU, about a minute): `/usr/bin/python3 tools/models/build.py` from the repository root."

INPUT_NOTES = {
    "country": "country id, 0..C-1 (C = kindred.vocab.country)",
    "language": "primary spoken language id, 0..L-1",
    "gender": "0..2",
    "wants": "bitmask over genders (bit g = wants gender g), 1..7",
    "age_bucket": "0..6",
    "device_language": "device UI language id, 0..L-1",
    "account_age_days": "days since sign-up (≥ 0)",
    "recent_reports": "reports received recently (≥ 0)",
    "user_hash": "bucket('user_hash', userId) — see kindred.hashing",
    "history_peer_hash": "bucket('history_peer_hash', partnerId) per past match, oldest first; padding 0",
    "history_log_duration": "log1p(chat seconds) per past match; padding 0",
    "history_length": "number of valid history entries (0 = none, ≤ seq; the rest is padding and is masked)",
    "user_id": "bucket('user_id', userId)",
    "item_id": "bucket('item_id', itemId) of the candidate",
    "item_category": "bucket('item_category', categoryId)",
    "item_author": "bucket('item_author', authorId)",
    "context_hour": "bucket('context_hour', hour 0..23)",
    "context_device": "bucket('context_device', device id)",
    "history_item_ids": "bucket('history_item_ids', itemId) of recent positive clicks (dwell ≥ 3 s); same shift as item_id; padding 0",
    "user": "user (chooser) embedding",
    "peer": "peer (partner) embedding",
    "pctr": "probability of a real click (dwell ≥ 3 s), sigmoid",
}


def _io_table(items):
    lines = ["| name | dtype | shape | meaning |", "|---|---|---|---|"]
    for name, dtype, dims in items:
        lines.append(f"| `{name}` | {dtype} | [{', '.join(str(d) for d in dims)}] | {INPUT_NOTES.get(name, '')} |")
    return "\n".join(lines)


def _f(x):
    return f"{x:.3f}"


def write_cards(out_dir, protos, tm, rm, heads, world, seed):
    sp = tm["spearman"]
    tower_metrics = f"""Held out: the last 20% of matches in time ({tm['heldOutMatches']} matches, both directions scored;
{tm['trainMatches']} earlier matches trained on). Spearman rank correlation of the score s = u_i·p_j with the real chat
duration; "allowed only" drops the pairs the hard filters forbid (their chats end at once, so including them is easy):

| scorer | all pairs | allowed only |
|---|---|---|
| feature + session embeddings (shipped pipeline) | {_f(sp['featurePlusSession']['all'])} | {_f(sp['featurePlusSession']['allowedOnly'])} |
| feature tower only (what a user without a session vector gets) | {_f(sp['featureOnly']['all'])} | {_f(sp['featureOnly']['allowedOnly'])} |
| baseline: partner's mean past log duration | {_f(sp['baselinePartnerMeanDuration']['all'])} | {_f(sp['baselinePartnerMeanDuration']['allowedOnly'])} |
| oracle: the world's own expected duration (knows latent tastes) | — | {_f(tm['oracleSpearmanAllowedOnly'])} |

Transform fitted on training matches: w = {tm['transform']['w']:.4f}, b = {tm['transform']['b']:.4f}; held-out mean
|log ŷ − log duration| = {_f(tm['transform']['heldOutLogMae'])}. Like head: held-out AUC {_f(tm['likeAuc'])}.
{tm['coldChoosers'] * 100:.2f}% of held-out directed pairs have a cold chooser (the split is by time, so nearly every
user has a history by then); the "feature tower only" row is the cold-start figure."""

    world_text = f"""Training data: the seeded synthetic world of `tools/models/world.py` (seed {seed}): 3000 users in 6 latent
taste clusters (cluster depends on country and age bucket), per-user taste/trait vectors and a popularity channel;
~62k time-ordered 1:1 matches (≤ 128 per user). Each side's stay is log-normal around taste·trait + partner popularity
− age gap − partner's reports; the chat lasts min(stay_i, stay_j) seconds; pairs the hard filters forbid (gender/wants,
no shared language) end within 2.5 s. The same world is exported in `models/world/` for the TypeScript demo and tests."""

    ft_in, ft_out = io_signature(protos["feature-tower"])
    card = f"""# feature-tower.onnx — Wide&Deep feature embedding

Request-time side information → user and peer embeddings (64-d). Computed on every request (filters change per
request). The full embedding of a user is this output plus the session tower's output, per side; the pair score is
s(i, j) = user_i · peer_j and ŷ = exp(w·s + b) predicts i's chat duration with j in seconds.

Architecture: deep part = 8-d embedding per categorical field + log1p(account_age_days)/6 and log1p(recent_reports),
MLP 50→128→128, linear heads to 64 (user) and 64 (peer); wide part = one-hot and crossed one-hot features
(gender×wants, language×device_language, country×age_bucket) summed into both outputs. Opset 17, dynamic `batch`.

## Inputs
{_io_table(ft_in)}

## Outputs
{_io_table(ft_out)}

## Metadata (`metadata_props`)
- `kindred.contract`: `{{"kind":"feature-tower","version":1,"dim":64,"inputs":[...],"outputs":["user","peer"]}}`
- `kindred.vocab`: vocabulary sizes `{{"country":12,"language":8,"gender":3,"wants":8,"age_bucket":7,"device_language":8}}`; ids outside are errors.
- `kindred.heads`: the match heads — `chat_duration` (weight 1, exp transform, no projection) and `like` (weight {heads[1]['weight']:g},
  exp transform over 64×{heads[1]['dim']} projections: a log-linear model of P(i likes j after the chat)). Combined score = Σ weight·ŷ.
- `kindred.training`: seed, source and the held-out metrics below.

## Training
{world_text} Loss: squared error of u_i·p_j against log chat seconds, both directions of every training match, Adam, 10 epochs.

## Held-out metrics
{tower_metrics}

## Rebuild
{REBUILD}
"""
    _write(out_dir, "feature-tower.md", card)

    st_in, st_out = io_signature(protos["session-tower"])
    card = f"""# session-tower.onnx — causal-transformer session embedding

[user id + side info, past matches…] → user and peer session vectors (64-d), added to the feature tower's output.
Too slow for the request path: compute it after each match ends and store it in the embedding memory; requests read it.

Architecture: token 0 = hashed user id embedding + projected side information; token t ≥ 1 = the t-th past match
(hashed partner embedding, its product with log1p(seconds)/4, and log1p(seconds)/4, projected). Learned positions
(129), 2 pre-LayerNorm blocks, model width 32, 2 heads, attention written by hand with a causal mask and a key mask
(index ≤ history_length). Output: the token at index history_length (the last valid one), projected to 64 + 64.
Hash table: {4096} buckets × 32 shared by `user_hash` and `history_peer_hash` (different shifts). Opset 17,
dynamic `batch` and `seq` (0 ≤ seq ≤ 128: a longer seq fails in the position lookup; send the most recent
128 matches, oldest first).

## Inputs
{_io_table(st_in)}

## Outputs
{_io_table(st_out)}

For a cold user (history_length 0) the output is defined but the caller uses a zero session vector, as training did.

## Metadata (`metadata_props`)
- `kindred.contract`: `{{"kind":"session-tower","version":1,"dim":64,"maxHistory":128,...}}`
- `kindred.vocab`: as the feature tower.
- `kindred.max_history`: `128`.
- `kindred.hashing`: `{{"function":"fnv1a32","buckets":4096,"shift":{{"user_hash":0,"history_peer_hash":2039}}}}` —
  bucket(field, value) = (fnv1a32(utf8(String(value))) + shift[field]) mod buckets.
- `kindred.training`: seed, source and the held-out metrics below.

## Training
{world_text} The feature tower is frozen; (F_u + S_u)(i)·(F_p + S_p)(j) is fitted to log chat seconds with the session
vectors taken from each user's history *before* the match (zero when cold). Partners' session vectors come from a
cache refreshed every epoch. Adam (lr 1e-3), dropout 0.1, 6 epochs. Hyperparameters were chosen by looking at this
held-out split, so the numbers below are slightly optimistic.

## Held-out metrics
{tower_metrics}

## Rebuild
{REBUILD}
"""
    _write(out_dir, "session-tower.md", card)

    r_in, r_out = io_signature(protos["fwfm-ranker"])
    card = f"""# fwfm-ranker.onnx — FwFM pCTR ranker

Pointwise click probability of a feed candidate. Field-weighted factorization machine over hashed features:
logit = bias + Σ_f linear(x_f) + Σ_(f<g) r_fg ⟨v_f, v_g⟩ over 7 fields (user, item, category, author, hour, device,
history). All fields share one table of 16384 buckets × 16 (+ a linear weight per bucket); `history_item_ids` uses the
same shift as `item_id`, so an item has one embedding wherever it appears; the history field is the masked mean of its
items. Opset 17, dynamic `batch` and `seq` (any seq ≥ 0; training used the last 32 positive clicks).

The graph is arranged for serving (`ServingRanker` in `tools/models/fwfm_ranker.py`, the trained weights unchanged):
the request-level inputs `user_id`, `context_hour`, `context_device`, `history_item_ids`, `history_length` take
batch 1 (broadcast against the candidates' batch N) or batch N, all five alike (the tables below write both as
`batch`). The interaction sum splits into a request part, a candidate part and a cross part
(Σ_c ⟨v_c, Σ_q r_cq v_q⟩), so the history pooling and the request side are computed once per distinct request row
(once with batch 1; once per run of equal consecutive rows with batch N, e.g. per request of a micro-batch), and
each candidate costs three lookups and a few dot products.
Outputs equal the training module's within float rounding (the parity fixtures check both forms within 1e-4).

## Inputs
{_io_table(r_in)}

## Outputs
{_io_table(r_out)}

## Metadata (`metadata_props`)
- `kindred.contract`: `{{"kind":"fwfm-ranker","version":1,"inputs":[...],"outputs":["pctr"],"requestInputs":[...],"falsePositiveDwellMs":3000}}`
  (`requestInputs`: the inputs that may have batch 1)
- `kindred.hashing`: `{{"function":"fnv1a32","buckets":16384,"shift":{{...}}}}` — bucket(field, value) =
  (fnv1a32(utf8(String(value))) + shift[field]) mod buckets; `history_item_ids` and `item_id` share a shift.
- `kindred.training`: seed, source and the held-out metrics below.

## Training
The click log of the synthetic world (seed {seed}): 5000 items (12 topics, 36 categories, 600 authors, 64-d content
vectors), {rm['trainImpressions'] + rm['heldOutImpressions']} impressions; click probability depends on the user's
topic taste (from their taste cluster), item quality, a user bias and hour × device. 4% of non-clicks become accidental
clicks with dwell < 3 s: per seed 004 they are negatives here and never enter the history. Label = click with dwell
≥ 3 s. Binary cross-entropy, Adam, 4 epochs.

## Held-out metrics
Held out: each user's last 20% of impressions in time ({rm['heldOutImpressions']} impressions, positive rate
{rm['positiveRate']:.3f}).

| metric | value |
|---|---|
| AUC | {_f(rm['auc'])} |
| AUC with the history field emptied | {_f(rm['aucWithoutHistory'])} |
| log loss | {rm['logloss']:.4f} |
| mean predicted vs observed pCTR | {rm['calibration']['meanPredicted']:.4f} vs {rm['calibration']['meanObserved']:.4f} |

## Rebuild
{REBUILD}
"""
    _write(out_dir, "fwfm-ranker.md", card)


def _write(out_dir, name, text):
    with open(os.path.join(out_dir, name), "w") as f:
        f.write(text)
