"""Build kindred's default models from the synthetic world: one command, deterministic, CPU, a few minutes.

    /usr/bin/python3 tools/models/build.py [--seed N] [--out models] [--fixtures ts/test/fixtures/models]

Writes models/{feature-tower,session-tower,fwfm-ranker}.onnx + .md cards, models/world/*, and the parity
fixtures the vitest test (ts/test/models/onnx-parity.test.ts) checks ONNX Runtime against.
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # keep tools/models free of __pycache__

import numpy as np  # noqa: E402
import torch  # noqa: E402

import cards  # noqa: E402
import export  # noqa: E402
import feature_tower as FT  # noqa: E402
import fwfm_ranker as FR  # noqa: E402
import hashing  # noqa: E402
import session_tower as ST  # noqa: E402
import towers_eval as TE  # noqa: E402
import world as W  # noqa: E402
from metrics import auc  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
LIKE_WEIGHT = 20.0  # a like is worth about 20 s of chat in the combined pair score
TOL = {"abs": 1e-4, "rel": 1e-4}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--out", default=os.path.join(REPO, "models"))
    ap.add_argument("--fixtures", default=os.path.join(REPO, "ts", "test", "fixtures", "models"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    t0 = time.time()
    os.makedirs(args.out, exist_ok=True)

    print("world ...", flush=True)
    world = W.build_world(args.seed)
    W.write_world_files(world, os.path.join(args.out, "world"))
    m = world.matches
    n_events = m["a"].size
    train = np.arange(n_events) < int(0.8 * n_events)  # matches are time-ordered: the last 20% are held out

    print("feature tower ...", flush=True)
    ft = FT.train_feature_tower(world, train)
    fu, fp = FT.all_user_embeddings(ft, world.users)
    print("session tower ...", flush=True)
    st, hist = ST.train_session_tower(world, fu, fp, train)
    cache_u, cache_p = ST.all_prefix_vectors(st, world, hist)

    # Scores on both directions of train and held-out matches; the transform is fitted on train only.
    def scores(mask):
        c, p, ev, like = TE.directed_events(world, mask)
        u, pv = TE.full_vectors(world, hist, fu, fp, cache_u, cache_p, c, p, ev)
        feat = (fu[c] * fp[p]).sum(1).numpy()
        return {"chooser": c, "partner": p, "ev": ev, "like": like, "u": u, "p": pv,
                "full": (u * pv).sum(1).numpy(), "feature": feat}

    tr, te = scores(train), scores(~train)
    w_dur, b_dur = TE.fit_exp_transform(tr["full"], m["duration_s"][tr["ev"]])
    pu, pp, w_like, b_like = TE.train_like_head(tr["u"], tr["p"], tr["like"])
    dur_te, allowed_te = m["duration_s"][te["ev"]], m["allowed"][te["ev"]]
    partner_mean = _partner_mean_log_duration(world, train)
    tower_metrics = {
        "heldOutMatches": int((~train).sum()),
        "trainMatches": int(train.sum()),
        "spearman": TE.spearman_report(dur_te, allowed_te, {
            "featurePlusSession": te["full"], "featureOnly": te["feature"],
            "baselinePartnerMeanDuration": partner_mean[te["partner"]]}),
        "coldChoosers": _cold_share(world, hist, te),
        "transform": {"w": w_dur, "b": b_dur,
                      "heldOutLogMae": float(np.mean(np.abs(w_dur * te["full"] + b_dur - np.log(dur_te))))},
        "likeAuc": auc(te["like"], w_like * (te["u"] @ pu.T * (te["p"] @ pp.T)).sum(1).numpy() + b_like),
        "oracleSpearmanAllowedOnly": _oracle_spearman(world, te, allowed_te, dur_te),
    }
    print(json.dumps(tower_metrics, indent=1), flush=True)

    print("ranker ...", flush=True)
    data = FR.ClickData(world)
    ranker = FR.train_ranker(data)
    test_rows = np.flatnonzero(data.test)
    pctr = FR.predict(ranker, data, test_rows)
    ranker_metrics = {
        "heldOutImpressions": int(test_rows.size),
        "trainImpressions": int((~data.test).sum()),
        "positiveRate": float(data.label[test_rows].mean()),
        "auc": auc(data.label[test_rows], pctr),
        "aucWithoutHistory": auc(data.label[test_rows], FR.predict(ranker, data, test_rows, drop_history=True)),
        "logloss": float(-np.mean(data.label[test_rows] * np.log(pctr) + (1 - data.label[test_rows]) * np.log(1 - pctr))),
        "calibration": {"meanPredicted": float(pctr.mean()), "meanObserved": float(data.label[test_rows].mean())},
    }
    print(json.dumps(ranker_metrics, indent=1), flush=True)

    heads = [
        {"name": "chat_duration", "weight": 1, "transform": {"kind": "exp", "w": w_dur, "b": b_dur},
         "userProjection": None, "peerProjection": None, "dim": FT.EMBED_DIM},
        {"name": "like", "weight": LIKE_WEIGHT, "transform": {"kind": "exp", "w": w_like, "b": b_like},
         "userProjection": _rounded(pu.T.reshape(-1)), "peerProjection": _rounded(pp.T.reshape(-1)),
         "dim": int(pu.shape[0])},
    ]
    training = {"seed": args.seed, "world": "tools/models/world.py", "torch": torch.__version__}
    print("export ...", flush=True)
    protos = export_all(args, world, hist, ft, st, ranker, data, heads, training, tower_metrics, ranker_metrics)
    cards.write_cards(args.out, protos, tower_metrics, ranker_metrics, heads, world, args.seed)
    sizes = {f: os.path.getsize(os.path.join(args.out, f)) for f in sorted(os.listdir(args.out)) if f.endswith(".onnx")}
    print("sizes", sizes, f"built in {time.time() - t0:.0f}s", flush=True)


def export_all(args, world, hist, ft, st, ranker, data, heads, training, tower_metrics, ranker_metrics):
    fixtures = args.fixtures
    side_names = W.SIDE_FIELDS
    protos = {}

    # Feature tower.
    rows = np.array([0, 1, 2, 3, 4, 5])
    side = FT.side_tensors(world.users, rows)
    edge = [torch.tensor([W.VOCAB[f] - 1, 0], dtype=torch.int64) for f in W.SIDE_INT_FIELDS] + [
        torch.tensor([0.0, 5000.0]), torch.tensor([25.0, 0.0])]
    case_a = [torch.cat([s, e]) for s, e in zip(side, edge)]
    meta = {
        "kindred.contract": json.dumps({"kind": "feature-tower", "version": 1, "dim": FT.EMBED_DIM,
                                        "inputs": side_names, "outputs": ["user", "peer"]}),
        "kindred.vocab": json.dumps(W.VOCAB),
        "kindred.heads": json.dumps(heads),
        "kindred.training": json.dumps({**training, "metrics": _summary(tower_metrics)}),
    }
    path = os.path.join(args.out, "feature-tower.onnx")
    protos["feature-tower"] = export.export_onnx(ft, case_a, path, side_names, ["user", "peer"],
                                                 {n: {0: "batch"} for n in side_names + ["user", "peer"]}, meta)
    single = [t[6:7] for t in case_a]
    export.write_fixture(os.path.join(fixtures, "feature-tower.json"), "feature-tower.onnx", meta, [
        export.fixture_case("six world users + two edge rows (last and first id of every field)", ft, case_a, side_names, ["user", "peer"]),
        export.fixture_case("batch of one", ft, single, side_names, ["user", "peer"]),
    ], [], TOL)

    # Session tower.
    names = ["user_hash"] + side_names + ["history_peer_hash", "history_log_duration", "history_length"]
    order = np.argsort(hist.length)
    users = np.array([order[0], order[10], order[500], order[1500], order[2500], order[-40], order[-1], 7])
    inp = hist.inputs(world, users, seq=24)
    inp[-1] = torch.clamp(inp[-1], max=24)  # the caller sends at most seq tokens
    inp[-1][0] = 0  # a cold user
    meta_s = {
        "kindred.contract": json.dumps({"kind": "session-tower", "version": 1, "dim": FT.EMBED_DIM,
                                        "maxHistory": ST.MAX_HISTORY, "inputs": names, "outputs": ["user", "peer"]}),
        "kindred.vocab": json.dumps(W.VOCAB),
        "kindred.max_history": str(ST.MAX_HISTORY),
        "kindred.hashing": json.dumps({"function": "fnv1a32", "buckets": ST.USER_BUCKETS, "shift": ST.HASH_SHIFT}),
        "kindred.training": json.dumps({**training, "metrics": _summary(tower_metrics)}),
    }
    dyn = {n: {0: "batch"} for n in names + ["user", "peer"]}
    dyn["history_peer_hash"] = {0: "batch", 1: "seq"}
    dyn["history_log_duration"] = {0: "batch", 1: "seq"}
    path = os.path.join(args.out, "session-tower.onnx")
    protos["session-tower"] = export.export_onnx(st, inp, path, names, ["user", "peer"], dyn, meta_s)
    full = hist.inputs(world, np.array([order[-1], order[-2]]), seq=ST.MAX_HISTORY)
    one = hist.inputs(world, np.array([order[700]]), seq=1)
    one[-1] = torch.clamp(one[-1], max=1)
    export.write_fixture(os.path.join(fixtures, "session-tower.json"), "session-tower.onnx", meta_s, [
        export.fixture_case("eight users, seq 24 (row 0 cold, some histories shorter)", st, inp, names, ["user", "peer"]),
        export.fixture_case("two users with the full 128-match history", st, full, names, ["user", "peer"]),
        export.fixture_case("one user, seq 1", st, one, names, ["user", "peer"]),
    ], hashing.test_vectors(list(ST.HASH_SHIFT), ST.HASH_SHIFT, ST.USER_BUCKETS), TOL)

    # Ranker.
    rnames = FR.FIELDS[:-1] + ["history_item_ids", "history_length"]
    rows = np.flatnonzero(data.test)[[0, 1, 2, 100, 1000, 5000, 20000, 40000]]
    rin = data.tensors(rows)
    rin[-2] = rin[-2][:, :10].clone()
    rin[-1] = torch.clamp(rin[-1], max=10)
    rin[-1][1] = 0
    meta_r = {
        "kindred.contract": json.dumps({"kind": "fwfm-ranker", "version": 1, "inputs": rnames, "outputs": ["pctr"],
                                        "requestInputs": FR.REQUEST_INPUTS,
                                        "falsePositiveDwellMs": W.FALSE_POSITIVE_DWELL_MS}),
        "kindred.hashing": json.dumps({"function": "fnv1a32", "buckets": FR.BUCKETS, "shift": FR.HASH_SHIFT}),
        "kindred.training": json.dumps({**training, "metrics": _summary(ranker_metrics)}),
    }
    # One axis name for all: ONNX Runtime does not tie equal names together, so request-level inputs of batch 1
    # broadcast against batch-N candidates (tested by fwfm-ranker.broadcast.json).
    rdyn = {n: {0: "batch"} for n in rnames + ["pctr"]}
    rdyn["history_item_ids"] = {0: "batch", 1: "seq"}
    path = os.path.join(args.out, "fwfm-ranker.onnx")
    # Exported from the serving arrangement of the trained weights (same function; tested against `ranker` below).
    serving = FR.ServingRanker(ranker).eval()
    request = _one_request(rin, 3, 6)
    protos["fwfm-ranker"] = export.export_onnx(serving, request, path, rnames, ["pctr"], rdyn, meta_r)
    rin1 = data.tensors(np.flatnonzero(data.test)[[7, 8, 9]])
    rin1[-2] = rin1[-2][:, :1].clone()
    rin1[-1] = torch.clamp(rin1[-1], max=1)
    # Rows of two requests interleaved (A A B B A): consecutive equal request rows share one pooling in the graph.
    mixed = [t[[0, 0, 2, 2, 0]] for t in rin]
    mixed[1] = rin[1][[3, 4, 5, 6, 7]]
    mixed[2], mixed[3] = rin[2][[3, 4, 5, 6, 7]], rin[3][[3, 4, 5, 6, 7]]
    export.write_fixture(os.path.join(fixtures, "fwfm-ranker.json"), "fwfm-ranker.onnx", meta_r, [
        export.fixture_case("eight held-out impressions, seq 10 (row 1 without history)", ranker, rin, rnames, ["pctr"]),
        export.fixture_case("three impressions, seq 1", ranker, rin1, rnames, ["pctr"]),
        export.fixture_case("two requests' rows interleaved (A A B B A), seq 10", ranker, mixed, rnames, ["pctr"]),
    ], hashing.test_vectors(list(FR.HASH_SHIFT), FR.HASH_SHIFT, FR.BUCKETS), TOL)
    # Request-level inputs with batch 1 (the form FwFmRanker feeds where it can): the ModelPool's fixture test
    # cannot batch these, so they live in a fixture of their own (ts/test/rank/fwfm-ranker-broadcast.test.ts).
    no_history = _one_request(rin, 1, 4)
    export.write_fixture(os.path.join(fixtures, "fwfm-ranker.broadcast.json"), "fwfm-ranker.onnx", meta_r, [
        _broadcast_case("one request (batch 1) and six candidates (batch 6), seq 10", ranker, request, rnames),
        _broadcast_case("one request without history (batch 1) and four candidates, seq 10", ranker, no_history, rnames),
        _broadcast_case("one request (batch 1) and one candidate, seq 1", ranker, _one_request(rin1, 0, 1), rnames),
    ], [], TOL)
    # The feature tower has no hashed input; give its fixture the ranker's vectors so every fixture checks the hash.
    fx = os.path.join(fixtures, "feature-tower.json")
    doc = json.load(open(fx))
    doc["hashing"] = hashing.test_vectors(["user_id", "item_id"], FR.HASH_SHIFT, FR.BUCKETS)
    json.dump(doc, open(fx, "w"), separators=(",", ":"))
    return protos


def _one_request(rin, row, candidates):
    """Ranker inputs for one request: row `row`'s request-level inputs with batch 1, `candidates` candidate rows."""
    out = []
    for name, t in zip(FR.FIELDS[:-1] + ["history_item_ids", "history_length"], rin):
        out.append(t[row:row + 1].clone() if name in FR.REQUEST_INPUTS else t[:candidates].clone())
    return out


def _broadcast_case(name, ranker, request, names):
    """A parity case with batch-1 request inputs; the reference is the training module on the rows expanded to batch N."""
    n = request[names.index("item_id")].shape[0]
    full = [t.expand(n, *t.shape[1:]).contiguous() if names[i] in FR.REQUEST_INPUTS else t for i, t in enumerate(request)]
    case = export.fixture_case(name, ranker, full, names, ["pctr"])
    case["inputs"] = {k: export.tensor_json(t) for k, t in zip(names, request)}
    return case


def _partner_mean_log_duration(world, train):
    """Baseline: how long, on average (log seconds), the partner's training chats lasted."""
    m = world.matches
    users = np.concatenate([m["a"][train], m["b"][train]])
    logd = np.log(np.concatenate([m["duration_s"][train]] * 2))
    total = np.bincount(users, weights=logd, minlength=W.N_USERS)
    count = np.bincount(users, minlength=W.N_USERS)
    return np.where(count > 0, total / np.maximum(count, 1), logd.mean())


def _cold_share(world, hist, te):
    m = world.matches
    pos = np.where(m["a"][te["ev"]] == te["chooser"], hist.pos_a[te["ev"]], hist.pos_b[te["ev"]])
    return float((pos == 0).mean())


def _oracle_spearman(world, te, allowed, durations):
    """The world's own expected log duration (knows every latent taste): an upper bound for any model."""
    mu1 = W.log_stay_mean(world.users, te["chooser"], te["partner"])
    mu2 = W.log_stay_mean(world.users, te["partner"], te["chooser"])
    from metrics import spearman
    return spearman((-np.logaddexp(-mu1, -mu2))[allowed], durations[allowed])


def _summary(metrics):
    return json.loads(json.dumps(metrics, default=float))


def _rounded(t):
    return [float(np.float32(x)) for x in t.numpy()]


if __name__ == "__main__":
    main()
