#!/usr/bin/python3
"""A small English speech corpus we make ourselves (issue 17, point 1).

Utterances of 1-6 words from a fixed vocabulary (the digits, "oh", the
walkthroughs' words and common short words), spoken by espeak-ng with many
accents and voice variants, at 120-220 words/min, with pitch, amplitude and
word gaps varied; sox converts to 16 kHz mono 16-bit and adds white noise
(SNR 10-30 dB) and light reverb to part of it.  Everything follows from
--seed: the same seed gives the same texts, voices, settings and bytes.

The split is by voice: every (accent, variant) pair belongs to exactly one
of train/dev/test, so no test voice is heard in training.

    /usr/bin/python3 tools/make_speech_corpus.py --out corpus --n 6000 --seed 1
    /usr/bin/python3 tools/make_speech_corpus.py --selftest   # determinism check

Writes, per split, WeNet's files: <split>/wav.scp ("key path"),
<split>/text ("key words"), and the WAVs under <split>/wav/.  Needs
Debian's espeak-ng and sox.  Nothing here is used by the C program.
"""
import argparse
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
from multiprocessing import Pool

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "oh"]
WALKTHROUGH = ["attention", "mask", "query", "key", "value", "layer", "hello", "world"]
COMMON = ["yes", "no", "stop", "go", "left", "right", "up", "down", "on", "off", "open", "close",
          "red", "green", "blue", "black", "white", "cat", "dog", "bird", "fish", "tree", "house",
          "water", "fire", "light", "sound", "music", "number", "word", "time", "day", "night",
          "small", "large", "fast", "slow", "good", "bad", "new", "old", "first", "last", "next",
          "back", "head", "step", "model", "speech", "text", "train", "test", "data", "input",
          "output", "shape", "score", "weight", "sum", "please", "thank", "you", "the", "a"]
VOCAB = DIGITS + WALKTHROUGH + COMMON

ACCENTS = ["en", "en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
           "en-gb-x-gbcwmd", "en-029"]
VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
            "croak", "whisper", "klatt", "klatt2", "klatt3", "Andy", "Annie", "Denis", "Ed",
            "Gene", "Jacky", "Lee", "Linda", "Max", "Michael", "Mr_serious", "Paul", "Pablo",
            "Robert", "Steph", "Storm", "Tweaky", "aunty", "boris"]
SPLITS = (("train", 0.8), ("dev", 0.1), ("test", 0.1))


def voices_by_split(seed):
    """(accent, variant) pairs, shuffled by seed, cut 80/10/10."""
    pairs = [(a, v) for a in ACCENTS for v in VARIANTS]
    random.Random(seed).shuffle(pairs)
    out, start = {}, 0
    for i, (name, frac) in enumerate(SPLITS):
        end = len(pairs) if i == len(SPLITS) - 1 else start + round(frac * len(pairs))
        out[name] = pairs[start:end]
        start = end
    return out


def plan(seed, n):
    """Every utterance's text, voice and settings, from the seed alone."""
    rng = random.Random(seed * 1000003 + 7)
    voices = voices_by_split(seed)
    items = []
    for i in range(n):
        split = rng.choices([s for s, _ in SPLITS], [f for _, f in SPLITS])[0]
        accent, variant = rng.choice(voices[split])
        words = [rng.choice(VOCAB) for _ in range(rng.randint(1, 6))]
        items.append({
            "key": "u%06d" % i, "split": split, "accent": accent, "variant": variant,
            "text": " ".join(words),
            "speed": rng.randint(120, 220), "pitch": rng.randint(20, 80),
            "amp": rng.randint(80, 180), "gap": rng.randint(0, 4),
            "noise_db": rng.uniform(10, 30) if rng.random() < 0.3 else None,
            "reverb": rng.randint(10, 40) if rng.random() < 0.2 else None,
            "noise_seed": rng.randint(1, 2 ** 31 - 1),
        })
    return items


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def synth(args):
    item, out_dir = args
    wav_dir = os.path.join(out_dir, item["split"], "wav")
    path = os.path.join(wav_dir, item["key"] + ".wav")
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "raw.wav")
        run(["espeak-ng", "-v", "%s+%s" % (item["accent"], item["variant"]),
             "-s", str(item["speed"]), "-p", str(item["pitch"]), "-a", str(item["amp"]),
             "-g", str(item["gap"]), "-w", raw, item["text"]])
        # 16 kHz mono 16-bit, with dither off so the bytes depend on the seed only
        clean = os.path.join(tmp, "clean.wav")
        cmd = ["sox", "-D", raw, "-r", "16000", "-c", "1", "-b", "16", clean]
        if item["reverb"] is not None:
            cmd += ["reverb", str(item["reverb"])]
        run(cmd)
        if item["noise_db"] is None:
            shutil.move(clean, path)
        else:
            # white noise at the chosen SNR, from sox's seeded generator
            noise = os.path.join(tmp, "noise.wav")
            rms = float(subprocess.run(["sox", clean, "-n", "stat"], check=True,
                                       stderr=subprocess.PIPE, text=True).stderr
                        .split("RMS     amplitude:")[1].split()[0])
            level = max(rms, 1e-4) * 10 ** (-item["noise_db"] / 20)
            run(["sox", "-D", "-R", "--norm=-100", clean, noise, "synth", "whitenoise", "vol", "%.6f" % level])
            run(["sox", "-D", "-m", clean, noise, "-b", "16", path])
    return item


def write(out_dir, items):
    for name, _ in SPLITS:
        os.makedirs(os.path.join(out_dir, name, "wav"), exist_ok=True)
    with Pool(min(2, os.cpu_count() or 1)) as pool:
        done = pool.map(synth, [(it, out_dir) for it in items], chunksize=8)
    for name, _ in SPLITS:
        sel = [it for it in done if it["split"] == name]
        with open(os.path.join(out_dir, name, "wav.scp"), "w") as f:
            for it in sel:
                f.write("%s %s\n" % (it["key"], os.path.abspath(os.path.join(out_dir, name, "wav", it["key"] + ".wav"))))
        with open(os.path.join(out_dir, name, "text"), "w") as f:
            for it in sel:
                f.write("%s %s\n" % (it["key"], it["text"]))
        with open(os.path.join(out_dir, name, "voices"), "w") as f:
            for a, v in sorted({(it["accent"], it["variant"]) for it in sel}):
                f.write("%s+%s\n" % (a, v))


def digest(out_dir):
    h = hashlib.sha256()
    for root, _, files in sorted(os.walk(out_dir)):
        for fn in sorted(files):
            if fn.endswith(".wav"):
                with open(os.path.join(root, fn), "rb") as f:
                    h.update(fn.encode() + f.read())
    return h.hexdigest()


def selftest(seed):
    """The same seed twice gives the same bytes; the splits share no voice."""
    v = voices_by_split(seed)
    sets = [set(v[s]) for s, _ in SPLITS]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2]), "a voice in two splits"
    items = plan(seed, 40)[:6]
    # make sure the six cover noise and reverb, the non-trivial paths
    items += [it for it in plan(seed, 400) if it["noise_db"] is not None][:1]
    items += [it for it in plan(seed, 400) if it["reverb"] is not None][:1]
    digests = []
    for _ in range(2):
        with tempfile.TemporaryDirectory() as d:
            write(d, items)
            digests.append(digest(d))
    if digests[0] != digests[1]:
        print("FAIL: two runs with seed %d differ" % seed)
        return 1
    print("ok: %d utterances, same bytes twice (%s...); %d/%d/%d voices in train/dev/test, none shared"
          % (len(items), digests[0][:12], len(v["train"]), len(v["dev"]), len(v["test"])))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="output directory")
    ap.add_argument("--n", type=int, default=6000, help="utterances (default 6000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--selftest", action="store_true", help="check determinism on a few utterances")
    a = ap.parse_args()
    for tool in ("espeak-ng", "sox"):
        if not shutil.which(tool):
            print("make_speech_corpus: %s is not installed (apt-get install espeak-ng sox)" % tool,
                  file=sys.stderr)
            return 77 if a.selftest else 2
    if a.selftest:
        return selftest(a.seed)
    if not a.out:
        ap.error("--out is required")
    write(a.out, plan(a.seed, a.n))
    print("wrote %d utterances to %s" % (a.n, a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
