#!/usr/bin/python3
"""Generate a realistic multi-day riskgate capture with known answers.

    gencapture.py --geoip DB --out DIR [--events N] [--days D] [--seed S]
                  [--accounts A] [--malformed-per-kind K] [--no-malformed]
                  [--scenarios-only] [--formats jsonl,gz,kcat]
    gencapture.py --geoip DB --verify DIR [--write-oracle]

Writes DIR/capture.jsonl (+ capture.jsonl.gz, capture.kcat.jsonl),
DIR/expect.json (the format samples/score.py reads) and DIR/malformed.jsonl.
Background traffic is rule-abiding under the default rule pack (the table
in the contract's detection.md); planted scenarios hit every default rule
and its near misses. --verify re-derives every decision with an independent Python
reading of detection.md and checks it against expect.json.
See tests/data/gen/README.md. Standard library + maxminddb only; same
arguments and seed give byte-identical files.
"""
import argparse
import bisect
import datetime
import gzip
import ipaddress
import json
import math
import os
import random
import re
import sys
import time
import zlib

import maxminddb

SEC_MS = 1000
MIN_MS = 60 * SEC_MS
HOUR_MS = 60 * MIN_MS
DAY_MS = 24 * HOUR_MS
EPOCH = datetime.datetime(1970, 1, 1)
# Window start: the sample's days. Fixed, so --days alone moves the end.
T0_MS = 1794873600000  # 2026-11-17T00:00:00Z
TOPIC = "riskgate.events"
KCAT_PARTITIONS = 6
MAX_LINE_BYTES = 1 << 20

# Default-pack thresholds (detection.md). The generator keeps background far
# from them; the verifier compares against them exactly.
HF_WINDOW_MS, HF_LIMIT = DAY_MS, 50
NEW_ACCOUNT_MS = 72 * HOUR_MS
NRL_AMOUNT = 100000
MULE_WINDOW_MS, MULE_SENDERS = DAY_MS, 5
LARGE_AMOUNT = 5000000
GEO_KM = 500.0
INSTANT_MS, INSTANT_WINDOW_MS, INSTANT_COUNT = 1000, 10 * MIN_MS, 5
RECALL_WINDOW_MS, RECALL_COUNT = 10 * MIN_MS, 5
CLOCK_SKEW_MS = 5 * MIN_MS
COMPLAINT_MS = HOUR_MS
DEDUPE_MS = HOUR_MS
LIFETIME_MS = {"normal": DAY_MS, "lucky": DAY_MS, "group": 3 * DAY_MS, "timed": 60 * SEC_MS}
RULE_ORDER = ["hf_transfers_24h", "new_recipient_large", "new_account_mule", "large_transfer",
              "ip_geo_mismatch", "new_device_remote_ip", "instant_claims", "recall_burst",
              "automation_client", "clock_tamper", "forged_claim", "complaint_fraud_1h",
              "complaint_late"]
ACTION_ORDER = ["freeze", "face_verify", "review"]
TYPES = ["account_open", "login", "transfer", "red_packet_send", "red_packet_claim",
         "recall_request", "complaint"]

# Background safety margins (well inside every default threshold).
BG_PAYMENTS_24H = 40
BG_RECALLS_20MIN = 3
BG_SKEW_MS = 2 * MIN_MS
BG_MAX_AMOUNT = 500000           # 5,000 CNY
BG_MIN_CLAIM_DELAY_MS = 3 * SEC_MS
BENIGN_PACKAGES = ["com.tencent.mm", "com.vendor.keyboard", "com.eg.android.AlipayGphone"]
CN_HEAVY_OCTETS = [1, 14, 27, 36, 39, 42, 49, 58, 59, 60, 61, 101, 106, 110, 111, 112, 113,
                   114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 175, 180, 182,
                   183, 202, 210, 211, 218, 219, 220, 221, 222, 223]
# Real IPv6 literals used only where no rule can depend on them (events
# without location, never on a login).
IPV6_POOL = ["240e:3b0:1a2b::1", "2408:8456:3c10:12::2", "240e:47c:2b00:33::a1",
             "2409:8a1e:6f40:1::3", "2001:da8:8000:1::81"]


def default_recall_tools():
    """recall_tools from rules/default.yaml when it exists (a plain list
    under `lists:` / `recall_tools:`), else the documented example."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "rules", "default.yaml")
    names = []
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    inside = False
    indent = None
    for ln in lines:
        s = ln.split("#", 1)[0].rstrip()
        if not s.strip():
            continue
        if re.match(r"^\s*recall_tools:\s*$", s):
            inside, indent = True, len(s) - len(s.lstrip())
            continue
        if inside:
            ind = len(s) - len(s.lstrip())
            m = re.match(r"^\s*-\s*['\"]?([^'\"]+?)['\"]?\s*$", s)
            if m and ind >= indent:
                names.append(m.group(1))
                continue
            if ind <= indent:
                inside = False
        m = re.match(r"^\s*recall_tools:\s*\[(.*)\]\s*$", s)
        if m:
            names += [x.strip().strip("'\"") for x in m.group(1).split(",") if x.strip()]
    return names or ["com.example.autoclick"]


# ---------------------------------------------------------------- time forms

def iso(ms, offset_min=0, frac_digits=3, sub=""):
    dt = EPOCH + datetime.timedelta(milliseconds=ms + offset_min * MIN_MS)
    s = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if frac_digits == 3:
        s += ".%03d" % (ms % 1000)
    elif frac_digits == 6:
        s += ".%03d%s" % (ms % 1000, sub)
    if offset_min == 0:
        return s + "Z"
    sign = "+" if offset_min > 0 else "-"
    return s + "%s%02d:%02d" % (sign, abs(offset_min) // 60, abs(offset_min) % 60)


FORMS = [("z3", 30), ("z0", 10), ("z6", 6), ("p8", 20), ("p8_0", 5), ("p8_6", 3), ("ms", 26)]
FORM_CUM = []
_acc = 0
for _f, _w in FORMS:
    _acc += _w
    FORM_CUM.append(_acc)


def fmt_time(ms, form, sub="000"):
    if form == "ms":
        return ms
    off = 480 if form.startswith("p8") else 0
    digits = 0 if form.endswith("_0") or form == "z0" else (6 if form.endswith("6") else 3)
    return iso(ms, off, digits, sub)


def choose_form(rng, ms, exact):
    """Pick a ts form for an event at ms. exact=True (planted events) never
    changes the instant; background may drop sub-second digits (the caller
    gets the adjusted ms back) or add sub-millisecond noise."""
    form = rng.choices([f for f, _ in FORMS], cum_weights=FORM_CUM)[0]
    sub = "000"
    if form in ("z0", "p8_0") and ms % 1000:
        if exact:
            form = "z3" if form == "z0" else "p8"
        else:
            ms -= ms % 1000
    if form in ("z6", "p8_6") and not exact:
        sub = "%03d" % rng.randrange(1000)
    return ms, form, sub


# ---------------------------------------------------------------- geo

def haversine_km(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))


def destination(lat, lon, km, bearing_deg):
    r = km / 6371.0
    b = math.radians(bearing_deg)
    p1, l1 = math.radians(lat), math.radians(lon)
    p2 = math.asin(math.sin(p1) * math.cos(r) + math.cos(p1) * math.sin(r) * math.cos(b))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(r) * math.cos(p1), math.cos(r) - math.sin(p1) * math.sin(p2))
    lon2 = (math.degrees(l2) + 540.0) % 360.0 - 180.0
    return math.degrees(p2), lon2


def norm_record(rec):
    """(country, city, lat, lon, accuracy_km) from a flat (@ip-location-db)
    or a MaxMind-layout record; None when there is no record."""
    if not isinstance(rec, dict):
        return None
    if "country_code" in rec or "city" in rec and isinstance(rec.get("city"), str):
        cc = rec.get("country_code") or None
        city = rec.get("city") or ""
        lat, lon = rec.get("latitude"), rec.get("longitude")
        acc = 0.0
        state = rec.get("state1") or ""
    else:
        cc = (rec.get("country") or {}).get("iso_code") or None
        city = ((rec.get("city") or {}).get("names") or {}).get("en") or ""
        loc = rec.get("location") or {}
        lat, lon = loc.get("latitude"), loc.get("longitude")
        acc = float(loc.get("accuracy_radius") or 0)
        subs = rec.get("subdivisions") or [{}]
        state = ((subs[0] or {}).get("names") or {}).get("en") or ""
    if lat is None or lon is None:
        city = ""
    return {"cc": cc, "city": city, "lat": lat, "lon": lon, "acc": acc, "state": state}


class GeoDB:
    def __init__(self, path):
        self.reader = maxminddb.open_database(path)
        self.cache = {}

    def lookup(self, ip):
        if ip in self.cache:
            return self.cache[ip]
        try:
            rec = norm_record(self.reader.get(ip))
        except (ValueError, TypeError):
            rec = None  # e.g. an IPv6 literal in an IPv4-only database
        self.cache[ip] = rec
        return rec


class GeoPool:
    """City-level and country-only IPv4 addresses found by sampling the DB."""

    def __init__(self, geo, rng, samples=120000):
        self.geo = geo
        self._lists = {}
        self.cities = {}        # cc -> {city_key: [(ip, lat, lon)]}
        self.country_only = {}  # cc -> [(ip, lat, lon)]
        seen = set()
        for i in range(samples):
            a = rng.choice(CN_HEAVY_OCTETS) if i % 3 == 0 else rng.randrange(1, 224)
            ip = "%d.%d.%d.%d" % (a, rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))
            if ip in seen:
                continue
            seen.add(ip)
            rec = geo.lookup(ip)
            if not rec or not rec["cc"] or rec["lat"] is None:
                continue
            if rec["city"]:
                key = rec["city"] + "|" + rec["state"]
                self.cities.setdefault(rec["cc"], {}).setdefault(key, []).append((ip, rec["lat"], rec["lon"]))
            else:
                self.country_only.setdefault(rec["cc"], []).append((ip, rec["lat"], rec["lon"]))
        geo.cache.clear()

    def city_list(self, cc, min_ips=1):
        """[(key, ips)] for a country, most IPs first (ties by name)."""
        memo = self._lists.get((cc, min_ips))
        if memo is None:
            d = self.cities.get(cc, {})
            memo = [(k, v) for k, v in d.items() if len(v) >= min_ips]
            memo.sort(key=lambda kv: (-len(kv[1]), kv[0]))
            self._lists[(cc, min_ips)] = memo
        return memo

    def countries(self, min_cities=1):
        return sorted(cc for cc, d in self.cities.items() if len(d) >= min_cities)


# ---------------------------------------------------------------- events

class Ev:
    __slots__ = ("t", "arr", "seq", "acct", "typ", "obj", "dup", "bg", "eid")

    def __init__(self, t, seq, acct, typ, obj, bg):
        self.t, self.arr, self.seq = t, t, seq
        self.acct, self.typ, self.obj = acct, typ, obj
        self.dup = False
        self.bg = bg
        self.eid = obj.get("event_id")


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class Builder:
    """Owns the id counters and the list of events; every event goes
    through make() so forms, ids and ordering are uniform."""

    def __init__(self, rng):
        self.rng = rng
        self.events = []
        self.next_eid = 1
        self.next_pid = 1
        self.seq = 0

    def eid(self):
        s = "e-%07d" % self.next_eid
        self.next_eid += 1
        return s

    def pid(self):
        s = "p-%07d" % self.next_pid
        self.next_pid += 1
        return s

    def make(self, typ, t, acct, fields, bg, form=None, eid=None, exact=None):
        exact = (not bg) if exact is None else exact
        if form is None:
            t, form, sub = choose_form(self.rng, t, exact)
        else:
            sub = "000"
        obj = {"event_id": eid or self.eid(), "type": typ, "account": acct}
        for k, v in fields.items():
            obj[k] = v
        obj["ts"] = fmt_time(t, form, sub)
        self.seq += 1
        ev = Ev(t, self.seq, acct, typ, obj, bg)
        self.events.append(ev)
        return ev

    def duplicate(self, ev, arrive_after_ms, ts_shift_ms=0):
        """Re-send of ev (same event_id) arriving arrive_after_ms later;
        with ts_shift_ms the copy carries a later ts (a retried request)."""
        if ts_shift_ms:
            obj = dict(ev.obj)
            t = ev.t + ts_shift_ms
            obj["ts"] = fmt_time(t, "z3")
        else:
            obj, t = ev.obj, ev.t
        self.seq += 1
        d = Ev(t, self.seq, ev.acct, ev.typ, obj, ev.bg)
        d.arr = ev.arr + arrive_after_ms
        d.dup = True
        self.events.append(d)
        return d


# ---------------------------------------------------------------- background

class BgAccount:
    __slots__ = ("name", "cc", "ips", "far_loc", "opened", "active", "weight", "dev_a", "dev_b",
                 "switch_t", "pays", "recalls", "refs", "region")


class Background:
    def __init__(self, gen, n_accounts, budget):
        self.g = gen
        self.rng = gen.rng
        self.b = gen.b
        self.budget = budget
        self.produced = 0
        self.accounts = []
        self.make_accounts(n_accounts)

    def make_accounts(self, n):
        rng, pool = self.rng, self.g.pool
        cn_cities = pool.city_list("CN", 2)
        foreign = [cc for cc in ["HK", "TW", "SG", "JP", "KR", "US", "MY", "GB", "AU", "CA", "DE", "FR"]
                   if pool.city_list(cc, 2)]
        cum, acc = [], 0.0
        for i in range(n):
            a = BgAccount()
            a.name = "bg%05d" % i
            cc = "CN" if (rng.random() < 0.85 or not foreign) else rng.choice(foreign)
            if not pool.city_list(cc, 2):
                cc = "CN"
            a.cc = cc
            a.region = cc
            cities = cn_cities if cc == "CN" else pool.city_list(cc, 2)
            # Skew toward big cities, as real traffic is.
            idx = min(int(rng.expovariate(1.0 / max(1.0, len(cities) / 6.0))), len(cities) - 1)
            key, ips = cities[idx]
            a.far_loc = None
            co = pool.country_only.get(cc, [])
            if co and rng.random() < 0.05:
                # Country-only IPs: the DB has no city for them, so a device
                # location far from the country centroid must not be judged.
                a.ips = [("co", ip, lat, lon) for ip, lat, lon in rng.sample(co, min(len(co), rng.randint(1, 2)))]
                cen = a.ips[0]
                far = [c for c in pool.city_list(cc, 1)
                       if haversine_km(cen[2], cen[3], c[1][0][1], c[1][0][2]) > 600]
                pick = rng.choice(far) if far else rng.choice(pool.city_list(cc, 1))
                a.far_loc = (pick[1][0][1], pick[1][0][2])
            else:
                k = min(len(ips), rng.randint(1, 3))
                a.ips = [("city", ip, lat, lon) for ip, lat, lon in rng.sample(ips, k)]
            r = rng.random()
            if r < 0.03:
                # Opened recently: inside the window or just before it.
                a.opened = T0_MS + rng.randrange(-2 * DAY_MS, max(1, self.g.days * DAY_MS // 2))
            else:
                a.opened = T0_MS - rng.randrange(20 * DAY_MS, 900 * DAY_MS)
            a.active = max(T0_MS, a.opened + 10 * MIN_MS)
            a.weight = min(6.0, rng.lognormvariate(0.0, 0.8))
            a.dev_a = "d-%s-a" % a.name
            a.dev_b = "d-%s-b" % a.name
            end = T0_MS + self.g.days * DAY_MS
            a.switch_t = (a.active + rng.randrange(max(1, end - a.active))) if rng.random() < 0.05 else None
            a.pays, a.recalls, a.refs = [], [], []
            acc += a.weight
            cum.append(acc)
            self.accounts.append(a)
        self.cum = cum

    # -- helpers
    def pick_account(self):
        return self.rng.choices(self.accounts, cum_weights=self.cum)[0]

    def rand_time(self, a):
        rng = self.rng
        start, end = a.active, T0_MS + self.g.days * DAY_MS - 1
        if start >= end:
            return None
        for _ in range(20):
            t = start + rng.randrange(end - start)
            local_h = ((t // HOUR_MS) + 8) % 24
            if local_h >= 7 or rng.random() < 0.2:  # quiet nights (CN time)
                return t
        return t

    def device(self, a, t):
        return a.dev_b if (a.switch_t is not None and t >= a.switch_t) else a.dev_a

    def common(self, a, t, fields, typ, allow_v6=True):
        rng = self.rng
        kind, ip, lat, lon = rng.choice(a.ips)
        with_loc = rng.random() < 0.45
        if allow_v6 and typ != "login" and not with_loc and rng.random() < 0.02:
            ip = rng.choice(IPV6_POOL)
        if typ == "login" or rng.random() < 0.97:
            fields["ip"] = ip
        fields["device_id"] = self.device(a, t)
        if with_loc and "ip" in fields and ":" not in fields["ip"]:
            if kind == "city":
                la, lo = destination(lat, lon, rng.uniform(0.2, 30.0), rng.uniform(0, 360))
            else:
                la, lo = destination(a.far_loc[0], a.far_loc[1], rng.uniform(0.2, 20.0), rng.uniform(0, 360))
            fields["location"] = {"lat": round(la, 5), "lon": round(lo, 5)}
        r = rng.random()
        if r < 0.015:
            fields["location"] = None       # JSON null: an absent optional field
        elif r < 0.025:
            fields["client"] = None
        elif r < 0.03:
            fields["client_ts"] = None

    def client(self, fields):
        rng = self.rng
        r = rng.random()
        if r < 0.04:
            c = {"automation": False, "hooked": False, "packages": []}
        elif r < 0.06:
            benign = [x for x in BENIGN_PACKAGES if x not in self.g.recall_tools]
            c = {"packages": rng.sample(benign, min(len(benign), rng.randint(1, 2)))}
        elif r < 0.07:
            c = {"automation": False, "sdk": "3.%d.%d" % (rng.randrange(9), rng.randrange(20)), "rooted": None}
        else:
            return
        fields["client"] = c

    def client_ts(self, fields, t, p):
        rng = self.rng
        if rng.random() < p:
            skew = rng.randrange(-BG_SKEW_MS, BG_SKEW_MS + 1)
            f = rng.choice(["z3", "z3", "ms", "p8"])
            fields["client_ts"] = fmt_time(t + skew, f)

    def extras(self, fields):
        rng = self.rng
        r = rng.random()
        if r < 0.02:
            fields["app_ver"] = "8.0.%d" % rng.randrange(30, 60)
        elif r < 0.03:
            fields["trace"] = {"span": "%016x" % rng.getrandbits(64), "hops": [1, 2]}
        elif r < 0.035:
            fields["x_flags"] = None

    def count_between(self, lst, lo, hi):
        """How many of sorted lst lie in the open interval (lo, hi)."""
        return bisect.bisect_left(lst, hi) - bisect.bisect_right(lst, lo)

    def pay_ok(self, a, t):
        # Any 24 h window containing t lies inside (t-24h, t+24h).
        return self.count_between(a.pays, t - HF_WINDOW_MS, t + HF_WINDOW_MS) < BG_PAYMENTS_24H

    def emit(self, typ, t, a, fields):
        ev = self.b.make(typ, t, a.name, fields, bg=True)
        self.produced += 1
        return ev

    def old_counterparty(self, a, t):
        for _ in range(10):
            b = self.rng.choice(self.accounts)
            if b is not a and b.opened < t - NEW_ACCOUNT_MS - HOUR_MS:
                return b
        return None

    # -- activities
    def do_login(self, a, t):
        f = {}
        self.common(a, t, f, "login")
        self.extras(f)
        self.emit("login", t, a, f)

    def do_transfer(self, a, t):
        rng = self.rng
        b = self.old_counterparty(a, t)
        if b is None or not self.pay_ok(a, t):
            return False
        amount = min(BG_MAX_AMOUNT, max(100, int(rng.lognormvariate(9.5, 1.3))))
        f = {"counterparty": b.name, "amount": amount}
        if rng.random() < 0.7:
            f["currency"] = "CNY"
        if rng.random() < 0.1:
            f["mode"] = rng.choice(["realtime", "delay_2h", "delay_24h"])
        if rng.random() < 0.05:
            f["counterparty_created_at"] = fmt_time(b.opened, rng.choice(["z3", "ms", "p8"]))
        self.common(a, t, f, "transfer")
        self.client(f)
        self.client_ts(f, t, 0.15)
        self.extras(f)
        ev = self.emit("transfer", t, a, f)
        bisect.insort(a.pays, ev.t)
        a.refs.append(ev.obj["event_id"])
        if rng.random() < 0.004:
            self.do_complaint(a, ev)
        if rng.random() < 0.012:
            self.do_recall(a, ev.t, ev.obj["event_id"])
        return True

    def do_complaint(self, a, tr):
        rng = self.rng
        # mistake/other only, and within 1 h: complaint_late has no reason
        # condition, complaint_fraud_1h needs fraud.
        t = tr.t + rng.randrange(MIN_MS, 50 * MIN_MS)
        f = {"ref": tr.obj["event_id"], "reason": rng.choice(["mistake", "other"])}
        self.common(a, t, f, "complaint")
        self.emit("complaint", t, a, f)

    def do_recall(self, a, after_t, ref):
        rng = self.rng
        t = after_t + rng.randrange(10 * SEC_MS, 30 * MIN_MS)
        if t >= T0_MS + self.g.days * DAY_MS:
            return
        if self.count_between(a.recalls, t - 2 * RECALL_WINDOW_MS, t + 2 * RECALL_WINDOW_MS) >= BG_RECALLS_20MIN:
            return
        f = {"ref": ref}
        self.common(a, t, f, "recall_request")
        self.client(f)
        self.client_ts(f, t, 0.4)
        ev = self.emit("recall_request", t, a, f)
        bisect.insort(a.recalls, ev.t)

    def do_send(self, a, t):
        rng = self.rng
        if not self.pay_ok(a, t):
            return False
        kind = rng.choices(["normal", "lucky", "group", "timed"], [30, 40, 20, 10])[0]
        shares = {"normal": 1, "lucky": rng.randint(2, 10), "group": rng.randint(3, 20),
                  "timed": rng.randint(2, 10)}[kind]
        amount = rng.randrange(max(100, shares * 10), 20000)
        pid = self.b.pid()
        f = {"packet_id": pid, "amount": amount}
        if kind != "normal" or rng.random() < 0.5:
            f["shares"] = shares
        if kind != "normal" or rng.random() < 0.5:
            f["kind"] = kind
        target = None
        if kind == "normal":
            target = self.old_counterparty(a, t)
            if target is not None:
                f["target"] = target.name
        else:
            f["target"] = "g-%05d" % rng.randrange(5000)
        self.common(a, t, f, "red_packet_send")
        self.client(f)
        self.extras(f)
        ev = self.emit("red_packet_send", t, a, f)
        bisect.insort(a.pays, ev.t)
        a.refs.append(pid)
        # Claims: each claimer once, never over the amount, well after 1 s,
        # well inside the lifetime.
        if kind == "normal":
            parts = [amount]
            claimers = [target] if target is not None and rng.random() < 0.9 else []
        else:
            if kind == "group":
                parts = [amount // shares] * shares
            else:
                cuts = sorted(rng.sample(range(1, amount), shares - 1))
                parts = [y - x for x, y in zip([0] + cuts, cuts + [amount])]
            k = rng.randint(1, shares)
            claimers = []
            for _ in range(k * 3):
                c = rng.choice(self.accounts)
                if c is not a and c not in claimers:
                    claimers.append(c)
                if len(claimers) == k:
                    break
        end = T0_MS + self.g.days * DAY_MS
        for c, part in zip(claimers, parts):
            if self.produced >= self.budget:
                break
            if kind == "timed":
                delay = rng.randrange(BG_MIN_CLAIM_DELAY_MS, 50 * SEC_MS)
            else:
                cap = {"normal": 20 * HOUR_MS, "lucky": 20 * HOUR_MS, "group": 60 * HOUR_MS}[kind]
                delay = min(cap, BG_MIN_CLAIM_DELAY_MS + int(rng.expovariate(1.0 / (8 * MIN_MS))))
            ct = ev.t + delay
            if ct >= end or ct < c.active:
                continue
            cf = {"packet_id": pid, "amount": part}
            self.common(c, ct, cf, "red_packet_claim")
            self.client(cf)
            self.client_ts(cf, ct, 0.4)
            self.extras(cf)
            self.emit("red_packet_claim", ct, c, cf)
        if rng.random() < 0.01:
            self.do_recall(a, ev.t, pid)
        return True

    def run(self):
        rng = self.rng
        for a in self.accounts:
            f = {}
            if rng.random() < 0.9:
                f["region"] = a.region
            f["device_id"] = a.dev_a
            self.emit("account_open", a.opened, a, f)
        misses = 0
        while self.produced < self.budget:
            a = self.pick_account()
            t = self.rand_time(a)
            if t is None:
                continue
            r = rng.random()
            if misses > 200 or r < 0.17:
                self.do_login(a, t)
                misses = 0
            elif r < 0.80:
                if self.do_transfer(a, t):
                    misses = 0
                else:
                    misses += 1
            else:
                if self.do_send(a, t):
                    misses = 0
                else:
                    misses += 1


# ---------------------------------------------------------------- planted

class Planter:
    def __init__(self, gen):
        self.g = gen
        self.b = gen.b
        self.rng = gen.rng
        self.scenarios = []
        self.helpers = []       # passive accounts that must stay quiet
        self.opened = {}
        self.lines = 0
        self.pick_ips()

    # -- IPs for the planted cases
    def pick_ips(self):
        pool = self.g.pool
        cn = pool.city_list("CN", 2)
        if len(cn) < 2:
            raise SystemExit("gencapture: the GeoIP database gave too few Chinese cities")
        self.home_key, self.home_ips = cn[0]
        h = self.home_ips[0]
        self.home_ll = (h[1], h[2])
        others = [c for c in cn[1:] if haversine_km(h[1], h[2], c[1][0][1], c[1][0][2]) > 300]
        self.cn2_ips = (others or cn[1:])[0][1]

        def foreign(prefs):
            for cc in prefs:
                lst = pool.city_list(cc, 1)
                if lst:
                    return cc, lst[0][1]
            for cc in pool.countries():
                if cc != "CN":
                    return cc, pool.city_list(cc, 1)[0][1]
            raise SystemExit("gencapture: no foreign city-level IPs in the GeoIP database")

        self.ru_cc, self.ru_ips = foreign(["RU", "DE", "GB", "FR", "NL"])
        self.us_cc, self.us_ips = foreign(["US", "CA", "BR", "GB"])
        self.jp_cc, self.jp_ips = foreign(["JP", "KR", "SG"])
        co = pool.country_only.get("CN", [])
        if not co:
            raise SystemExit("gencapture: no country-only Chinese IPs in the GeoIP database")
        self.cnc = co[0]
        # A far location for the country-only IP: the CN city farthest from
        # its centroid.
        best = max(pool.city_list("CN", 1),
                   key=lambda c: (haversine_km(self.cnc[1], self.cnc[2], c[1][0][1], c[1][0][2]), c[0]))
        self.cnc_far = (best[1][0][1], best[1][0][2])

    def home_ip(self):
        return self.rng.choice(self.home_ips)[0]

    def near(self, ll, km=8.0):
        la, lo = destination(ll[0], ll[1], self.rng.uniform(0.5, km), self.rng.uniform(0, 360))
        return {"lat": round(la, 5), "lon": round(lo, 5)}

    # -- event helpers
    def ev(self, typ, t, acct, fields=None, form=None):
        self.lines += 1
        return self.b.make(typ, t, acct, dict(fields or {}), bg=False, form=form)

    def dev(self, name):
        return "d-" + name

    def open(self, name, t=None, region="CN", helper=False):
        if t is None:
            t = T0_MS - self.rng.randrange(60, 400) * DAY_MS - self.rng.randrange(DAY_MS // MIN_MS) * MIN_MS
        self.ev("account_open", t, name, {"region": region, "device_id": self.dev(name)})
        self.opened[name] = t
        if helper:
            self.helpers.append(name)
        return t

    def actor(self, name, first_t, login=True):
        """An account with a proper history: opened long ago, logged in
        from home shortly before it acts."""
        self.open(name)
        if login:
            f = {"ip": self.home_ip(), "device_id": self.dev(name)}
            if self.rng.random() < 0.5:
                f["location"] = self.near(self.home_ll)
            self.ev("login", first_t - self.rng.randrange(20, 90) * MIN_MS, name, f)
        return name

    def pay_fields(self, name, **kw):
        f = dict(kw)
        f["ip"] = self.home_ip()
        f["device_id"] = self.dev(name)
        return f

    def transfer(self, name, t, cp, amount, form=None, **kw):
        f = {"counterparty": cp, "amount": amount}
        f.update(kw)
        f.update(self.pay_fields(name))
        return self.ev("transfer", t, name, f, form)

    def send(self, name, t, amount, kind="lucky", shares=None, target=None, **kw):
        pid = self.b.pid()
        f = {"packet_id": pid, "amount": amount, "kind": kind}
        if shares is not None:
            f["shares"] = shares
        if target is not None:
            f["target"] = target
        f.update(kw)
        f.update(self.pay_fields(name))
        ev = self.ev("red_packet_send", t, name, f)
        return ev, pid

    def claim(self, name, t, pid, amount, **kw):
        f = {"packet_id": pid, "amount": amount}
        f.update(kw)
        f.update(self.pay_fields(name))
        return self.ev("red_packet_claim", t, name, f)

    def recall(self, name, t, ref, **kw):
        f = {"ref": ref}
        f.update(kw)
        f.update(self.pay_fields(name))
        return self.ev("recall_request", t, name, f)

    def login(self, name, t, ip, device, form=None, **kw):
        f = {"ip": ip, "device_id": device}
        f.update(kw)
        return self.ev("login", t, name, f, form)

    def scenario(self, name, must=(), none=()):
        self.scenarios.append({"name": name,
                               "must": [[m[0], m[1], list(m[2]), m[3]] for m in must],
                               "none": list(none)})

    def rcv(self, i):
        name = "rcv-%d" % i
        if name not in self.opened:
            self.open(name, helper=True)
        return name

    # -- scheduling
    def starts(self, durations):
        """Start time per scenario block, spread over the window, on whole
        minutes."""
        out = []
        win = self.g.days * DAY_MS
        for dur in durations:
            span = win - dur - 4 * HOUR_MS
            off = 2 * HOUR_MS + (self.rng.randrange(span // MIN_MS) * MIN_MS if span > MIN_MS else 0)
            out.append(T0_MS + off)
        return out

    def run(self):
        blocks = [
            (self.hf, 30 * HOUR_MS), (self.hf_midnight, 0), (self.new_recipient, 4 * HOUR_MS),
            (self.mule, 36 * HOUR_MS), (self.large, 2 * HOUR_MS), (self.geo, 3 * HOUR_MS),
            (self.new_device, 6 * HOUR_MS), (self.instant, 2 * HOUR_MS), (self.recalls, 4 * HOUR_MS),
            (self.automation, 2 * HOUR_MS), (self.clock, 2 * HOUR_MS), (self.forged, 27 * HOUR_MS),
            (self.complaints, 5 * HOUR_MS), (self.unusual_forms, 2 * HOUR_MS),
        ]
        for (fn, _), s in zip(blocks, self.starts([d for _, d in blocks])):
            fn(s)
        self.scenario("planted_helpers_quiet", none=sorted(set(self.helpers)))

    # -- the cases
    def payments(self, name, s, n, step_ms, kinds=None, form=None):
        evs = []
        for i in range(n):
            t = s + i * step_ms
            if kinds and kinds(i) == "send":
                ev, _ = self.send(name, t, 888, kind="normal", shares=1, target=self.rcv(i % 10))
            else:
                ev = self.transfer(name, t, self.rcv(i % 10), 1200 + i, form=form)
            evs.append(ev)
        return evs

    def hf(self, s):
        a = self.actor("hf-51", s)
        evs = self.payments(a, s, 51, 20 * MIN_MS)
        self.scenario("hf_51_in_17h", [(evs[-1].eid, a, ["face_verify"], "hf_transfers_24h")])
        a = self.actor("hf-50", s)
        self.payments(a, s, 50, 12 * MIN_MS)
        self.scenario("hf_50_in_10h", none=[a])
        # Exactly 24 h later the first payment leaves the window (t-24h, t]:
        # every later payment sees 50, never 51.
        a = self.actor("hf-edge", s)
        self.payments(a, s, 50, 10 * MIN_MS)
        self.payments(a, s + DAY_MS, 10, 10 * MIN_MS)
        self.scenario("hf_window_edge_exactly_24h", none=[a])
        a = self.actor("hf-mix", s)
        evs = self.payments(a, s, 51, 15 * MIN_MS, kinds=lambda i: "send" if i % 2 == 0 else "transfer")
        self.scenario("hf_transfers_plus_packets", [(evs[-1].eid, a, ["face_verify"], "hf_transfers_24h")])
        # 50 distinct payments + 3 re-sends of ids already seen (one exact copy
        # right after, one retried with ts + 3 s, one exact copy 40 min later).
        a = self.actor("hf-dup", s)
        evs = self.payments(a, s, 50, 15 * MIN_MS)
        self.b.duplicate(evs[9], 2 * SEC_MS)
        self.b.duplicate(evs[19], 3 * SEC_MS, ts_shift_ms=3 * SEC_MS)
        self.b.duplicate(evs[29], 40 * MIN_MS)
        self.lines += 3
        self.scenario("hf_duplicates_not_counted", none=[a])

    def hf_midnight(self, _s):
        days = max(1, self.g.days - 1)
        # Across UTC midnight: 26 payments before, 25 after.
        mid = T0_MS + (1 + self.rng.randrange(days)) * DAY_MS
        a = self.actor("hf-mid", mid - 6 * HOUR_MS)
        evs = self.payments(a, mid - 26 * 13 * MIN_MS, 51, 13 * MIN_MS)
        self.scenario("hf_across_midnight_utc", [(evs[-1].eid, a, ["face_verify"], "hf_transfers_24h")])
        # Across Beijing midnight (16:00 UTC), every ts written in +08:00.
        mid8 = T0_MS + self.rng.randrange(days) * DAY_MS + 16 * HOUR_MS
        a = self.actor("hf-mid8", mid8 - 6 * HOUR_MS)
        evs = self.payments(a, mid8 - 26 * 13 * MIN_MS, 51, 13 * MIN_MS, form="p8")
        self.scenario("hf_across_midnight_beijing", [(evs[-1].eid, a, ["face_verify"], "hf_transfers_24h")])

    def new_recipient(self, s):
        # registered 71 h before the transfer (account_open) -> hit
        e = s + HOUR_MS
        a = self.actor("snd-r1", e)
        self.open("new-r1", e - 71 * HOUR_MS)
        ev = self.transfer(a, e, "new-r1", 100000)
        self.scenario("new_recipient_large_open_71h", [(ev.eid, a, ["face_verify"], "new_recipient_large")],
                      none=["new-r1"])
        # enrichment only (no account_open seen), 71 h -> hit
        e = s + HOUR_MS + 10 * MIN_MS
        a = self.actor("snd-r2", e)
        ev = self.transfer(a, e, "new-r2", 250000, counterparty_created_at=fmt_time(e - 71 * HOUR_MS, "z3"))
        self.scenario("new_recipient_large_enriched_71h", [(ev.eid, a, ["face_verify"], "new_recipient_large")],
                      none=["new-r2"])
        # controls: 73 h (open / enriched), amount 99999 (open / enriched)
        e = s + 2 * HOUR_MS
        a3 = self.actor("snd-r3", e)
        self.open("old-r3", e - 73 * HOUR_MS)
        self.transfer(a3, e, "old-r3", 100000)
        a3b = self.actor("snd-r3b", e)
        self.transfer(a3b, e + MIN_MS, "old-r3b", 100000,
                      counterparty_created_at=fmt_time(e + MIN_MS - 73 * HOUR_MS, "p8"))
        a4 = self.actor("snd-r4", e)
        self.open("new-r4", e - 71 * HOUR_MS)
        self.transfer(a4, e + 2 * MIN_MS, "new-r4", 99999)
        a4b = self.actor("snd-r4b", e)
        self.transfer(a4b, e + 3 * MIN_MS, "new-r4b", 99999,
                      counterparty_created_at=fmt_time(e + 3 * MIN_MS - 10 * HOUR_MS, "ms"))
        self.scenario("new_recipient_controls",
                      none=[a3, "old-r3", a3b, "old-r3b", a4, "new-r4", a4b, "new-r4b"])
        # counterparty_created_at wins over an account_open seen earlier
        # (detection.md: "from counterparty_created_at when present").
        e = s + 3 * HOUR_MS
        a5 = self.actor("snd-r5", e)
        self.open("new-r5", e - 71 * HOUR_MS)
        self.transfer(a5, e, "new-r5", 200000, counterparty_created_at=fmt_time(e - 200 * DAY_MS, "z3"))
        a6 = self.actor("snd-r6", e)
        self.open("old-r6", e - 300 * DAY_MS)
        ev = self.transfer(a6, e + MIN_MS, "old-r6", 200000,
                           counterparty_created_at=fmt_time(e + MIN_MS - 70 * HOUR_MS, "z3"))
        self.scenario("new_recipient_enrichment_wins",
                      [(ev.eid, a6, ["face_verify"], "new_recipient_large")], none=[a5, "new-r5", "old-r6"])

    def mule(self, s):
        def senders(prefix, n, first_t):
            return [self.actor("%s-%d" % (prefix, i), first_t) for i in range(n)]
        # 5 distinct senders within 100 min to an account opened 30 h ago
        self.open("mule-1", s - 30 * HOUR_MS)
        ss = senders("ms1", 5, s)
        evs = [self.transfer(x, s + i * 25 * MIN_MS, "mule-1", 50000) for i, x in enumerate(ss)]
        self.scenario("mule_5_senders", [(evs[-1].eid, "mule-1", ["freeze"], "new_account_mule")], none=ss)
        # 4 senders only
        self.open("mule-2", s - 30 * HOUR_MS)
        s2 = senders("ms2", 4, s)
        for i, x in enumerate(s2):
            self.transfer(x, s + i * 25 * MIN_MS + 7 * MIN_MS, "mule-2", 50000)
        # 5 senders to an account opened 200 days ago
        self.open("old-hub", s - 200 * DAY_MS)
        s3 = senders("ms3", 5, s)
        for i, x in enumerate(s3):
            self.transfer(x, s + i * 25 * MIN_MS + 11 * MIN_MS, "old-hub", 50000)
        # one sender 5 times
        self.open("mule-3", s - 30 * HOUR_MS)
        s4 = senders("ms4", 1, s)
        for i in range(5):
            self.transfer(s4[0], s + i * 20 * MIN_MS + 13 * MIN_MS, "mule-3", 20000)
        # 5 senders spread over 28 h: never 5 inside one 24 h window
        self.open("mule-4", s - 10 * HOUR_MS)
        s5 = senders("ms5", 5, s)
        for i, x in enumerate(s5):
            self.transfer(x, s + i * 7 * HOUR_MS + 17 * MIN_MS, "mule-4", 50000)
        self.scenario("mule_controls", none=["mule-2", "old-hub", "mule-3", "mule-4"] + s2 + s3 + s4 + s5)

    def large(self, s):
        a = self.actor("big-1", s)
        ev = self.transfer(a, s, self.rcv(0), 5000001)
        self.scenario("large_transfer_5000001", [(ev.eid, a, ["face_verify"], "large_transfer")])
        a = self.actor("big-2", s)
        self.transfer(a, s + MIN_MS, self.rcv(1), 5000000)
        self.scenario("large_transfer_exactly_5000000", none=[a])

    def geo(self, s):
        us_ip = self.us_ips[0]
        a = self.actor("geo-1", s)
        f = {"ip": us_ip[0], "device_id": self.dev(a), "location": self.near(self.home_ll)}
        ev = self.ev("transfer", s, a, dict({"counterparty": self.rcv(2), "amount": 3000}, **f))
        self.scenario("ip_geo_other_continent", [(ev.eid, a, ["face_verify"], "ip_geo_mismatch")])
        # the same on a login from a known device (no new-device hit)
        a = self.actor("geo-1b", s)
        ev = self.login(a, s + 5 * MIN_MS, self.ru_ips[0][0], self.dev(a), location=self.near(self.home_ll))
        self.scenario("ip_geo_other_continent_login", [(ev.eid, a, ["face_verify"], "ip_geo_mismatch")])
        # controls: 160 km from the IP's city; country-only IP with a far
        # location; location without ip; ip with location null
        a2 = self.actor("geo-2", s)
        h = self.home_ips[0]
        la, lo = destination(h[1], h[2], 160.0, self.rng.uniform(0, 360))
        self.ev("transfer", s + 2 * MIN_MS, a2, {"counterparty": self.rcv(2), "amount": 3000, "ip": h[0],
                                               "device_id": self.dev(a2),
                                               "location": {"lat": round(la, 5), "lon": round(lo, 5)}})
        a3 = self.actor("geo-3", s)
        self.ev("transfer", s + 3 * MIN_MS, a3, {"counterparty": self.rcv(2), "amount": 3000,
                                               "ip": self.cnc[0], "device_id": self.dev(a3),
                                               "location": self.near(self.cnc_far, 3.0)})
        a5 = self.actor("geo-5", s)
        self.ev("transfer", s + 4 * MIN_MS, a5, {"counterparty": self.rcv(2), "amount": 3000,
                                               "device_id": self.dev(a5),
                                               "location": {"lat": -33.86785, "lon": 151.20732}})
        self.ev("login", s + 5 * MIN_MS, a5, {"ip": us_ip[0], "device_id": self.dev(a5), "location": None})
        self.scenario("ip_geo_controls", none=[a2, a3, a5])

    def new_device(self, s):
        home = self.home_ips[0][0]
        # new device + a country other than the previous login's
        self.open("nd-1")
        for i in range(3):
            self.login("nd-1", s + i * HOUR_MS, home, "d-nd-1-a")
        ev = self.login("nd-1", s + 3 * HOUR_MS, self.ru_ips[0][0], "d-nd-1-b")
        self.scenario("new_device_remote_ip", [(ev.eid, "nd-1", ["freeze", "face_verify"], "new_device_remote_ip")])
        # the previous login's IP is country-only (CN): its country still counts
        self.open("nd-7")
        self.login("nd-7", s, self.cnc[0], "d-nd-7-a")
        self.login("nd-7", s + HOUR_MS, self.cnc[0], "d-nd-7-a")
        ev = self.login("nd-7", s + 2 * HOUR_MS, self.us_ips[0][0], "d-nd-7-b")
        self.scenario("new_device_remote_ip_prev_country_only",
                      [(ev.eid, "nd-7", ["freeze", "face_verify"], "new_device_remote_ip")])
        # controls
        self.open("nd-2")   # new device, same country (another city)
        self.login("nd-2", s, home, "d-nd-2-a")
        self.login("nd-2", s + 2 * HOUR_MS, self.cn2_ips[0][0], "d-nd-2-b")
        self.open("nd-3")   # known device from abroad
        self.login("nd-3", s, home, "d-nd-3-a")
        self.login("nd-3", s + 2 * HOUR_MS, self.jp_ips[0][0], "d-nd-3-a")
        self.open("nd-4")   # first login ever, from abroad
        self.login("nd-4", s + HOUR_MS, self.jp_ips[0][0], "d-nd-4-x")
        self.open("nd-5")   # previous login country-only CN, new device in a CN city
        self.login("nd-5", s, self.cnc[0], "d-nd-5-a")
        self.login("nd-5", s + 2 * HOUR_MS, home, "d-nd-5-b")
        self.open("nd-6")   # abroad on the known device, then a new device there too
        self.login("nd-6", s, home, "d-nd-6-a")
        self.login("nd-6", s + HOUR_MS, self.jp_ips[0][0], "d-nd-6-a")
        self.login("nd-6", s + 2 * HOUR_MS, self.jp_ips[1 % len(self.jp_ips)][0], "d-nd-6-b")
        self.open("nd-8")   # a new device on a transfer (the rule is login-only)
        self.login("nd-8", s, home, "d-nd-8-a")
        self.ev("transfer", s + 2 * HOUR_MS, "nd-8", {"counterparty": self.rcv(3), "amount": 5000,
                                                     "ip": self.ru_ips[0][0], "device_id": "d-nd-8-x"})
        self.scenario("new_device_controls", none=["nd-2", "nd-3", "nd-4", "nd-5", "nd-6", "nd-8"])

    def packets(self, sender, s, n, step_ms, kind="lucky", amount=10000, shares=10):
        out = []
        for i in range(n):
            ev, pid = self.send(sender, s + i * step_ms, amount, kind=kind, shares=shares,
                                target="g-%s" % sender)
            out.append((ev, pid))
        return out

    def instant(self, s):
        snd = self.actor("pk-ic1", s)
        self.helpers.append(snd)
        a = self.actor("ic-1", s)
        delays = [300, 450, 999, 120, 800]
        ps = self.packets(snd, s, 5, 2 * MIN_MS)
        evs = [self.claim(a, ev.t + d, pid, 100) for (ev, pid), d in zip(ps, delays)]
        self.scenario("instant_claims_5_in_10min", [(evs[-1].eid, a, ["face_verify"], "instant_claims")])
        # 4 instant + 1 at 5 s
        snd = self.actor("pk-ic2", s)
        self.helpers.append(snd)
        a2 = self.actor("ic-2", s)
        for i, (ev, pid) in enumerate(self.packets(snd, s + 30 * MIN_MS, 5, 2 * MIN_MS)):
            self.claim(a2, ev.t + (5000 if i == 4 else 400), pid, 100)
        # 5 claims at exactly 1 s: not "less than 1 s"
        snd = self.actor("pk-ic3", s)
        self.helpers.append(snd)
        a3 = self.actor("ic-3", s)
        for ev, pid in self.packets(snd, s + 60 * MIN_MS, 5, 2 * MIN_MS):
            self.claim(a3, ev.t + 1000, pid, 100)
        # 5 instant claims over 12.5 min: never 5 inside 10 min
        snd = self.actor("pk-ic4", s)
        self.helpers.append(snd)
        a4 = self.actor("ic-4", s)
        offs = [0, 3 * MIN_MS, 6 * MIN_MS, 9 * MIN_MS, 12 * MIN_MS + 30 * SEC_MS]
        for o in offs:
            (ev, pid), = self.packets(snd, s + 90 * MIN_MS + o, 1, MIN_MS)
            self.claim(a4, ev.t + 500, pid, 100)
        self.scenario("instant_claims_controls", none=[a2, a3, a4])

    def recalls(self, s):
        def own_transfers(name, n, t):
            return [self.transfer(name, t + i * 10 * MIN_MS, self.rcv(4 + i % 3), 2000 + i).eid for i in range(n)]
        a = self.actor("rc-1", s)
        refs = own_transfers(a, 5, s)
        base = s + 2 * HOUR_MS
        evs = [self.recall(a, base + i * 90 * SEC_MS, refs[i]) for i in range(5)]
        self.scenario("recall_burst_5_in_6min", [(evs[-1].eid, a, ["freeze"], "recall_burst")])
        a2 = self.actor("rc-2", s)
        refs = own_transfers(a2, 5, s)
        for i in range(5):
            self.recall(a2, base + i * 525 * SEC_MS, refs[i])
        a3 = self.actor("rc-3", s)
        refs = own_transfers(a3, 4, s)
        for i in range(4):
            self.recall(a3, base + i * 60 * SEC_MS, refs[i])
        self.scenario("recall_controls", none=[a2, a3])

    def automation(self, s):
        tools = self.g.recall_tools
        snd = self.actor("pk-au", s)
        self.helpers.append(snd)
        (pev, pid), = self.packets(snd, s, 1, MIN_MS, amount=50000, shares=20)
        must = []
        a = self.actor("au-1", s)
        ev = self.transfer(a, s + MIN_MS, self.rcv(5), 1000, client={"automation": True, "hooked": False})
        must.append((ev.eid, a, ["face_verify"], "automation_client"))
        a = self.actor("au-2", s)
        ev = self.claim(a, pev.t + 30 * SEC_MS, pid, 1000, client={"hooked": True})
        must.append((ev.eid, a, ["face_verify"], "automation_client"))
        a = self.actor("au-3", s)
        tr = self.transfer(a, s + 2 * MIN_MS, self.rcv(5), 1000)
        ev = self.recall(a, s + 3 * MIN_MS, tr.eid, client={"automation": False, "packages": [tools[0]]})
        must.append((ev.eid, a, ["face_verify"], "automation_client"))
        a = self.actor("au-4", s)
        ev, _ = self.send(a, s + 4 * MIN_MS, 2000, kind="group", shares=4, target="g-au4",
                          client={"packages": ["com.vendor.keyboard", tools[0]]})
        must.append((ev.eid, a, ["face_verify"], "automation_client"))
        for i, pkg in enumerate(tools[1:], 1):
            a = self.actor("au-pkg-%d" % i, s)
            ev = self.transfer(a, s + 5 * MIN_MS, self.rcv(5), 1000, client={"packages": [pkg]})
            must.append((ev.eid, a, ["face_verify"], "automation_client"))
        self.scenario("automation_client", must)
        # controls: all false/empty; automation on a login; benign packages +
        # unknown key; automation on a complaint; client null
        a5 = self.actor("au-5", s)
        self.transfer(a5, s + 10 * MIN_MS, self.rcv(6), 1000, client={"automation": False, "hooked": False, "packages": []})
        a6 = self.actor("au-6", s)
        self.ev("login", s + 11 * MIN_MS, a6, {"ip": self.home_ip(), "device_id": self.dev(a6),
                                              "client": {"automation": True, "hooked": True}})
        a7 = self.actor("au-7", s)
        self.claim(a7, pev.t + 40 * SEC_MS, pid, 1000, client={"packages": ["com.tencent.mm"], "jailbroken": True})
        a8 = self.actor("au-8", s)
        tr = self.transfer(a8, s + 12 * MIN_MS, self.rcv(6), 1000)
        self.ev("complaint", s + 20 * MIN_MS, a8, {"ref": tr.eid, "reason": "mistake",
                                                  "client": {"automation": True}})
        a9 = self.actor("au-9", s)
        self.transfer(a9, s + 13 * MIN_MS, self.rcv(6), 1000, client=None)
        self.scenario("automation_controls", none=[a5, a6, a7, a8, a9])

    def clock(self, s):
        snd = self.actor("pk-ck", s)
        self.helpers.append(snd)
        ps = self.packets(snd, s, 3, MIN_MS, amount=30000, shares=10)
        a1 = self.actor("ck-1", s)
        e1 = self.claim(a1, ps[0][0].t + 20 * SEC_MS, ps[0][1], 1000,
                        client_ts=fmt_time(ps[0][0].t + 20 * SEC_MS + 10 * MIN_MS, "z3"))
        a3 = self.actor("ck-3", s)
        tr = self.transfer(a3, s + 5 * MIN_MS, self.rcv(7), 1000)
        rt = s + 7 * MIN_MS
        e3 = self.recall(a3, rt, tr.eid, client_ts=fmt_time(rt - 6 * MIN_MS, "ms"))
        self.scenario("clock_tamper", [(e1.eid, a1, ["review"], "clock_tamper"),
                                       (e3.eid, a3, ["review"], "clock_tamper")])
        a2 = self.actor("ck-2", s)
        ct = ps[1][0].t + 25 * SEC_MS
        self.claim(a2, ct, ps[1][1], 1000, client_ts=fmt_time(ct - 4 * MIN_MS, "p8"))
        a4 = self.actor("ck-4", s)
        t4 = s + 9 * MIN_MS
        self.transfer(a4, t4, self.rcv(7), 1000, client_ts=fmt_time(t4 + HOUR_MS, "z3"))
        a6 = self.actor("ck-6", s)
        tr = self.transfer(a6, s + 10 * MIN_MS, self.rcv(7), 1000)
        rt = s + 12 * MIN_MS
        self.recall(a6, rt, tr.eid, client_ts=fmt_time(rt + 5 * MIN_MS - SEC_MS, "z3"))
        self.scenario("clock_controls", none=[a2, a4, a6])

    def forged(self, s):
        snd = self.actor("pk-fc", s)
        self.helpers.append(snd)
        for n in ["fc-%d" % i for i in range(11)]:
            self.actor(n, s)
        p0, id0 = self.send(snd, s, 1000, kind="normal", shares=1, target="fc-0")
        e0 = self.claim("fc-0", s + 25 * HOUR_MS, id0, 1000)
        self.scenario("forged_claim_late_normal_25h", [(e0.eid, "fc-0", ["freeze"], "forged_claim")])
        p1, id1 = self.send(snd, s + MIN_MS, 1000, kind="lucky", shares=2, target="g-fc")
        self.claim("fc-1", p1.t + 30 * SEC_MS, id1, 600)
        e2 = self.claim("fc-2", p1.t + 60 * SEC_MS, id1, 600)
        self.scenario("forged_claim_overclaim", [(e2.eid, "fc-2", ["freeze"], "forged_claim")], none=["fc-1"])
        p2, id2 = self.send(snd, s + 2 * MIN_MS, 3000, kind="lucky", shares=3, target="g-fc")
        self.claim("fc-3", p2.t + 20 * SEC_MS, id2, 1000)
        e3 = self.claim("fc-3", p2.t + 40 * SEC_MS, id2, 1000)
        self.scenario("forged_claim_double", [(e3.eid, "fc-3", ["freeze"], "forged_claim")])
        p3, id3 = self.send(snd, s + 3 * MIN_MS, 500, kind="timed", shares=5, target="g-fc")
        e4 = self.claim("fc-4", p3.t + 61 * SEC_MS, id3, 100)
        self.scenario("forged_claim_timed_61s", [(e4.eid, "fc-4", ["freeze"], "forged_claim")])
        # controls: group at 25 h (72 h lifetime); timed at 59 s; normal at
        # 23 h; claims adding up to exactly the amount; unknown packet
        p4, id4 = self.send(snd, s + 4 * MIN_MS, 1000, kind="group", shares=5, target="g-fc")
        self.claim("fc-5", p4.t + 25 * HOUR_MS, id4, 200)
        p5, id5 = self.send(snd, s + 5 * MIN_MS, 500, kind="timed", shares=5, target="g-fc")
        self.claim("fc-6", p5.t + 59 * SEC_MS, id5, 100)
        p6, id6 = self.send(snd, s + 6 * MIN_MS, 800, kind="normal", shares=1, target="fc-7")
        self.claim("fc-7", p6.t + 23 * HOUR_MS, id6, 800)
        p7, id7 = self.send(snd, s + 7 * MIN_MS, 1000, kind="lucky", shares=2, target="g-fc")
        self.claim("fc-8", p7.t + 10 * SEC_MS, id7, 500)
        self.claim("fc-9", p7.t + 12 * SEC_MS, id7, 500)
        self.claim("fc-10", s + 8 * MIN_MS, "p-never-sent-%d" % self.rng.randrange(10 ** 6), 999999)
        self.scenario("forged_claim_controls", none=["fc-5", "fc-6", "fc-7", "fc-8", "fc-9", "fc-10"])

    def complaints(self, s):
        def pair(i, t, amount=30000):
            cv, sc = "cv-%d" % i, "sc-%d" % i
            self.actor(cv, t)
            self.open(sc)
            return cv, sc, self.transfer(cv, t, sc, amount)
        cv, sc, tr = pair(1, s)
        ev = self.ev("complaint", tr.t + 30 * MIN_MS, cv, {"ref": tr.eid, "reason": "fraud"})
        self.scenario("complaint_fraud_30min", [(ev.eid, sc, ["freeze"], "complaint_fraud_1h"),
                                                (ev.eid, cv, ["face_verify"], "complaint_fraud_1h")])
        cv, sc, tr = pair(4, s + 5 * MIN_MS)
        ev = self.ev("complaint", tr.t + 50 * MIN_MS, cv, {"ref": tr.eid, "reason": None})
        self.scenario("complaint_no_reason_is_fraud", [(ev.eid, sc, ["freeze"], "complaint_fraud_1h"),
                                                       (ev.eid, cv, ["face_verify"], "complaint_fraud_1h")])
        cv, sc, tr = pair(2, s + 10 * MIN_MS)
        ev = self.ev("complaint", tr.t + 2 * HOUR_MS, cv, {"ref": tr.eid, "reason": "fraud"})
        self.scenario("complaint_fraud_late_2h", [(ev.eid, sc, ["review"], "complaint_late")], none=[cv])
        cv, sc, tr = pair(5, s + 15 * MIN_MS)
        ev = self.ev("complaint", tr.t + 3 * HOUR_MS, cv, {"ref": tr.eid, "reason": "mistake"})
        self.scenario("complaint_mistake_late_3h", [(ev.eid, sc, ["review"], "complaint_late")], none=[cv])
        cv, sc, tr = pair(3, s + 20 * MIN_MS)
        self.ev("complaint", tr.t + 20 * MIN_MS, cv, {"ref": tr.eid, "reason": "mistake"})
        cv6 = self.actor("cv-6", s)
        self.ev("complaint", s + 30 * MIN_MS, cv6, {"ref": "e-unknown-%d" % self.rng.randrange(10 ** 6),
                                                   "reason": "fraud"})
        self.scenario("complaint_controls", none=["cv-3", "sc-3", cv6])

    def unusual_forms(self, s):
        # Valid but unusual: must be accepted and evaluated (each hits
        # large_transfer, so a wrong reject shows up as a missed decision).
        long_acct = "edge-" + "x" * 59                       # 64 bytes
        self.actor(long_acct, s)
        long_id = "e-edge-" + "0" * (128 - 7)               # 128 bytes
        t = s + 250
        obj = {"event_id": long_id, "type": "transfer", "account": long_acct, "counterparty": self.rcv(8),
               "amount": 5000001, "currency": "CNY", "mode": None, "ip": IPV6_POOL[0], "device_id": None,
               "location": None, "client_ts": None,
               "client": {"automation": False, "hooked": False, "packages": [], "sdk_build": "7.1",
                          "flags": {"x": 1}},
               "x_trace": {"id": "abc", "hops": [1, 2, {"k": None}]},
               "ts": iso(t, 480, 6, "000")}
        self.b.seq += 1
        ev = Ev(t, self.b.seq, long_acct, "transfer", obj, False)
        self.b.events.append(ev)
        self.lines += 1
        cjk = "测" * 21                                       # 63 bytes
        self.actor(cjk, s)
        ev2 = self.transfer(cjk, s + MIN_MS, self.rcv(8), 6000000, form="ms", note="备注：房租")
        self.scenario("accepted_unusual_forms",
                      [(long_id, long_acct, ["face_verify"], "large_transfer"),
                       (ev2.eid, cjk, ["face_verify"], "large_transfer")])
        a = self.actor("edge-null", s)
        self.ev("login", s + 2 * MIN_MS, a, {"ip": None, "device_id": None, "location": None, "client": None,
                                            "client_ts": None})
        self.ev("transfer", s + 3 * MIN_MS, a, {"counterparty": self.rcv(8), "amount": 100, "currency": None,
                                               "mode": None, "counterparty_created_at": None,
                                               "ip": "2001:da8:8000:1::81", "device_id": self.dev(a)})
        self.scenario("accepted_nulls_quiet", none=[a])


# ---------------------------------------------------------------- malformed

def malformed_variants():
    """(kind, field, template): template is bytes with {ID} and {TS}. kind
    and field follow the reject kinds of docs/events.md (the project's
    reading of the contract); score.py only counts rejects."""
    b = lambda s: s.encode("utf-8")
    T = '"ts":"{TS}"'
    V = []

    def add(kind, field, s):
        V.append((kind, field, s if isinstance(s, bytes) else b(s)))

    add("invalid_json", None, "not json at all")
    add("invalid_json", None, '{"event_id":"{ID}","type":"transfer"')
    add("invalid_json", None, "{'event_id':'{ID}','type':'login'}")
    add("invalid_json", None, '{"event_id":"{ID}","type":"login",' + T + ',"account":"a",}')
    add("invalid_json", None, '{"event_id":"{ID}","type":"login",' + T + ',"account":"a"} trailing')
    add("not_object", None, "[1,2]")
    add("not_object", None, '"just a string"')
    add("not_object", None, "42")
    add("not_object", None, "null")
    base = {
        "login": '"type":"login",' + T + ',"account":"mf-a"',
        "transfer": '"type":"transfer",' + T + ',"account":"mf-a","counterparty":"mf-b","amount":100',
        "red_packet_send": '"type":"red_packet_send",' + T + ',"account":"mf-a","packet_id":"p-mf","amount":100',
        "red_packet_claim": '"type":"red_packet_claim",' + T + ',"account":"mf-a","packet_id":"p-mf","amount":100',
        "recall_request": '"type":"recall_request",' + T + ',"account":"mf-a","ref":"e-mf"',
        "complaint": '"type":"complaint",' + T + ',"account":"mf-a","ref":"e-mf"',
    }

    def drop(s, key):
        return ",".join(p for p in re.split(r',(?=")', s) if not p.startswith('"%s":' % key))

    def ev(typ, body=None):
        return '{"event_id":"{ID}",' + (body if body is not None else base[typ]) + "}"

    lg, tr = base["login"], base["transfer"]
    sp, cl = base["red_packet_send"], base["red_packet_claim"]
    add("missing_field", "event_id", "{" + lg + "}")
    add("missing_field", "type", ev("login", drop(lg, "type")))
    add("missing_field", "ts", ev("transfer", drop(tr, "ts")))
    add("missing_field", "account", ev("red_packet_claim", drop(cl, "account")))
    add("missing_field", "counterparty", ev("transfer", drop(tr, "counterparty")))
    add("missing_field", "amount", ev("transfer", drop(tr, "amount")))
    add("missing_field", "amount", ev("red_packet_send", drop(sp, "amount")))
    add("missing_field", "packet_id", ev("red_packet_send", drop(sp, "packet_id")))
    add("missing_field", "packet_id", ev("red_packet_claim", drop(cl, "packet_id")))
    add("missing_field", "amount", ev("red_packet_claim", drop(cl, "amount")))
    add("missing_field", "ref", ev("recall_request", drop(base["recall_request"], "ref")))
    add("missing_field", "ref", ev("complaint", drop(base["complaint"], "ref")))
    add("missing_field", "location.lat", ev("login", lg + ',"location":{"lon":0}'))
    add("wrong_type", "amount", ev("transfer", tr.replace('"amount":100', '"amount":"100"')))
    add("wrong_type", "amount", ev("transfer", tr.replace('"amount":100', '"amount":1e3')))
    add("wrong_type", "amount", ev("transfer", tr.replace('"amount":100', '"amount":1.5')))
    add("wrong_type", "amount", ev("transfer", tr.replace('"amount":100', '"amount":true')))
    add("wrong_type", "event_id", '{"event_id":null,' + lg + "}")
    add("wrong_type", "ts", ev("login", lg.replace(T, '"ts":true')))
    add("wrong_type", "type", ev("login", lg.replace('"type":"login"', '"type":5')))
    add("wrong_type", "location", ev("login", lg + ',"location":"x"'))
    add("wrong_type", "client.automation", ev("red_packet_claim", cl + ',"client":{"automation":"yes"}'))
    add("wrong_type", "ip", ev("login", lg + ',"ip":16843009'))
    add("unknown_type", "type", ev("login", lg.replace('"type":"login"', '"type":"teleport"')))
    add("unknown_type", "type", ev("transfer", tr.replace('"type":"transfer"', '"type":"TRANSFER"')))
    add("out_of_range", "amount", ev("transfer", tr.replace('"amount":100', '"amount":0')))
    add("out_of_range", "amount", ev("transfer", tr.replace('"amount":100', '"amount":-5')))
    add("out_of_range", "amount", ev("transfer", tr.replace('"amount":100', '"amount":1000000000001')))
    add("out_of_range", "amount", ev("red_packet_send", sp.replace('"amount":100', '"amount":0')))
    add("out_of_range", "shares", ev("red_packet_send", sp + ',"shares":0'))
    add("out_of_range", "shares", ev("red_packet_send", sp + ',"shares":10001'))
    add("out_of_range", "location.lat", ev("login", lg + ',"location":{"lat":95,"lon":0}'))
    add("out_of_range", "location.lon", ev("login", lg + ',"location":{"lat":10.5,"lon":-181}'))
    add("empty_string", "account", ev("transfer", tr.replace('"account":"mf-a"', '"account":""')))
    add("empty_string", "event_id", '{"event_id":"",' + lg + "}")
    add("empty_string", "counterparty", ev("transfer", tr.replace('"counterparty":"mf-b"', '"counterparty":""')))
    add("empty_string", "packet_id", ev("red_packet_send", sp.replace('"packet_id":"p-mf"', '"packet_id":""')))
    add("empty_string", "device_id", ev("login", lg + ',"device_id":""'))
    add("string_too_long", "account", ev("transfer", tr.replace('"account":"mf-a"', '"account":"%s"' % ("a" * 65))))
    add("string_too_long", "account", ev("login", lg.replace('"account":"mf-a"', '"account":"%s"' % ("账" * 22))))
    add("string_too_long", "event_id", '{"event_id":"%s",' % ("e" * 129) + lg + "}")
    add("string_too_long", "counterparty", ev("transfer", tr.replace('"counterparty":"mf-b"', '"counterparty":"%s"' % ("b" * 65))))
    add("string_too_long", "packet_id", ev("red_packet_send", sp.replace('"packet_id":"p-mf"', '"packet_id":"%s"' % ("p" * 129))))
    add("string_too_long", "device_id", ev("login", lg + ',"device_id":"%s"' % ("d" * 129)))
    lgb = b(ev("login"))
    add("invalid_utf8", "account", lgb.replace(b'"account":"mf-a"', b'"account":"\xff\xfe"'))
    add("invalid_utf8", "account", lgb.replace(b'"account":"mf-a"', b'"account":"mf-\xc0\xaf"'))
    add("invalid_utf8", "account", lgb.replace(b'"account":"mf-a"', b'"account":"mf-\xe4\xb8"'))
    add("invalid_utf8", "account", ev("login", lg.replace('"account":"mf-a"', '"account":"mf-\\ud800"')))
    add("bad_ip", "ip", ev("login", lg + ',"ip":"999.1.1.1"'))
    add("bad_ip", "ip", ev("login", lg + ',"ip":"1.2.3"'))
    add("bad_ip", "ip", ev("login", lg + ',"ip":"::g"'))
    add("bad_ip", "ip", ev("login", lg + ',"ip":"1.2.3.4/24"'))
    for bad in ["yesterday", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-19T25:00:00Z",
                "2026-11-19T00:00:00", "1795000000000"]:
        add("bad_time", "ts", ev("transfer", tr.replace(T, '"ts":"%s"' % bad)))
    add("bad_time", "client_ts", ev("red_packet_claim", cl + ',"client_ts":"soon"'))
    add("bad_time", "counterparty_created_at", ev("transfer", tr + ',"counterparty_created_at":"2026-11-31T00:00:00Z"'))
    add("too_deep", "account", ev("login", lg.replace('"account":"mf-a"', '"account":' + "[" * 100 + "]" * 100)))
    add("too_deep", "x_blob", ev("login", lg + ',"x_blob":' + '{"a":' * 100 + "1" + "}" * 100))
    add("duplicate_key", "event_id", '{"event_id":"{ID}","event_id":"{ID}-b",' + lg + "}")
    add("duplicate_key", "amount", ev("transfer", tr + ',"amount":5000'))
    add("line_too_long", None, ev("login", lg + ',"pad":"' + "x" * (1536 * 1024) + '"'))
    add("invalid_json", "account", lgb.replace(b'"account":"mf-a"', b'"account":"mf-\x00a"'))
    add("bad_string", "device_id", ev("login", lg + ',"device_id":"d-\\u0000"'))
    return V


# ---------------------------------------------------------------- writing

def json_escape_bytes(raw):
    """A JSON string literal for raw bytes, escaping what JSON requires and
    leaving other bytes (even invalid UTF-8) as they are, as kcat does."""
    try:
        return json.dumps(raw.decode("utf-8"), ensure_ascii=False).encode("utf-8")
    except UnicodeDecodeError:
        pass
    out = bytearray(b'"')
    for c in raw:
        if c == 0x22:
            out += b'\\"'
        elif c == 0x5C:
            out += b"\\\\"
        elif c < 0x20:
            out += b"\\u%04x" % c
        else:
            out.append(c)
    out += b'"'
    return bytes(out)


class Generator:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random("gencapture/%s" % args.seed)
        self.days = args.days
        self.b = Builder(self.rng)
        self.geo = GeoDB(args.geoip)
        self.pool = GeoPool(self.geo, random.Random("geo/%s" % args.seed))
        self.recall_tools = default_recall_tools()

    def planted_line_count(self):
        """Lines the planted cases take. They are built after the background
        (so their ids follow the background's, as in the sample), and the
        background's share of --events needs their count: build them once
        on a scratch copy with its own builder and random stream."""
        scratch = Generator.__new__(Generator)
        scratch.__dict__.update(self.__dict__)
        scratch.rng = random.Random(0)
        scratch.b = Builder(scratch.rng)
        Planter(scratch).run()
        return len(scratch.b.events)

    def run(self):
        args, rng = self.args, self.rng
        planter = Planter(self)
        n_variants = 0 if args.no_malformed else len(malformed_variants())
        n_bad = n_variants * args.malformed_per_kind
        bg_accounts = [] if args.scenarios_only else None
        if not args.scenarios_only:
            planted_lines = self.planted_line_count()
            n_dups = max(1, args.events // 500)
            budget = args.events - planted_lines - n_bad - n_dups
            budget = max(budget, args.accounts + 1)
            bg = Background(self, args.accounts, budget)
            bg.run()
            bg_events = list(self.b.events)
            bg_accounts = [a.name for a in bg.accounts]
            self.disorder(bg_events, n_dups)
        planter.run()
        events = sorted(self.b.events, key=lambda e: (e.arr, e.seq))
        lines = [(dumps(e.obj).encode("utf-8"), e) for e in events]
        # malformed lines, mixed throughout
        bad = []
        if not args.no_malformed:
            variants = malformed_variants()
            for k in range(args.malformed_per_kind):
                for kind, field, tmpl in variants:
                    bad.append((kind, field, tmpl))
        positions = sorted(rng.randrange(len(lines) + 1) for _ in bad)
        order = list(range(len(bad)))
        rng.shuffle(order)
        # Two blank lines (one empty, one of spaces/tabs) and two CRLF line
        # ends: counted or tolerated by readers, never rejects.
        blanks = sorted(rng.randrange(len(lines) + 1) for _ in range(0 if args.scenarios_only else 2))
        blank_bytes = [b"", b" \t"]
        if not args.scenarios_only and lines:
            for _ in range(2):
                j = rng.randrange(len(lines))
                if lines[j][1].bg and not lines[j][1].dup:
                    lines[j] = (lines[j][0] + b"\r", lines[j][1])
        out = []   # (bytes, kind, meta)
        bi = 0
        ki = 0
        bad_seq = 0
        for i in range(len(lines) + 1):
            while bi < len(positions) and positions[bi] == i:
                kind, field, tmpl = bad[order[bi]]
                bad_seq += 1
                prev_t = lines[i - 1][1].t if i > 0 else (lines[0][1].t if lines else T0_MS)
                raw = tmpl.replace(b"{ID}", b"bad-%05d" % bad_seq).replace(
                    b"{TS}", iso(prev_t).encode())
                out.append((raw, "bad", (kind, field, prev_t)))
                bi += 1
            while ki < len(blanks) and blanks[ki] == i:
                out.append((blank_bytes[ki % 2], "blank", None))
                ki += 1
            if i < len(lines):
                out.append((lines[i][0], "ev", lines[i][1]))
        self.write(out, planter, bg_accounts or [])

    def disorder(self, bg_events, n_dups):
        """Late arrivals and re-sends among background events only. A late
        event never passes a later event of its own account, so no
        account's own history changes order."""
        rng = self.rng
        by_acct = {}
        for e in bg_events:
            by_acct.setdefault(e.acct, []).append(e.t)
        for lst in by_acct.values():
            lst.sort()
        movable = [e for e in bg_events if e.typ in ("login", "transfer", "red_packet_send", "red_packet_claim")]
        dupped = set()
        tries = 0
        while len(dupped) < n_dups and movable and tries < 100 * n_dups:
            tries += 1
            e = rng.choice(movable)
            if e.seq in dupped:
                continue
            dupped.add(e.seq)
            if rng.random() < 0.7:
                self.b.duplicate(e, rng.randrange(SEC_MS, 20 * MIN_MS))
            else:
                self.b.duplicate(e, rng.randrange(SEC_MS, 20 * MIN_MS), ts_shift_ms=rng.randrange(SEC_MS, 30 * SEC_MS))
        n_late = max(1, len(bg_events) // 300)
        for _ in range(n_late):
            e = rng.choice(movable)
            if e.seq in dupped or e.arr != e.t:
                continue
            delay = rng.randrange(2 * SEC_MS, 5 * MIN_MS) if rng.random() < 0.8 else rng.randrange(5 * MIN_MS, 20 * MIN_MS)
            lst = by_acct[e.acct]
            j = bisect.bisect_right(lst, e.t)
            if lst.count(e.t) > 1 or (j < len(lst) and lst[j] <= e.t + delay + SEC_MS):
                continue
            e.arr = e.t + delay

    def write(self, out, planter, bg_accounts):
        args = self.args
        os.makedirs(args.out, exist_ok=True)
        formats = [f.strip() for f in args.formats.split(",") if f.strip()]
        body = b"".join(raw + b"\n" for raw, _, _ in out)
        cap = os.path.join(args.out, "capture.jsonl")
        with open(cap, "wb") as f:
            f.write(body)
        if "gz" in formats:
            with open(cap + ".gz", "wb") as f:
                with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=6) as gz:
                    gz.write(body)
        if "kcat" in formats:
            offsets = [0] * KCAT_PARTITIONS
            parts = []
            last_t = T0_MS
            kline = 0
            kcat_lines = {}
            for n, (raw, what, meta) in enumerate(out, 1):
                if what == "blank":
                    continue   # an empty message is not something kcat -J prints for events
                if what == "ev":
                    key, last_t = meta.acct, meta.t
                else:
                    key, last_t = None, meta[2]
                    kcat_lines[n] = kline + 1
                p = (zlib.crc32(key.encode()) % KCAT_PARTITIONS) if key is not None else 0
                env = b'{"topic":"%s","partition":%d,"offset":%d,"tstype":"create","ts":%d,"broker":1,"key":%s,"payload":%s}' % (
                    TOPIC.encode(), p, offsets[p], last_t,
                    json_escape_bytes(key.encode()) if key is not None else b"null", json_escape_bytes(raw))
                offsets[p] += 1
                parts.append(env + b"\n")
                kline += 1
            with open(os.path.join(args.out, "capture.kcat.jsonl"), "wb") as f:
                f.write(b"".join(parts))
        else:
            kcat_lines = {}
        mal = []
        for n, (raw, what, meta) in enumerate(out, 1):
            if what == "bad":
                rec = {"line": n, "field": meta[1], "kind": meta[0]}
                if n in kcat_lines:
                    rec["kcat_line"] = kcat_lines[n]
                mal.append(dumps(rec))
        with open(os.path.join(args.out, "malformed.jsonl"), "w", encoding="utf-8") as f:
            f.write("".join(m + "\n" for m in mal))
        n_events = sum(1 for raw, what, _ in out if what != "blank")
        expect = {"scenarios": planter.scenarios, "background": sorted(bg_accounts),
                  "rejects": len(mal), "events": n_events}
        with open(os.path.join(args.out, "expect.json"), "w", encoding="utf-8") as f:
            f.write(json.dumps(expect, indent=1, ensure_ascii=False) + "\n")
        self.summary = (n_events, len(bg_accounts), len(planter.scenarios), len(mal),
                        sum(1 for _, w, m in out if w == "ev" and m.dup))


# ---------------------------------------------------------------- verifier

class Reject(Exception):
    def __init__(self, kind, field, msg=""):
        super().__init__(msg or kind)
        self.kind, self.field = kind, field


RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


def parse_time(v, field):
    if type(v) is int:
        return v
    if not isinstance(v, str):
        raise Reject("wrong_type", field)
    m = RFC3339.match(v)
    if not m:
        raise Reject("bad_time", field)
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    try:
        dt = datetime.datetime(y, mo, d, h, mi, s)
    except ValueError:
        raise Reject("bad_time", field)
    ms = int((dt - EPOCH).total_seconds()) * 1000
    if m.group(7):
        ms += int((m.group(7)[1:] + "00")[:3])
    z = m.group(8)
    if z != "Z":
        oh, om = int(z[1:3]), int(z[4:6])
        if oh > 23 or om > 59:
            raise Reject("bad_time", field)
        off = (oh * 60 + om) * MIN_MS
        ms -= off if z[0] == "+" else -off
    return ms


class DupKey(Exception):
    pass


def _pairs(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise DupKey(k)
        d[k] = v
    return d


def _reject_constant(name):
    raise ValueError("non-standard constant " + name)


def _depth(v, n=1):
    """Nesting level of containers: the event object is 1, location 2."""
    if n > 32 or not isinstance(v, (dict, list)):
        return n - 1 if not isinstance(v, (dict, list)) else n
    xs = v.values() if isinstance(v, dict) else v
    return max([n] + [_depth(x, n + 1) for x in xs])


def _check_strings(v, field):
    if isinstance(v, str):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            raise Reject("invalid_utf8", field)
    elif isinstance(v, dict):
        for k, x in v.items():
            _check_strings(k, field)
            _check_strings(x, field or k)
    elif isinstance(v, list):
        for x in v:
            _check_strings(x, field)


def strict_event(raw):
    """The event a line holds, or Reject — an independent reading of
    events.md ("Bad input")."""
    if len(raw) > MAX_LINE_BYTES:
        raise Reject("line_too_long", None)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Reject("invalid_utf8", None)
    try:
        obj = json.loads(text, object_pairs_hook=_pairs, parse_constant=_reject_constant)
    except DupKey as e:
        raise Reject("duplicate_key", str(e))
    except (ValueError, RecursionError):
        raise Reject("invalid_json", None)
    if _depth(obj) > 32:
        raise Reject("too_deep", None)
    if isinstance(obj, dict):
        for k, v in obj.items():
            _check_strings(v, k)
    if not isinstance(obj, dict):
        raise Reject("not_object", None)

    def s_field(name, lo, hi, required):
        v = obj.get(name)
        if v is None:
            if required:
                raise Reject("missing_field" if name not in obj else "wrong_type", name)
            return None
        if not isinstance(v, str):
            raise Reject("wrong_type", name)
        if "\x00" in v:
            raise Reject("bad_string", name)
        n = len(v.encode("utf-8"))
        if n == 0 and lo > 0:
            raise Reject("empty_string", name)
        if hi is not None and n > hi:
            raise Reject("string_too_long", name)
        return v

    def i_field(name, lo, hi, required):
        v = obj.get(name)
        if v is None:
            if required:
                raise Reject("missing_field" if name not in obj else "wrong_type", name)
            return None
        if type(v) is not int:
            raise Reject("wrong_type", name)
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise Reject("out_of_range", name)
        return v

    s_field("event_id", 1, 128, True)
    typ = s_field("type", 0, None, True)
    if typ not in TYPES:
        raise Reject("unknown_type", "type")
    if obj.get("ts") is None:
        raise Reject("missing_field" if "ts" not in obj else "wrong_type", "ts")
    ev = dict(obj)
    ev["_t"] = parse_time(obj["ts"], "ts")
    s_field("account", 1, 64, True)
    ip = obj.get("ip")
    if ip is not None:
        if not isinstance(ip, str):
            raise Reject("wrong_type", "ip")
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise Reject("bad_ip", "ip")
    s_field("device_id", 1, 128, False)
    s_field("target", 1, 128, False)
    loc = obj.get("location")
    if loc is not None:
        if not isinstance(loc, dict):
            raise Reject("wrong_type", "location")
        for k, lim in (("lat", 90), ("lon", 180)):
            if k not in loc:
                raise Reject("missing_field", "location." + k)
            x = loc[k]
            if type(x) not in (int, float):
                raise Reject("wrong_type", "location." + k)
            if not -lim <= x <= lim:
                raise Reject("out_of_range", "location." + k)
    if obj.get("client_ts") is not None:
        ev["_client_t"] = parse_time(obj["client_ts"], "client_ts")
    c = obj.get("client")
    if c is not None:
        if not isinstance(c, dict):
            raise Reject("wrong_type", "client")
        for k in ("automation", "hooked"):
            if c.get(k) is not None and type(c[k]) is not bool:
                raise Reject("wrong_type", "client." + k)
        p = c.get("packages")
        if p is not None and (not isinstance(p, list) or not all(isinstance(x, str) for x in p)):
            raise Reject("wrong_type", "client.packages")
    if typ == "account_open":
        s_field("region", 0, None, False)
    elif typ == "transfer":
        s_field("counterparty", 1, 64, True)
        i_field("amount", 1, 10 ** 12, True)
        s_field("currency", 0, None, False)
        s_field("mode", 0, None, False)
        if obj.get("counterparty_created_at") is not None:
            ev["_cca"] = parse_time(obj["counterparty_created_at"], "counterparty_created_at")
    elif typ == "red_packet_send":
        s_field("packet_id", 1, 128, True)
        i_field("amount", 1, 10 ** 12, True)
        i_field("shares", 1, 10000, False)
        s_field("kind", 0, None, False)
        s_field("target", 0, None, False)
    elif typ == "red_packet_claim":
        s_field("packet_id", 1, 128, True)
        i_field("amount", None, None, True)
    elif typ in ("recall_request", "complaint"):
        s_field("ref", 0, None, True)
        if typ == "complaint":
            s_field("reason", 0, None, False)
    return ev


class Oracle:
    """detection.md's default pack, read literally, over accepted events in
    file order. device_scope: which events make a device "seen" for
    new_device ("login" or "any"): detection.md does not say; the verifier
    runs both and requires the same answer."""

    def __init__(self, geo, tools, device_scope="any"):
        self.geo, self.tools, self.device_scope = geo, set(tools), device_scope
        self.seen_ids = {}
        self.duplicates = 0
        self.opened = {}
        self.pays = {}
        self.received = {}
        self.transfers = {}
        self.devices = {}
        self.last_login_cc = {}
        self.has_login = set()
        self.packets = {}
        self.instant = {}
        self.recalls = {}
        self.hits = []           # (event_id, subject, rule, actions, type, t)
        self.notes = []

    @staticmethod
    def window(lst, t, w):
        # (t - w, t]: the oldest instant is excluded, the newest included.
        return sum(1 for x in lst if t - w < x <= t)

    def ip_info(self, ip):
        if not ip:
            return None
        return self.geo.lookup(ip)

    def feed(self, e, line_no):
        eid, t = e["event_id"], e["_t"]
        if eid in self.seen_ids:
            first = self.seen_ids[eid]
            if abs(t - first) <= DEDUPE_MS:
                self.duplicates += 1
                return
            self.notes.append("line %d: event_id %s re-used %d ms after its first use (outside the horizon)"
                              % (line_no, eid, t - first))
        self.seen_ids[eid] = t
        typ, a = e["type"], e["account"]
        hits = []

        def hit(subject, rule, actions):
            hits.append((subject, rule, actions))

        if typ == "account_open":
            if a in self.opened:
                self.notes.append("line %d: second account_open for %s" % (line_no, a))
            self.opened[a] = t
        amount = e.get("amount")
        client = e.get("client") or {}
        if typ in ("transfer", "red_packet_send"):
            self.pays.setdefault(a, []).append(t)
            if self.window(self.pays[a], t, HF_WINDOW_MS) > HF_LIMIT:
                hit(a, "hf_transfers_24h", ["face_verify"])
        if typ == "transfer":
            cp = e["counterparty"]
            reg = e.get("_cca", self.opened.get(cp))
            new = reg is not None and t - reg < NEW_ACCOUNT_MS
            if reg is not None and abs((t - reg) - NEW_ACCOUNT_MS) < MIN_MS:
                self.notes.append("line %d: counterparty age within 1 min of 72 h" % line_no)
            if new and amount >= NRL_AMOUNT:
                hit(a, "new_recipient_large", ["face_verify"])
            self.received.setdefault(cp, []).append((t, a))
            if new:
                senders = {s for (x, s) in self.received[cp] if t - MULE_WINDOW_MS < x <= t}
                if len(senders) >= MULE_SENDERS:
                    hit(cp, "new_account_mule", ["freeze"])
            if amount > LARGE_AMOUNT:
                hit(a, "large_transfer", ["face_verify"])
            self.transfers[eid] = (t, a, cp)
        loc = e.get("location")
        if e.get("ip") and loc is not None:
            rec = self.ip_info(e["ip"])
            if rec and rec["city"] and rec["lat"] is not None:
                d = haversine_km(rec["lat"], rec["lon"], loc["lat"], loc["lon"])
                limit = GEO_KM + rec["acc"]
                if abs(d - limit) < 25:
                    self.notes.append("line %d: geo distance %.1f km near the limit" % (line_no, d))
                if d > limit:
                    hit(a, "ip_geo_mismatch", ["face_verify"])
        if typ == "login":
            dev = e.get("device_id")
            rec = self.ip_info(e.get("ip"))
            cc = rec["cc"] if rec else None
            known = self.devices.get(a, set())
            if dev is not None and a in self.has_login and dev not in known:
                prev = self.last_login_cc.get(a)
                if cc is not None and prev is not None and cc != prev:
                    hit(a, "new_device_remote_ip", ["freeze", "face_verify"])
            self.has_login.add(a)
            self.last_login_cc[a] = cc
        if e.get("device_id") is not None and (typ == "login" or self.device_scope == "any"):
            self.devices.setdefault(a, set()).add(e["device_id"])
        if typ == "red_packet_send":
            kind = e.get("kind") or "normal"
            if e["packet_id"] in self.packets:
                self.notes.append("line %d: packet_id %s sent twice" % (line_no, e["packet_id"]))
            self.packets[e["packet_id"]] = {"t": t, "amount": amount, "kind": kind, "sum": 0, "who": []}
        if typ == "red_packet_claim":
            p = self.packets.get(e["packet_id"])
            if p is not None:
                delay = t - p["t"]
                if delay < 0:
                    self.notes.append("line %d: claim before its send" % line_no)
                if delay < INSTANT_MS:
                    self.instant.setdefault(a, []).append(t)
                    if self.window(self.instant[a], t, INSTANT_WINDOW_MS) >= INSTANT_COUNT:
                        hit(a, "instant_claims", ["face_verify"])
                life = LIFETIME_MS.get(p["kind"], DAY_MS)
                if delay == life:
                    self.notes.append("line %d: claim exactly at the end of the lifetime" % line_no)
                expired = delay > life
                over = p["sum"] + amount > p["amount"]
                again = a in p["who"]
                if expired or over or again:
                    hit(a, "forged_claim", ["freeze"])
                p["sum"] += amount
                p["who"].append(a)
        if typ == "recall_request":
            self.recalls.setdefault(a, []).append(t)
            if self.window(self.recalls[a], t, RECALL_WINDOW_MS) >= RECALL_COUNT:
                hit(a, "recall_burst", ["freeze"])
        if typ in ("transfer", "red_packet_send", "red_packet_claim", "recall_request"):
            pk = client.get("packages") or []
            if client.get("automation") is True or client.get("hooked") is True or any(x in self.tools for x in pk):
                hit(a, "automation_client", ["face_verify"])
        if typ in ("red_packet_claim", "recall_request") and "_client_t" in e:
            if abs(e["_client_t"] - t) > CLOCK_SKEW_MS:
                hit(a, "clock_tamper", ["review"])
        if typ == "complaint":
            tr = self.transfers.get(e["ref"])
            if tr is not None:
                age = t - tr[0]
                reason = e.get("reason") or "fraud"
                if age <= COMPLAINT_MS and reason == "fraud":
                    hit(tr[2], "complaint_fraud_1h", ["freeze"])
                    hit(a, "complaint_fraud_1h", ["face_verify"])
                if age > COMPLAINT_MS:
                    hit(tr[2], "complaint_late", ["review"])
        for subject, rule, actions in hits:
            self.hits.append((eid, subject, rule, actions, typ, t))

    def decisions(self):
        """Decisions in the detection.md shape (enough for score.py)."""
        by = {}
        order = []
        for eid, subj, rule, actions, typ, t in self.hits:
            k = (eid, subj)
            if k not in by:
                by[k] = {"typ": typ, "t": t, "rules": [], "actions": set()}
                order.append(k)
            by[k]["rules"].append(rule)
            by[k]["actions"].update(actions)
        out = []
        for k in order:
            d = by[k]
            out.append({"decision_id": "%s/%s" % k, "event_id": k[0], "event_type": d["typ"], "subject": k[1],
                        "actions": [x for x in ACTION_ORDER if x in d["actions"]],
                        "rules": [{"id": r} for r in RULE_ORDER if r in d["rules"]],
                        "ts": iso(d["t"])})
        return out


def read_lines(path):
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        data += b"\n"
    return data.split(b"\n")[:-1]


def verify(args):
    d = args.verify
    errors, notes = [], []
    t_start = time.time()
    lines = read_lines(os.path.join(d, "capture.jsonl"))
    with open(os.path.join(d, "expect.json"), encoding="utf-8") as f:
        expect = json.load(f)
    mal = {}
    with open(os.path.join(d, "malformed.jsonl"), encoding="utf-8") as f:
        for ln in f:
            r = json.loads(ln)
            mal[r["line"]] = r
    # gz and kcat carry the same lines
    gzp = os.path.join(d, "capture.jsonl.gz")
    if os.path.exists(gzp):
        with gzip.open(gzp, "rb") as f:
            if f.read() != b"".join(x + b"\n" for x in lines):
                errors.append("capture.jsonl.gz differs from capture.jsonl")
    kp = os.path.join(d, "capture.kcat.jsonl")
    if os.path.exists(kp):
        want = [x for x in lines if x.strip(b" \t\r")]
        got = []
        for n, env in enumerate(read_lines(kp), 1):
            i = env.find(b',"payload":')
            try:
                head = json.loads(env[:i] + b"}") if i > 0 and env.endswith(b"}") else None
            except ValueError:
                head = None
            if not isinstance(head, dict) or list(head) != ["topic", "partition", "offset", "tstype", "ts",
                                                             "broker", "key"]:
                errors.append("kcat line %d: not an envelope" % n)
                continue
            lit = env[i + len(b',"payload":'):-1]
            try:
                got.append(json.loads(lit.decode("utf-8")).encode("utf-8", "surrogatepass"))
            except UnicodeDecodeError:
                # raw invalid UTF-8 kept inside the payload string, as kcat prints it
                got.append(re.sub(rb'\\(["\\])', rb"\1", lit[1:-1]))
        if len(got) != len(want):
            errors.append("kcat: %d envelopes for %d lines" % (len(got), len(want)))
        else:
            for i, (g, w) in enumerate(zip(got, want)):
                if g != w:
                    errors.append("kcat envelope %d: payload differs from its line" % (i + 1))
                    break
    tools = default_recall_tools()
    geo = GeoDB(args.geoip)
    oracles = [Oracle(geo, tools, "any"), Oracle(geo, tools, "login")]
    rejected = {}
    events = 0
    named = []
    for n, raw in enumerate(lines, 1):
        if raw.strip(b" \t\r") == b"":
            continue        # blank: counted by riskgate, never a reject
        if raw.endswith(b"\r"):
            raw = raw[:-1]  # CRLF line end
        events += 1
        try:
            e = strict_event(raw)
        except Reject as r:
            rejected[n] = r
            continue
        named.append(e["account"])
        if e.get("counterparty"):
            named.append(e["counterparty"])
        for o in oracles:
            o.feed(e, n)
    o = oracles[0]
    notes += o.notes
    # rejects
    if events != expect.get("events"):
        errors.append("expect.events %s but capture has %d non-blank lines" % (expect.get("events"), events))
    if len(rejected) != expect.get("rejects"):
        errors.append("expect.rejects %s but the verifier rejects %d lines" % (expect.get("rejects"), len(rejected)))
    for n in sorted(set(rejected) ^ set(mal)):
        if n in rejected:
            errors.append("line %d rejected (%s) but not in malformed.jsonl" % (n, rejected[n].kind))
        else:
            errors.append("line %d in malformed.jsonl (%s) but accepted" % (n, mal[n]["kind"]))
    for n in sorted(set(rejected) & set(mal)):
        if rejected[n].kind != mal[n]["kind"]:
            notes.append("line %d: kind %s, verifier says %s" % (n, mal[n]["kind"], rejected[n].kind))
    # expect.json shape
    names = [s["name"] for s in expect["scenarios"]]
    if len(set(names)) != len(names):
        errors.append("duplicate scenario names")
    must_keys = {}
    none_subjects = {}
    for sc in expect["scenarios"]:
        if set(sc) != {"name", "must", "none"}:
            errors.append("scenario %s: keys %s" % (sc.get("name"), sorted(sc)))
        for m in sc["must"]:
            if not (len(m) == 4 and isinstance(m[2], list)):
                errors.append("scenario %s: bad must item %r" % (sc["name"], m))
                continue
            must_keys[(m[0], m[1], m[3])] = (sc["name"], m[2])
        for s in sc["none"]:
            none_subjects[s] = sc["name"]
    bg = set(expect["background"])
    must_subjects = {k[1] for k in must_keys}
    for s in sorted(must_subjects & set(none_subjects)):
        errors.append("%s is in a must list and in none of %s" % (s, none_subjects[s]))
    for s in sorted(bg & (must_subjects | set(none_subjects))):
        errors.append("background account %s is also a scenario subject" % s)
    listed = bg | must_subjects | set(none_subjects)
    unlisted = sorted({x for x in named if x not in listed})
    if unlisted:
        errors.append("%d accounts in the capture are in no list (background, must, none): %s"
                      % (len(unlisted), unlisted[:8]))
    # decisions vs expectations
    hits = {}
    for eid, subj, rule, actions, typ, t in o.hits:
        hits.setdefault((eid, subj, rule), set()).update(actions)
    for k, (sc, acts) in sorted(must_keys.items()):
        if k not in hits:
            errors.append("%s: %s on %s at %s does not fire" % (sc, k[2], k[1], k[0]))
        elif not set(acts) <= hits[k]:
            errors.append("%s: %s on %s gives %s, expected %s" % (sc, k[2], k[1], sorted(hits[k]), acts))
    for k in sorted(hits):
        if k not in must_keys:
            where = "background" if k[1] in bg else ("none of " + none_subjects[k[1]] if k[1] in none_subjects else "unlisted")
            errors.append("unexpected hit: %s on %s at %s (%s)" % (k[2], k[1], k[0], where))
    alt = {(h[0], h[1], h[2]) for h in oracles[1].hits}
    if alt != set(hits):
        errors.append("answers depend on whether non-login events make a device known: %s"
                      % sorted(alt ^ set(hits))[:5])
    if args.write_oracle:
        with open(os.path.join(d, "oracle.decisions.jsonl"), "w", encoding="utf-8") as f:
            for dec in o.decisions():
                f.write(dumps(dec) + "\n")
        with open(os.path.join(d, "oracle.rejects.jsonl"), "w", encoding="utf-8") as f:
            for n in sorted(rejected):
                r = rejected[n]
                f.write(dumps({"error": r.kind, "field": r.field, "source": "capture.jsonl:%d" % n}) + "\n")
    for nte in notes[:20]:
        print("note: " + nte, file=sys.stderr)
    for err in errors[:60]:
        print("FAIL: " + err, file=sys.stderr)
    print("verify %s: %d events, %d rejected, %d duplicates, %d hits, %d must, %d background, %d errors (%.1fs)"
          % (d, events, len(rejected), o.duplicates, len(hits), len(must_keys), len(bg), len(errors),
             time.time() - t_start), file=sys.stderr)
    return 1 if errors else 0


# ---------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description="Generate a riskgate test capture with known answers "
                                             "(see tests/data/gen/README.md).")
    ap.add_argument("--geoip", required=True, help="GeoLite2 City mmdb (flat layout, ipv4)")
    ap.add_argument("--out", help="output directory")
    ap.add_argument("--events", type=int, default=100000, help="non-blank lines to write (default 100000)")
    ap.add_argument("--days", type=int, default=4, help="days of background traffic (default 4)")
    ap.add_argument("--seed", default="1", help="random seed (default 1)")
    ap.add_argument("--accounts", type=int, default=2000, help="background accounts (default 2000)")
    ap.add_argument("--malformed-per-kind", type=int, default=3,
                    help="copies of every malformed variant (default 3)")
    ap.add_argument("--no-malformed", action="store_true", help="write no malformed lines")
    ap.add_argument("--scenarios-only", action="store_true", help="planted cases only, no background")
    ap.add_argument("--formats", default="jsonl,gz,kcat", help="jsonl (always), gz, kcat")
    ap.add_argument("--verify", metavar="DIR", help="check a generated directory instead of generating")
    ap.add_argument("--write-oracle", action="store_true",
                    help="with --verify: write DIR/oracle.decisions.jsonl and oracle.rejects.jsonl")
    args = ap.parse_args(argv)
    try:
        GeoDB(args.geoip)
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as e:
        print("gencapture: cannot read the GeoIP database %s: %s" % (args.geoip, e), file=sys.stderr)
        return 2
    bad_formats = [f for f in args.formats.split(",") if f.strip() not in ("", "jsonl", "gz", "kcat")]
    if bad_formats:
        ap.error("--formats: unknown %s (jsonl, gz, kcat)" % ",".join(bad_formats))
    if args.verify:
        try:
            return verify(args)
        except OSError as e:
            print("gencapture: %s" % e, file=sys.stderr)
            return 1
    if not args.out:
        ap.error("--out is required (or --verify DIR)")
    if args.days < 1 or args.events < 0 or args.accounts < 2 or args.malformed_per_kind < 0:
        ap.error("--days >= 1, --accounts >= 2, --events and --malformed-per-kind >= 0")
    if args.malformed_per_kind == 0:
        args.no_malformed = True
    t0 = time.time()
    g = Generator(args)
    try:
        g.run()
    except OSError as e:
        print("gencapture: %s" % e, file=sys.stderr)
        return 1
    n, accts, scen, rej, dups = g.summary
    print("gencapture: %d events (%d duplicates), %d background accounts, %d scenarios, %d rejects -> %s (%.1fs)"
          % (n, dups, accts, scen, rej, args.out, time.time() - t0), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
