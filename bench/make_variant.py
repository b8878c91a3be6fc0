"""Chat-heavy and gift-heavy variants of the benchmark workload (../shared/bench/make_frames.py
has only the live-room mix). Same record format (4-byte little-endian length + WebcastPushFrame with
a gzipped fetch result), same message pool (the real captures), our own encoder; only the mix differs.
Usage: python3 make_variant.py CORPUS_DIR OUT.bin chat|gift [FRAMES] [SEED]"""
import base64, glob, gzip, json, os, random, struct, sys

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F; n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n: return bytes(out)

def field(num, wire, payload):
    key = varint((num << 3) | wire)
    if wire == 0: return key + varint(payload)
    if isinstance(payload, str): payload = payload.encode()
    return key + varint(len(payload)) + payload

MIXES = {
    # An audience that mostly talks: chat 75 %, the rest as in the live-room mix.
    'chat': [('WebcastChatMessage', 75), ('WebcastMemberMessage', 8), ('WebcastLikeMessage', 8), ('WebcastGiftMessage', 4),
             ('WebcastRoomUserSeqMessage', 2), ('WebcastSocialMessage', 2), (None, 1)],
    # A gift battle: gifts 60 % (the largest messages), chat 20 %.
    'gift': [('WebcastGiftMessage', 60), ('WebcastChatMessage', 20), ('WebcastMemberMessage', 6), ('WebcastLikeMessage', 8),
             ('WebcastRoomUserSeqMessage', 2), ('WebcastSocialMessage', 2), (None, 2)],
}

corpus, out_path, variant = sys.argv[1], sys.argv[2], sys.argv[3]
frames = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
rng = random.Random(int(sys.argv[5]) if len(sys.argv) > 5 else 1)
pool = {}
for f in sorted(glob.glob(os.path.join(corpus, '*.json'))):
    for method, samples in json.load(open(f)).items():
        pool.setdefault(method, []).extend(base64.b64decode(s['eventData']) for s in samples)
mix = MIXES[variant]
others = [m for m in pool if m not in dict(mix)]
names, weights = zip(*mix)
msg_id, total_msgs, raw_bytes, gz_bytes = 7_400_000_000_000_000_000, 0, 0, 0
with open(out_path, 'wb') as out:
    for i in range(frames):
        batch = bytearray()
        for _ in range(rng.randint(20, 60)):
            m = rng.choices(names, weights)[0] or rng.choice(others)
            msg_id += 1
            batch += field(1, 2, field(1, 2, m) + field(2, 2, rng.choice(pool[m])) + field(3, 0, msg_id))
            total_msgs += 1
        batch += field(2, 2, f"t-{1700000000000 + i}_r-1") + field(4, 0, 1700000000000 + i * 250)
        z = gzip.compress(bytes(batch), mtime=0)
        raw_bytes += len(batch); gz_bytes += len(z)
        frame = (field(1, 0, i + 1) + field(2, 0, 900_000 + i) + field(5, 2, field(1, 2, 'compress_type') + field(2, 2, 'gzip'))
                 + field(6, 2, 'pb') + field(7, 2, 'msg') + field(8, 2, z))
        out.write(struct.pack('<I', len(frame)) + frame)
print(json.dumps({"variant": variant, "frames": frames, "messages": total_msgs, "raw_bytes": raw_bytes, "gzip_bytes": gz_bytes}))
