"""Make WeNet's own Python code importable from a checkout (not vendored).

WeNet is used from its public repository at a pinned commit:

    git clone https://github.com/wenet-e2e/wenet /path/to/wenet
    git -C /path/to/wenet checkout 015469960db73eb19c49a48c020d5ac9db69bae5

`wenet/__init__.py` imports the command-line front end, which pulls in
librosa and langid (data loading for other recipes); wenet/utils/common.py
imports openai-whisper for a language table.  None of these are Debian
packages and none are on the path from a fbank to a CTC output, so the
package is entered without running its __init__ and `whisper.tokenizer`
is given an empty LANGUAGES table.  Everything that is run (init_model,
ASRModel, ConformerEncoder, TransformerDecoder, CTC, WarmupLR,
save_checkpoint, load_cmvn) is WeNet's unmodified code.
"""
import os
import subprocess
import sys
import types

WENET_COMMIT = "015469960db73eb19c49a48c020d5ac9db69bae5"


def use_wenet(path):
    """Puts the WeNet checkout at `path` on the import path.  Returns the
    commit it is at (None when it is not a git checkout) and warns on
    stderr when that is not the pinned commit."""
    pkg_dir = os.path.join(path, "wenet")
    if not os.path.isfile(os.path.join(pkg_dir, "utils", "init_model.py")):
        raise SystemExit(f"{path}: not a WeNet checkout (no wenet/utils/init_model.py); "
                         f"git clone https://github.com/wenet-e2e/wenet and check out "
                         f"{WENET_COMMIT[:8]}")
    commit = None
    try:
        commit = subprocess.run(["git", "-C", path, "rev-parse", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    if commit is not None and commit != WENET_COMMIT:
        print(f"warning: {path} is at {commit[:8]}, the scripts were checked at "
              f"{WENET_COMMIT[:8]}", file=sys.stderr)
    if "whisper.tokenizer" not in sys.modules:
        whisper = types.ModuleType("whisper")
        tok = types.ModuleType("whisper.tokenizer")
        tok.LANGUAGES = {}
        whisper.tokenizer = tok
        sys.modules.setdefault("whisper", whisper)
        sys.modules["whisper.tokenizer"] = tok
    if "wenet" not in sys.modules:
        pkg = types.ModuleType("wenet")
        pkg.__path__ = [pkg_dir]
        sys.modules["wenet"] = pkg
    return commit
