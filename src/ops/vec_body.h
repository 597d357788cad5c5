/* vec_body.h - the float32 row kernels of fast_ew.c, written once over a
 * small vector vocabulary and compiled once per ISA: fast_ew.c includes
 * this file twice, with V/VW/the v* macros and FN() set for AVX-512 and
 * for AVX2 (the ggml way of keeping one body for several ISAs).
 *
 * Every function takes contiguous rows of n floats.  A short tail goes
 * through a VW-wide buffer, so each kernel has one vector code path.
 *
 * vexp is Cephes' expf (Cody-Waite reduction by ln 2, degree-6
 * polynomial, ~1 ulp on [-87, 88]); verf_parts is a minimax erf with
 * erfc returned separately in the tail (max error ~1 ulp for erf, a few
 * 1e-6 relative for erfc(x) at x < 3), so GELU keeps relative accuracy
 * on the negative side where 1 + erf would cancel.  NaN propagates
 * through both (the clamps take the NaN operand), exp(+inf) = inf,
 * exp(-inf) = 0.
 */

#ifndef FN
#error "vec_body.h is included from fast_ew.c with an ISA selected"
#endif

/* x * 2^n for integral n in [-150, 128] without overflowing the
 * exponent field: 2^n = 2^(n/2) * 2^(n - n/2). */
INL TGT V FN(vexp)(V x)
{
    const V hi = vset1(88.7228394f), lo = vset1(-103.972084f);
    V xc = vmax(lo, vmin(hi, x)); /* NaN stays NaN (the second operand) */
    V n = vround(vmul(xc, vset1(1.44269504088896341f)));
    V r = vfnmadd(n, vset1(0.693359375f), xc);
    r = vfnmadd(n, vset1(-2.12194440e-4f), r);
    V p = vset1(1.9875691500e-4f);
    p = vfmadd(p, r, vset1(1.3981999507e-3f));
    p = vfmadd(p, r, vset1(8.3334519073e-3f));
    p = vfmadd(p, r, vset1(4.1665795894e-2f));
    p = vfmadd(p, r, vset1(1.6666665459e-1f));
    p = vfmadd(p, r, vset1(5.0000001201e-1f));
    p = vfmadd(p, vmul(r, r), vadd(r, vset1(1.0f)));
    V y = vscale2(p, n);
    return vblend_gt(x, hi, vset1(INFINITY), y);
}

/* 1 / (1 + exp(-x)) */
INL TGT V FN(vsigmoid)(V x)
{
    return vdiv(vset1(1.0f), vadd(vset1(1.0f), FN(vexp)(vsub(vset1(0.0f), x))));
}

/* 1 + erf(z), accurate relative to its own size on both sides. */
INL TGT V FN(v1perf)(V z)
{
    V t = vabs(z), s = vmul(z, z);
    /* |z| <= 0.927734375: erf(z) = z + z * P(z^2) */
    V r = vset1(-5.96761703e-4f);
    r = vfmadd(r, s, vset1(4.99119423e-3f));
    r = vfmadd(r, s, vset1(-2.67681349e-2f));
    r = vfmadd(r, s, vset1(1.12819925e-1f));
    r = vfmadd(r, s, vset1(-3.76125336e-1f));
    r = vfmadd(r, s, vset1(1.28379166e-1f));
    V small = vadd(vset1(1.0f), vfmadd(r, z, z));
    /* beyond: erfc(t) = exp(Q(t)) */
    V q = vfmadd(vset1(-1.72853470e-5f), t, vset1(3.83197126e-4f));
    V u = vfmadd(vset1(-3.88396438e-3f), t, vset1(2.42546219e-2f));
    q = vfmadd(q, s, u);
    q = vfmadd(q, t, vset1(-1.06777877e-1f));
    q = vfmadd(q, t, vset1(-6.34846687e-1f));
    q = vfmadd(q, t, vset1(-1.28717512e-1f));
    q = vfmadd(q, t, vsub(vset1(0.0f), t));
    V ec = FN(vexp)(q);
    V big = vblend_lt(z, vset1(0.0f), ec, vsub(vset1(2.0f), ec));
    return vblend_gt(t, vset1(0.927734375f), big, small);
}

/* VW floats from p[0..n) (n < VW), the rest `fill`. */
INL TGT V FN(vload_part)(const float *p, int64_t n, float fill)
{
    float buf[VW];
    for (int64_t i = 0; i < VW; i++)
        buf[i] = i < n ? p[i] : fill;
    return vloadu(buf);
}

INL TGT void FN(vstore_part)(float *p, V v, int64_t n)
{
    float buf[VW];
    vstoreu(buf, v);
    for (int64_t i = 0; i < n; i++)
        p[i] = buf[i];
}

/* One element-wise op on a vector (b unused by unary ops). */
INL TGT V FN(vmap)(ls_op op, V a, V b, V f)
{
    switch (op) {
    case LS_OP_RELU:
        /* a < 0 ? 0 : a, so NaN passes through */
        return vblend_lt(a, vset1(0.0f), vset1(0.0f), a);
    case LS_OP_SILU:
        /* x / (1 + exp(-x)): one rounding fewer than x * sigmoid(x) */
        return vdiv(a, vadd(vset1(1.0f), FN(vexp)(vsub(vset1(0.0f), a))));
    case LS_OP_SIGMOID:
        return FN(vsigmoid)(a);
    case LS_OP_GELU:
        return vmul(vmul(vset1(0.5f), a), FN(v1perf)(vmul(a, vset1(0.70710678118654752f))));
    case LS_OP_SCALE:
        return vmul(a, f);
    case LS_OP_DIV_SCALAR:
        return vdiv(a, f);
    case LS_OP_ADD_SCALAR:
        return vadd(a, f);
    case LS_OP_ADD:
        return vadd(a, b);
    case LS_OP_SUB:
        return vsub(a, b);
    case LS_OP_MUL:
        return vmul(a, b);
    case LS_OP_DIV:
        return vdiv(a, b);
    default:
        return a;
    }
}

/* The op switch sits outside the loop: one instantiation per op, so the
 * compiler keeps each loop free of the branch. */
#define MAP_LOOP(OP)                                                                               \
    do {                                                                                           \
        int64_t i = 0;                                                                             \
        for (; i + VW <= n; i += VW)                                                               \
            vstoreu(o + i, FN(vmap)(OP, vloadu(a + i), b ? vloadu(b + i) : f, f));                 \
        if (i < n)                                                                                 \
            FN(vstore_part)(o + i,                                                                 \
                            FN(vmap)(OP, FN(vload_part)(a + i, n - i, 0.0f),                        \
                                     b ? FN(vload_part)(b + i, n - i, 1.0f) : f, f),               \
                            n - i);                                                                \
    } while (0)

TGT static void FN(map_row)(ls_op op, float fs, const float *a, const float *b, float *o,
                            int64_t n)
{
    const V f = vset1(fs);
    switch (op) {
    case LS_OP_RELU: MAP_LOOP(LS_OP_RELU); break;
    case LS_OP_SILU: MAP_LOOP(LS_OP_SILU); break;
    case LS_OP_SIGMOID: MAP_LOOP(LS_OP_SIGMOID); break;
    case LS_OP_GELU: MAP_LOOP(LS_OP_GELU); break;
    case LS_OP_SCALE: MAP_LOOP(LS_OP_SCALE); break;
    case LS_OP_DIV_SCALAR: MAP_LOOP(LS_OP_DIV_SCALAR); break;
    case LS_OP_ADD_SCALAR: MAP_LOOP(LS_OP_ADD_SCALAR); break;
    case LS_OP_ADD: MAP_LOOP(LS_OP_ADD); break;
    case LS_OP_SUB: MAP_LOOP(LS_OP_SUB); break;
    case LS_OP_MUL: MAP_LOOP(LS_OP_MUL); break;
    case LS_OP_DIV: MAP_LOOP(LS_OP_DIV); break;
    default: break;
    }
}
#undef MAP_LOOP

/* a * sigmoid(b) as a / (1 + exp(-b)) */
INL TGT V FN(vglu)(V a, V b)
{
    return vdiv(a, vadd(vset1(1.0f), FN(vexp)(vsub(vset1(0.0f), b))));
}

TGT static void FN(glu_row)(const float *a, const float *b, float *o, int64_t n)
{
    int64_t i = 0;
    for (; i + VW <= n; i += VW)
        vstoreu(o + i, FN(vglu)(vloadu(a + i), vloadu(b + i)));
    if (i < n)
        FN(vstore_part)(o + i,
                        FN(vglu)(FN(vload_part)(a + i, n - i, 0.0f),
                                 FN(vload_part)(b + i, n - i, 0.0f)),
                        n - i);
}

/* Softmax of one row: the max in float (x - max rounds as the reference's
 * does), exp and sum in float, one division per element.  A NaN makes
 * the sum NaN, so the row is NaN as in the reference; an all -inf row
 * gives -inf - -inf = NaN too. */
TGT static void FN(softmax_row)(const float *x, float *o, int64_t n)
{
    V m = vset1(-INFINITY);
    int64_t i = 0;
    for (; i + VW <= n; i += VW)
        m = vmax(vloadu(x + i), m);
    float mx = vhmax(m);
    for (; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    /* a NaN lane is dropped from the max but not from exp(x - max) */
    const V vm = vset1(mx);
    V s = vset1(0.0f);
    for (i = 0; i + VW <= n; i += VW) {
        V e = FN(vexp)(vsub(vloadu(x + i), vm));
        vstoreu(o + i, e);
        s = vadd(s, e);
    }
    float sum = vhsum(s);
    if (i < n) {
        float buf[VW];
        vstoreu(buf, FN(vexp)(vsub(FN(vload_part)(x + i, n - i, 0.0f), vm)));
        for (int64_t k = 0; k < n - i; k++) {
            o[i + k] = buf[k];
            sum += buf[k];
        }
    }
    const V vs = vset1(sum);
    for (i = 0; i + VW <= n; i += VW)
        vstoreu(o + i, vdiv(vloadu(o + i), vs));
    for (; i < n; i++)
        o[i] = o[i] / sum;
}

/* Sum of a row, in float lanes. */
INL TGT float FN(row_sum)(const float *x, int64_t n, float shift, bool square)
{
    V s0 = vset1(0.0f), s1 = vset1(0.0f);
    const V c = vset1(shift);
    int64_t i = 0;
    for (; i + 2 * VW <= n; i += 2 * VW) {
        V a = vsub(vloadu(x + i), c), b = vsub(vloadu(x + i + VW), c);
        s0 = square ? vfmadd(a, a, s0) : vadd(s0, a);
        s1 = square ? vfmadd(b, b, s1) : vadd(s1, b);
    }
    for (; i + VW <= n; i += VW) {
        V a = vsub(vloadu(x + i), c);
        s0 = square ? vfmadd(a, a, s0) : vadd(s0, a);
    }
    float s = vhsum(vadd(s0, s1));
    for (; i < n; i++) {
        float d = x[i] - shift;
        s += square ? d * d : d;
    }
    return s;
}

/* (x - mean) / sqrt(var + eps) * w + b over one row (w, b may be NULL,
 * contiguous).  Two passes, as the reference; the moments in float. */
TGT static void FN(layer_norm_row)(const float *x, const float *w, const float *b, float eps,
                                   float *o, int64_t n)
{
    const float mean = FN(row_sum)(x, n, 0.0f, false) / (float)n;
    const float var = FN(row_sum)(x, n, mean, true) / (float)n;
    const float inv = (float)(1.0 / sqrt((double)var + (double)eps));
    const V vm = vset1(mean), vi = vset1(inv);
    int64_t i = 0;
    for (; i + VW <= n; i += VW) {
        V y = vmul(vsub(vloadu(x + i), vm), vi);
        if (w)
            y = vmul(y, vloadu(w + i));
        if (b)
            y = vadd(y, vloadu(b + i));
        vstoreu(o + i, y);
    }
    for (; i < n; i++) {
        float y = (x[i] - mean) * inv;
        if (w)
            y *= w[i];
        if (b)
            y += b[i];
        o[i] = y;
    }
}

/* Mean and inverse deviation of a block, two passes as layer_norm. */
TGT static void FN(moments)(const float *x, int64_t n, float eps, float *mean, float *inv)
{
    const float m = FN(row_sum)(x, n, 0.0f, false) / (float)n;
    const float var = FN(row_sum)(x, n, m, true) / (float)n;
    *mean = m;
    *inv = (float)(1.0 / sqrt((double)var + (double)eps));
}

/* o = (x - m) * s + t: one channel of an eval batch norm. */
TGT static void FN(affine_row)(const float *x, float m, float s, float t, float *o, int64_t n)
{
    const V vm = vset1(m), vs = vset1(s), vt = vset1(t);
    int64_t i = 0;
    for (; i + VW <= n; i += VW)
        vstoreu(o + i, vfmadd(vsub(vloadu(x + i), vm), vs, vt));
    for (; i < n; i++)
        o[i] = (x[i] - m) * s + t;
}

/* o[i] = bias + sum_t w[t] * col[t*ldcol + i]: one output row of a
 * convolution with few taps (an explicit im2col in col), written once. */
TGT static void FN(taps_row)(const float *w, int64_t kt, const float *col, int64_t ldcol,
                             float bias, float *o, int64_t n)
{
    int64_t i = 0;
    for (; i + VW <= n; i += VW) {
        V acc = vset1(bias);
        for (int64_t t = 0; t < kt; t++)
            acc = vfmadd(vset1(w[t]), vloadu(col + t * ldcol + i), acc);
        vstoreu(o + i, acc);
    }
    for (; i < n; i++) {
        float acc = bias;
        for (int64_t t = 0; t < kt; t++)
            acc += w[t] * col[t * ldcol + i];
        o[i] = acc;
    }
}

/* o += a * x (a tap of a depthwise convolution) */
TGT static void FN(axpy_row)(float a, const float *x, float *o, int64_t n)
{
    const V va = vset1(a);
    int64_t i = 0;
    for (; i + VW <= n; i += VW)
        vstoreu(o + i, vfmadd(va, vloadu(x + i), vloadu(o + i)));
    for (; i < n; i++)
        o[i] += a * x[i];
}
