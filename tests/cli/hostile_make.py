"""Builds one hostile input for tests/cli/hostile_test.sh (python3 stdlib only).

  hostile_make.py model SRC_FIXTURE DST CASE   copy a fixture dir, damage one thing
  hostile_make.py wav OUT KIND [N]             write a WAV file of some kind
"""
import json
import math
import os
import shutil
import struct
import sys
import wave


def copy_fixture(src, dst):
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns('acts'))
    for root, _dirs, files in os.walk(dst):
        os.chmod(root, 0o755)
        for f in files:
            os.chmod(os.path.join(root, f), 0o644)


def model_case(src, dst, case):
    copy_fixture(src, dst)
    wpath = os.path.join(dst, 'weights.safetensors')
    cpath = os.path.join(dst, 'config.json')

    def st_read():
        b = open(wpath, 'rb').read()
        n = struct.unpack('<Q', b[:8])[0]
        return json.loads(b[8:8 + n]), b[8 + n:]

    def st_write(h, data, raw=None):
        hb = raw if raw is not None else json.dumps(h).encode()
        hb += b' ' * (-len(hb) % 8)
        open(wpath, 'wb').write(struct.pack('<Q', len(hb)) + hb + data)

    def cfg(f):
        c = json.load(open(cpath))
        f(c)
        json.dump(c, open(cpath, 'w'))

    h, data = st_read() if os.path.exists(wpath) else (None, None)
    # mha_small: in_proj_bias [96], in_proj_weight [96,32], out_proj.bias [32], out_proj.weight [32,32]
    if case == 'st_header_past_eof':
        b = open(wpath, 'rb').read()
        open(wpath, 'wb').write(struct.pack('<Q', len(b) * 2) + b[8:])
    elif case == 'st_truncated':
        b = open(wpath, 'rb').read()
        open(wpath, 'wb').write(b[:len(b) - 1000])
    elif case == 'st_header_not_json':
        st_write(None, data, raw=b'{"in_proj_bias": {"dtype": "F32", this is not json')
    elif case == 'st_offsets_outside':
        h['out_proj.weight']['data_offsets'] = [12800, 16896 + 4096]
        st_write(h, data)
    elif case == 'st_offsets_overlap':
        h['out_proj.bias']['data_offsets'] = [12672 - 64, 12800 - 64]
        st_write(h, data)
    elif case == 'st_offsets_reversed':
        h['out_proj.bias']['data_offsets'] = [12800, 12672]
        st_write(h, data)
    elif case == 'st_shape_overflow':
        h['out_proj.bias']['shape'] = [1 << 32, 1 << 32, 16]
        st_write(h, data)
    elif case == 'st_negative_dim':
        h['out_proj.bias']['shape'] = [-32]
        st_write(h, data)
    elif case == 'st_zero_dim':
        h['out_proj.bias']['shape'] = [0]
        h['out_proj.bias']['data_offsets'] = [12672, 12672]
        st_write(h, data)
    elif case == 'st_unknown_dtype':
        h['out_proj.bias']['dtype'] = 'Q7'
        st_write(h, data)
    elif case == 'st_missing_tensor':
        del h['out_proj.bias']
        st_write(h, data)
    elif case == 'st_wrong_shape':
        h['out_proj.weight']['shape'] = [16, 64]
        st_write(h, data)
    elif case == 'st_nan_inf':
        off = h['in_proj_weight']['data_offsets'][0]
        d = bytearray(data)
        d[off + 8:off + 12] = struct.pack('<f', float('nan'))
        d[off + 12:off + 16] = struct.pack('<f', float('inf'))
        st_write(h, bytes(d))
    elif case == 'no_weights':
        os.remove(wpath)
    elif case == 'cfg_not_json':
        open(cpath, 'w').write('{"arch": "mha", "kwargs": {')
    elif case == 'cfg_zero_heads':
        cfg(lambda c: c['kwargs'].__setitem__('num_heads', 0))
    elif case == 'cfg_not_divisible':
        cfg(lambda c: c['kwargs'].__setitem__('num_heads', 5))
    elif case == 'cfg_negative_dim':
        cfg(lambda c: c['kwargs'].__setitem__('embed_dim', -32))
    elif case == 'cfg_unknown_arch':
        cfg(lambda c: c.__setitem__('arch', 'lstm'))
    elif case == 'w2v_zero_heads':
        cfg(lambda c: c['kwargs'].__setitem__('encoder_num_heads', 0))
    elif case == 'w2v_kernel_too_large':
        cfg(lambda c: c['kwargs']['extractor_conv_layer_config'][0].__setitem__(1, 100000))
    elif case == 'conf_not_divisible':
        cfg(lambda c: c['encoder_conf'].__setitem__('attention_heads', 3))
    elif case == 'hf_not_divisible':
        cfg(lambda c: c.__setitem__('num_attention_heads', 3))
    elif case == 'absurd_sizes':
        cfg(lambda c: c['encoder_conf'].update(output_size=65536, num_blocks=1024,
                                               linear_units=262144))
    elif case != 'plain':
        sys.exit('hostile_make.py: unknown case ' + case)


def wav_case(out, kind, n):
    def pcm(n, rate=16000, ch=1, sw=2):
        f = wave.open(out, 'wb')
        f.setnchannels(ch)
        f.setsampwidth(sw)
        f.setframerate(rate)
        if sw == 2:
            f.writeframes(b''.join(struct.pack('<h', int(3000 * math.sin(i / 9)))
                                   for i in range(n * ch)))
        else:
            f.writeframes(bytes((128 + i) % 256 for i in range(n * ch * sw)))
        f.close()

    if kind == 'ok':
        pcm(n or 16000)
    elif kind == 'rate2k':
        pcm(2000, rate=2000)
    elif kind == 'rate200k':
        pcm(20000, rate=200000, ch=2)
    elif kind == 'stereo44k':  # accepted: mixed down and resampled
        pcm(n or 44100, rate=44100, ch=2)
    elif kind == 'u8':
        pcm(16000, sw=1)
    elif kind == 'truncated':
        pcm(16000)
        b = open(out, 'rb').read()
        open(out, 'wb').write(b[:len(b) // 2])
    elif kind == 'notwav':
        open(out, 'wb').write(b'ID3\x03\x00' + bytes(200))
    elif kind == 'float_nan':
        data = b''.join(struct.pack('<f', float('nan') if i == 3 else 0.1) for i in range(1000))
        fmt = struct.pack('<HHIIHH', 3, 1, 16000, 64000, 4, 32)
        body = b'WAVE' + b'fmt ' + struct.pack('<I', 16) + fmt + b'data' + \
            struct.pack('<I', len(data)) + data
        open(out, 'wb').write(b'RIFF' + struct.pack('<I', len(body)) + body)
    else:
        sys.exit('hostile_make.py: unknown wav kind ' + kind)


if __name__ == '__main__':
    if sys.argv[1] == 'model':
        model_case(*sys.argv[2:5])
    elif sys.argv[1] == 'wav':
        wav_case(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 0)
    else:
        sys.exit(__doc__)
