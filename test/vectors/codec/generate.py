#!/usr/bin/env python3
"""Writes the shared codec vectors (test/vectors/codec/*.json).

An independent encoder, written from the spec (wasm/assembly/codec/README.md) and not from either
implementation, produces the valid vectors; invalid vectors are hand-made byte strings with the error the
spec demands. Run: python3 test/vectors/codec/generate.py

Type programs (JSON):  "uint" | ["uint", max] | "bool" | ["fixed", n] | ["bytes", max] | ["str", max]
  | ["list", max, T] | ["option", T] | ["map", max, K, V] | ["set", max, T] | ["struct", T...]
  | ["message", [tag, T]...]     (max values are decimal strings for uint, numbers elsewhere)
Values (JSON): uint as a decimal string, bool, fixed/bytes as hex, str as string, list/set/struct as arrays,
  option as null or {"some": v}, map as [[k, v]...], message as {"tag": n, "body": v}.
A vector: {name, type, hex, value} (valid) or {name, type, hex, error} (invalid); optional maxBytes (the
decoder's input limit, default 1 MiB), numberError (what a JS-number read of a uint gives), encodeFrom
(the same value in another order, which an encoder must sort into `hex`).
"""
import json, os

HERE = os.path.dirname(os.path.abspath(__file__))
U64 = (1 << 64) - 1
SAFE = (1 << 53) - 1


def uv(n):
    assert 0 <= n <= U64
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def enc(t, v):
    kind = t if isinstance(t, str) else t[0]
    if kind == "uint":
        return uv(int(v))
    if kind == "bool":
        return b"\x01" if v else b"\x00"
    if kind == "fixed":
        b = bytes.fromhex(v)
        assert len(b) == t[1]
        return b
    if kind == "bytes":
        b = bytes.fromhex(v)
        return uv(len(b)) + b
    if kind == "str":
        b = v.encode("utf-8")
        return uv(len(b)) + b
    if kind == "list":
        return uv(len(v)) + b"".join(enc(t[2], x) for x in v)
    if kind == "option":
        return b"\x00" if v is None else b"\x01" + enc(t[1], v["some"])
    if kind == "set":
        items = sorted(enc(t[2], x) for x in v)
        assert len(set(items)) == len(items)
        return uv(len(items)) + b"".join(items)
    if kind == "map":
        rows = sorted((enc(t[2], k), enc(t[3], x)) for k, x in v)
        assert len({k for k, _ in rows}) == len(rows)
        return uv(len(rows)) + b"".join(k + x for k, x in rows)
    if kind == "struct":
        assert len(v) == len(t) - 1
        return b"".join(enc(ft, fv) for ft, fv in zip(t[1:], v))
    if kind == "message":
        for tag, body in t[1:]:
            if tag == v["tag"]:
                return uv(tag) + enc(body, v["body"])
        raise ValueError("unknown tag")
    raise ValueError(kind)


def canon(t, v):
    """The value in canonical (encoded) order, as a decoder returns it."""
    kind = t if isinstance(t, str) else t[0]
    if kind == "set":
        return [x for _, x in sorted((enc(t[2], x), canon(t[2], x)) for x in v)]
    if kind == "map":
        return [[k, x] for _, k, x in sorted((enc(t[2], k), canon(t[2], k), canon(t[3], x)) for k, x in v)]
    if kind == "list":
        return [canon(t[2], x) for x in v]
    if kind == "option":
        return None if v is None else {"some": canon(t[1], v["some"])}
    if kind == "struct":
        return [canon(ft, fv) for ft, fv in zip(t[1:], v)]
    if kind == "message":
        body = dict((tag, b) for tag, b in t[1:])[v["tag"]]
        return {"tag": v["tag"], "body": canon(body, v["body"])}
    return v


def ok(name, t, v, **extra):
    vec = {"name": name, "type": t, "hex": enc(t, v).hex(), "value": canon(t, v)}
    if canon(t, v) != v:
        vec["encodeFrom"] = v
    vec.update(extra)
    return vec


def bad(name, t, hexstr, error, **extra):
    vec = {"name": name, "type": t, "hex": hexstr, "error": error}
    vec.update(extra)
    return vec


def write(fname, description, vectors):
    names = [v["name"] for v in vectors]
    assert len(set(names)) == len(names), fname
    with open(os.path.join(HERE, fname), "w") as f:
        json.dump({"description": description, "vectors": vectors}, f, indent=1, ensure_ascii=False)
        f.write("\n")


# ---- uint -------------------------------------------------------------------------------------------
BOUNDS = sorted({0, 1, 127, 128, 255, 256, 300, 16383, 16384, (1 << 21) - 1, 1 << 21, (1 << 28) - 1, 1 << 28,
                 (1 << 32) - 1, 1 << 32, (1 << 35) - 1, 1 << 35, (1 << 49) - 1, 1 << 49, SAFE, SAFE + 1,
                 (1 << 56) - 1, 1 << 56, (1 << 63) - 1, 1 << 63, U64})
uints = []
for n in BOUNDS:
    extra = {"numberError": "OutOfRange"} if n > SAFE else {}
    uints.append(ok(f"uint {n}", "uint", str(n), **extra))
for n in BOUNDS:
    m = uv(n)
    # One redundant group: the last byte gets a continuation bit and a 0x00 follows.
    over = m[:-1] + bytes([m[-1] | 0x80]) + b"\x00"
    uints.append(bad(f"uint {n} overlong by one byte", "uint", over.hex(), "Overlong" if len(over) <= 10 else "OutOfRange"))
    for cut in range(1, len(m)):
        uints.append(bad(f"uint {n} truncated to {cut} bytes", "uint", m[:cut].hex(), "Truncated"))
    uints.append(bad(f"uint {n} then a trailing byte", "uint", (m + b"\x00").hex(), "Trailing"))
uints += [
    bad("empty input", "uint", "", "Truncated"),
    bad("zero as 80 00", "uint", "8000", "Overlong"),
    bad("zero as 80 80 00", "uint", "808000", "Overlong"),
    bad("zero as nine 80s then 00 (10 bytes)", "uint", "80" * 9 + "00", "Overlong"),
    bad("zero as ten 80s then 00 (11 bytes)", "uint", "80" * 10 + "00", "OutOfRange"),
    bad("2^64 (10th byte 02)", "uint", "80" * 9 + "02", "OutOfRange"),
    bad("10th byte 7f", "uint", "ff" * 9 + "7f", "OutOfRange"),
    bad("2^64-1 with an 11th byte", "uint", "ff" * 9 + "81" + "00", "OutOfRange"),
    bad("eleven ff bytes", "uint", "ff" * 11, "OutOfRange"),
    bad("continuation never ends", "uint", "ff" * 5, "Truncated"),
    ok("uint at declared max 1000", ["uint", "1000"], "1000"),
    bad("uint above declared max 1000", ["uint", "1000"], uv(1001).hex(), "OutOfRange"),
    ok("uint max 0 accepts 0", ["uint", "0"], "0"),
    bad("uint max 0 rejects 1", ["uint", "0"], "01", "OutOfRange"),
    ok("uint at declared max 2^53-1", ["uint", str(SAFE)], str(SAFE)),
    bad("uint above declared max 2^53-1", ["uint", str(SAFE)], uv(SAFE + 1).hex(), "OutOfRange"),
    bad("overlong beats max", ["uint", "5"], "8600", "Overlong"),
]
write("uint.json", "Unsigned LEB128: boundaries, overlong forms, truncations, range, declared maxima.", uints)

# ---- bool, fixed, bytes -----------------------------------------------------------------------------
BYTES8 = ["bytes", 200]
scalars = [
    ok("bool false", "bool", False),
    ok("bool true", "bool", True),
    bad("bool 02", "bool", "02", "BadBool"),
    bad("bool 80", "bool", "80", "BadBool"),
    bad("bool ff", "bool", "ff", "BadBool"),
    bad("bool empty", "bool", "", "Truncated"),
    bad("bool trailing", "bool", "0100", "Trailing"),
    ok("fixed 0", ["fixed", 0], ""),
    ok("fixed 4", ["fixed", 4], "deadbeef"),
    ok("fixed 32", ["fixed", 32], bytes(range(32)).hex()),
    bad("fixed 32 given 31", ["fixed", 32], bytes(range(31)).hex(), "Truncated"),
    bad("fixed 32 given 33", ["fixed", 32], bytes(range(33)).hex(), "Trailing"),
    bad("fixed 0 given 1", ["fixed", 0], "00", "Trailing"),
    ok("bytes empty", BYTES8, ""),
    ok("bytes one", BYTES8, "ff"),
    ok("bytes 127 (1-byte length)", BYTES8, bytes(i % 256 for i in range(127)).hex()),
    ok("bytes 128 (2-byte length)", BYTES8, bytes(i % 256 for i in range(128)).hex()),
    ok("bytes at max length", ["bytes", 4], "01020304"),
    bad("bytes above max length", ["bytes", 4], "050102030405", "Oversize"),
    bad("bytes huge length, few bytes: Oversize before Truncated", ["bytes", 4], "ffffffff0f00", "Oversize"),
    bad("bytes length within max, bytes missing", BYTES8, "0a0102", "Truncated"),
    bad("bytes length overlong", BYTES8, "8000", "Overlong"),
    bad("bytes length overlong nonzero", BYTES8, "8180" + "00" + "ff", "Overlong"),
    bad("bytes length truncated", BYTES8, "80", "Truncated"),
    bad("bytes trailing", BYTES8, "0102ff", "Trailing"),
    ok("bytes max 0 accepts empty", ["bytes", 0], ""),
    bad("bytes max 0 rejects 1", ["bytes", 0], "0100", "Oversize"),
]
write("scalars.json", "bool, fixed-length and variable-length bytes.", scalars)

# ---- strings ----------------------------------------------------------------------------------------
S = ["str", 64]
strings = [
    ok("str empty", S, ""),
    ok("str ascii", S, "hygeia"),
    ok("str NUL", S, "\u0000"),
    ok("str 2-byte", S, "h\u00e9"),
    ok("str 3-byte euro", S, "\u20ac"),
    ok("str 4-byte emoji", S, "\U0001F600"),
    ok("str leading BOM kept", S, "\ufeffa"),
    ok("str U+D7FF", S, "\ud7ff"),
    ok("str U+E000", S, "\ue000"),
    ok("str U+FFFD", S, "\ufffd"),
    ok("str U+FFFF", S, "\uffff"),
    ok("str U+10000", S, "\U00010000"),
    ok("str U+10FFFF", S, "\U0010FFFF"),
    ok("str mixed", S, "a\u00e9\u20ac\U0001F600z"),
    ok("str not normalised (e + combining acute)", S, "e\u0301"),
    ok("str at max bytes (euro is 3 bytes)", ["str", 3], "\u20ac"),
    bad("str above max bytes (euro is 3 bytes)", ["str", 2], "03e282ac", "Oversize"),
    bad("str length overlong", S, "8000", "Overlong"),
    bad("str truncated body", S, "0561", "Truncated"),
    bad("str trailing", S, "016161", "Trailing"),
]
BAD_UTF8 = [
    ("overlong NUL c0 80", "c080"), ("c1 bf", "c1bf"), ("overlong e0 80 80", "e08080"),
    ("overlong e0 9f bf", "e09fbf"), ("surrogate ed a0 80", "eda080"), ("surrogate ed bf bf", "edbfbf"),
    ("surrogate pair as CESU-8", "eda0bdedb880"),
    ("overlong f0 80 80 80", "f0808080"), ("overlong f0 8f bf bf", "f08fbfbf"), ("above U+10FFFF f4 90 80 80", "f4908080"),
    ("f5 lead", "f5808080"), ("f8 lead", "f888808080"), ("fe", "fe"), ("ff", "ff"),
    ("stray continuation 80", "80"), ("stray continuation after ascii", "61bf"),
    ("truncated 2-byte", "c3"), ("truncated 3-byte", "e282"), ("truncated 4-byte", "f09f98"),
    ("bad continuation c3 28", "c328"), ("bad continuation e2 28 a1", "e228a1"), ("bad continuation f0 9f 28 80", "f09f2880"),
    ("valid then invalid", "6869c0af"),
]
for label, h in BAD_UTF8:
    strings.append(bad(f"str bad utf-8: {label}", S, uv(len(h) // 2).hex() + h, "BadUtf8"))
write("strings.json", "UTF-8 strings: well-formed edge code points and every class of ill-formed input.", strings)

# ---- collections ------------------------------------------------------------------------------------
L = ["list", 3, "uint"]
SET = ["set", 8, "uint"]
SETB = ["set", 8, ["bytes", 8]]
MAP = ["map", 8, ["str", 16], "uint"]
MAPU = ["map", 8, "uint", "bool"]
OPT = ["option", "uint"]
OPT2 = ["option", ["option", "bool"]]
coll = [
    ok("option absent", OPT, None),
    ok("option present 0", OPT, {"some": "0"}),
    ok("option present 300", OPT, {"some": "300"}),
    bad("option presence 02", OPT, "0205", "BadBool"),
    bad("option presence ff", OPT, "ff", "BadBool"),
    bad("option present, value missing", OPT, "01", "Truncated"),
    bad("option absent with trailing", OPT, "0000", "Trailing"),
    bad("option empty input", OPT, "", "Truncated"),
    ok("option option absent", OPT2, None),
    ok("option option present absent", OPT2, {"some": None}),
    ok("option option present present true", OPT2, {"some": {"some": True}}),
    bad("option option inner presence 02", OPT2, "0102", "BadBool"),
    ok("list empty", L, []),
    ok("list three", L, ["1", "2", "3"]),
    ok("list keeps order and repeats", L, ["3", "3", "1"]),
    bad("list count above max", L, "0401020304", "Oversize"),
    bad("list huge count", L, "ffffffffffffffffff01", "Oversize"),
    bad("list count overlong", L, "8000", "Overlong"),
    bad("list item missing", L, "0201", "Truncated"),
    bad("list item overlong", L, "028000" + "01", "Overlong"),
    bad("list trailing", L, "010101", "Trailing"),
    ok("list of strings", ["list", 4, ["str", 8]], ["a", "", "\u00e9"]),
    ok("list of lists", ["list", 2, ["list", 2, "bool"]], [[True], [], ]),
    ok("set empty", SET, []),
    ok("set sorted", SET, ["1", "2", "3"]),
    ok("set sorted by encoding, not value (256 before 255)", SET, ["256", "255"], ),
    ok("set encoder sorts", SET, ["3", "1", "2"]),
    bad("set unsorted", SET, "03020103", "Unsorted"),
    bad("set duplicate", SET, "020101", "Unsorted"),
    bad("set numeric order is not encoding order", SET, "02ff018002", "Unsorted"),
    bad("set count above max", SET, "09" + "".join(uv(i).hex() for i in range(9)), "Oversize"),
    ok("set of bytes: shorter prefix first", SETB, ["", "00", "0000"]),
    ok("set of bytes: length prefix orders first", SETB, ["ff", "0000"]),
    bad("set of bytes duplicate empty", SETB, "020000", "Unsorted"),
    bad("set of bytes unsorted", SETB, "0202000001ff", "Unsorted"),
    ok("map empty", MAP, []),
    ok("map two", MAP, [["a", "1"], ["b", "2"]]),
    ok("map keys by encoding ('b' before 'aa')", MAP, [["aa", "1"], ["b", "2"]]),
    bad("map unsorted keys", MAP, "02" + "016202" + "016101", "Unsorted"),
    bad("map duplicate keys, same value", MAP, "02" + "016101" + "016101", "Unsorted"),
    bad("map duplicate keys, different values", MAP, "02" + "016101" + "016102", "Unsorted"),
    bad("map value missing", MAP, "010161", "Truncated"),
    bad("map count above max", MAP, "09", "Oversize"),
    bad("map key bad utf-8 before order check", MAP, "02" + "016101" + "01ff01", "BadUtf8"),
    ok("map uint keys", MAPU, [["0", True], ["127", False], ["128", True]]),
    bad("map uint keys unsorted", MAPU, "02" + "0101" + "0001", "Unsorted"),
    bad("map bool value 02", MAPU, "01" + "0102", "BadBool"),
]
write("collections.json", "Options, lists, sets and maps: counts, order by encoding, duplicates.", coll)

# ---- messages and limits ----------------------------------------------------------------------------
PING = ["struct", ["fixed", 4], "uint"]
VOTE = ["struct", "bool", ["option", ["str", 32]]]
MSG = ["message", [1, PING], [2, VOTE], [300, ["struct"]]]
msgs = [
    ok("message tag 1", MSG, {"tag": 1, "body": ["01020304", "7"]}),
    ok("message tag 2", MSG, {"tag": 2, "body": [True, {"some": "hygeia"}]}),
    ok("message tag 2 no note", MSG, {"tag": 2, "body": [False, None]}),
    ok("message tag 300 (2-byte tag), empty body", MSG, {"tag": 300, "body": []}),
    bad("message unknown tag 0", MSG, "00", "UnknownTag"),
    bad("message unknown tag 3", MSG, "03", "UnknownTag"),
    bad("message unknown tag 2^64-1", MSG, "ff" * 9 + "01", "UnknownTag"),
    bad("message tag overlong", MSG, "8100" + "0102030407", "Overlong"),
    bad("message tag truncated", MSG, "ac", "Truncated"),
    bad("message field missing", MSG, "0101020304", "Truncated"),
    bad("message trailing byte", MSG, "01010203040700", "Trailing"),
    bad("message bad nested bool", MSG, "0202", "BadBool"),
    bad("message empty", MSG, "", "Truncated"),
    ok("struct of everything", ["struct", "uint", "bool", ["fixed", 2], ["bytes", 4], ["str", 4], ["list", 2, "bool"],
                                ["option", "uint"], ["set", 2, "uint"], ["map", 2, "uint", "uint"]],
       [str(U64), True, "abcd", "01", "ok", [False], {"some": "1"}, ["5", "4"], [["9", "1"], ["8", "2"]]]),
    ok("input exactly maxBytes", ["bytes", 16], "0102030405060708", maxBytes=9),
    bad("input one above maxBytes", ["bytes", 16], "080102030405060708", "Oversize", maxBytes=8),
    bad("input above maxBytes beats other errors", "uint", "8000", "Oversize", maxBytes=1),
    ok("maxBytes 0, empty struct", ["struct"], [], maxBytes=0),
    bad("first error wins (overlong before trailing)", ["struct", "uint"], "800000", "Overlong"),
    bad("first error wins (bad bool before a missing field)", ["struct", "bool", "uint"], "0280", "BadBool"),
]
write("messages.json", "Tagged messages, structs, input size limits and error precedence.", msgs)

# ---- signing bytes ----------------------------------------------------------------------------------
def sb(tag, body):
    return (uv(len(tag)) + tag.encode("ascii") + bytes.fromhex(body)).hex()

long_tag = "hygeia/" + "x" * 130 + "/m/v1"
signing = [
    {"name": n, "tag": t, "body": b, "hex": sb(t, b)}
    for n, t, b in [
        ("empty body", "hygeia/pbft/prepare/v1", ""),
        ("with body", "hygeia/ledger/block/v1", "0102ff"),
        ("tag of 142 chars (2-byte length)", long_tag, "00"),
        ("tag and body boundary differs", "hygeia/a/b/v1", "31"),
    ]
]
write("signing.json", "signingBytes(tag, body) = uvarint(len(tag)) ‖ ASCII(tag) ‖ body.", signing)
print("ok")
