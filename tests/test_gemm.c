/*
 * test_gemm.c - the prompt GEMMs (the integer one for quantized weights,
 * the float one for F32/F16/BF16), the activation quantizer and the
 * thread pool that runs them:
 *  - a row's results do not depend on the other rows of the product: the
 *    same token in products of 9, 17, 40 and 256 tokens, at another
 *    position, with 1 or 3 threads, gives the same bits, for every type;
 *  - ll_matmul_row_group keeps its meaning: up to that many tokens, each
 *    gets exactly what it gets alone;
 *  - every kernel table (scalar, AVX2, AVX-512 BW, AVX-512 VNNI, as the
 *    CPU has them) gives the same bits;
 *  - Q4_0 repacked 16 rows at a time: rows come back out unchanged, and
 *    one token, several and the prompt GEMM give the same bits;
 *  - the integer GEMM against dequantized weights times the quantized
 *    activations, in double: within float rounding;
 *  - the activations are rounded as ggml does on x86: x * (127 / amax) to
 *    nearest even, scale half(amax / 127) (32-blocks) or 1 / (127 / amax)
 *    (256-blocks), in every table;
 *  - ll_pool_for runs each chunk once, on a slot below the pool's size.
 */
#include "kernels/matmul.h"
#include "kernels/quant.h"
#include "kernels/threadpool.h"
#include "format/tensor_types.h"
#include "test_matmul_tables.h"
#include "test_util.h"

#include <stdatomic.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t next_u64(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static float rnd(void) { return (float)((double)(next_u64() >> 11) * 0x1p-52 - 1.0); } /* [-1, 1) */

static const char *tname(uint32_t t) { return t == LL_T_Q4_0_R16 ? "Q4_0 repacked" : ll_type_info_of(t)->name; }

/* the file type a matrix of type t is made from (Q4_0 for the repacked one) */
static uint32_t stored(uint32_t t) { return t == LL_T_Q4_0_R16 ? LL_T_Q4_0 : t; }

/* ---- the tables this CPU runs ---- */

static const ll_matmul_kernels *tables[4];
static size_t n_tables;

static void find_tables(void) { n_tables = tu_matmul_tables(tables); }

/* ---- matrices ---- */

enum { ROWS = 53, COLS = 512, TMAX = 256 }; /* 53: a last group of 5 rows, a last chunk of 21 */

static const uint32_t types[] = {LL_T_Q8_0, LL_T_Q4_0, LL_T_Q4_0_R16, LL_T_Q4_1, LL_T_Q5_0, LL_T_Q5_1,
                                 LL_T_Q4_K, LL_T_Q5_K, LL_T_Q6_K,     LL_T_F32,  LL_T_F16,  LL_T_BF16};

/* Weights as the quantizer writes them; Q8_0 also gets raw bytes (-128
 * included: a file may hold any byte). */
static void make_matrix(uint32_t type, uint8_t *w, size_t rb) {
    static float row[COLS];
    for (size_t i = 0; i < ROWS; i++) {
        for (size_t k = 0; k < COLS; k++) row[k] = 0.05f * rnd() + (i % 7 == 3 ? 0.02f : 0.0f);
        ll_quantize_row(stored(type), row, w + i * rb, COLS);
        if (type == LL_T_Q8_0 && i % 4 == 1)
            for (size_t b = 0; b < COLS / 32; b++)
                for (size_t k = 0; k < 32; k++) w[i * rb + 34 * b + 2 + k] = (uint8_t)next_u64();
    }
}

static void make_tokens(float *x, size_t T) {
    for (size_t t = 0; t < T; t++)
        for (size_t k = 0; k < COLS; k++) {
            float v = rnd();
            /* some blocks all zero, some with one large value */
            x[t * COLS + k] = t % 11 == 5 && k < 64 ? 0.0f : (k % 97 == 0 ? 8.0f * v : v);
        }
}

static ll_pool *pool1, *pool3;
static float *scratch; /* for 3 threads */

/* The product of the ROWS x COLS matrix w (in stored(type): a repacked
 * type is repacked here) with T tokens. */
static void run(const ll_matmul_kernels *k, ll_pool *pool, uint32_t type, const uint8_t *w, size_t rb, const float *x,
                size_t T, float *y) {
    static uint8_t packed[(ROWS + 15) / 16 * 16 * COLS + 64] __attribute__((aligned(64)));
    ll_matrix m = {stored(type), w, ROWS, COLS, rb};
    if (type != stored(type)) {
        CHECK(ll_repack_bytes(&m) <= sizeof packed, "the repacked matrix fits");
        ll_repack(&m, packed);
    }
    ll_matmul(pool, k, &m, x, T, y, scratch);
}

/* ---- a row's result is its own ---- */

static void rows_independent(void) {
    static uint8_t w[ROWS * COLS * 4];
    static float x[TMAX * COLS], xs[TMAX * COLS], full[TMAX * ROWS], y[TMAX * ROWS], ys[TMAX * ROWS];
    const size_t Ts[] = {9, 17, 40, 150, 256}; /* 150: groups of 64 tokens in one job, the last one partial */
    make_tokens(x, TMAX);
    for (size_t ti = 0; ti < LL_ARRAY_LEN(types); ti++) {
        uint32_t type = types[ti];
        size_t rb = ll_row_bytes(stored(type), COLS);
        make_matrix(type, w, rb);
        for (size_t k = 0; k < n_tables; k++) {
            run(tables[k], pool3, type, w, rb, x, TMAX, full);
            for (size_t si = 0; si < LL_ARRAY_LEN(Ts); si++) {
                size_t T = Ts[si];
                /* the first T tokens, on one thread */
                run(tables[k], pool1, type, w, rb, x, T, y);
                CHECK(memcmp(y, full, T * ROWS * sizeof(float)) == 0,
                      "%s %s: the first %zu tokens of 256 alone (1 thread) differ", tables[k]->name, tname(type), T);
                /* tokens 256 - T .. 255, shifted to the front: other tile positions */
                memcpy(xs, x + (TMAX - T) * COLS, T * COLS * sizeof(float));
                run(tables[k], pool3, type, w, rb, xs, T, ys);
                CHECK(memcmp(ys, full + (TMAX - T) * ROWS, T * ROWS * sizeof(float)) == 0,
                      "%s %s: the last %zu tokens of 256 at positions 0.. differ", tables[k]->name, tname(type), T);
            }
        }
    }
}

/* ---- up to ll_matmul_row_group tokens: each what it gets alone ---- */

static void row_group_meaning(void) {
    static uint8_t w[ROWS * COLS * 4];
    static float x[8 * COLS], y[8 * ROWS], one[ROWS];
    make_tokens(x, 8);
    for (size_t ti = 0; ti < LL_ARRAY_LEN(types); ti++) {
        uint32_t type = types[ti];
        size_t rb = ll_row_bytes(stored(type), COLS);
        make_matrix(type, w, rb);
        ll_matrix m = {type, w, ROWS, COLS, rb}; /* the group does not look at the data */
        for (size_t k = 0; k < n_tables; k++) {
            size_t g = ll_matmul_row_group(pool3, tables[k], &m);
            CHECK(g >= 1 && g <= 8, "%s %s: row group %zu is not in [1, 8]", tables[k]->name, tname(type), g);
            run(tables[k], pool3, type, w, rb, x, g, y);
            for (size_t t = 0; t < g; t++) {
                run(tables[k], pool1, type, w, rb, x + t * COLS, 1, one);
                CHECK(memcmp(one, y + t * ROWS, sizeof one) == 0, "%s %s: token %zu of %zu differs from alone",
                      tables[k]->name, tname(type), t, g);
            }
        }
    }
}

/* ---- every table, the same bits ---- */

static void tables_agree(void) {
    static uint8_t w[ROWS * COLS * 4];
    static float x[40 * COLS], ref[40 * ROWS], y[40 * ROWS];
    make_tokens(x, 40);
    for (size_t ti = 0; ti < LL_ARRAY_LEN(types); ti++) {
        uint32_t type = types[ti];
        size_t rb = ll_row_bytes(stored(type), COLS);
        make_matrix(type, w, rb);
        run(&ll_matmul_scalar, pool3, type, w, rb, x, 40, ref);
        for (size_t k = 1; k < n_tables; k++) {
            run(tables[k], pool3, type, w, rb, x, 40, y);
            size_t bad = 0;
            for (size_t i = 0; i < 40 * ROWS; i++) bad += memcmp(&y[i], &ref[i], sizeof(float)) != 0;
            CHECK(bad == 0, "%s %s: %zu of %d outputs differ from scalar's bits", tables[k]->name, tname(type), bad,
                  40 * ROWS);
        }
    }
}

/* ---- against dequantize + multiply in double ---- */

static void against_reference(void) {
    static uint8_t w[ROWS * COLS * 4];
    static float x[17 * COLS], y[17 * ROWS], wf[ROWS * COLS], xq[17 * COLS];
    static int8_t q[COLS];
    static float d[COLS / 32];
    static int16_t sums[COLS / 16];
    make_tokens(x, 17);
    for (size_t ti = 0; ti < LL_ARRAY_LEN(types); ti++) {
        uint32_t type = types[ti];
        size_t rb = ll_row_bytes(stored(type), COLS), block = ll_qvec_block(stored(type));
        make_matrix(type, w, rb);
        for (size_t i = 0; i < ROWS; i++) ll_dequantize_row_ref(stored(type), w + i * rb, wf + i * COLS, COLS);
        /* the activations as the GEMM sees them (ggml's blocks and
         * rounding); the float GEMM multiplies them as they are */
        for (size_t t = 0; t < 17 && block; t++) {
            ll_qvec v = {q, d, sums, block, NULL, NULL};
            ll_matmul_scalar.quantize_x(x + t * COLS, COLS, &v);
            for (size_t k = 0; k < COLS; k++) xq[t * COLS + k] = (float)q[k] * d[k / block];
        }
        const float *xa = block ? xq : x;
        for (size_t k = 0; k < n_tables; k++) {
            run(tables[k], pool3, type, w, rb, x, 17, y);
            double worst = 0;
            for (size_t t = 0; t < 17; t++)
                for (size_t i = 0; i < ROWS; i++) {
                    double s = 0, mag = 0;
                    for (size_t c = 0; c < COLS; c++) {
                        double p = (double)wf[i * COLS + c] * xa[t * COLS + c];
                        s += p;
                        mag += fabs(p);
                    }
                    double e = fabs(y[t * ROWS + i] - s) / (mag > 0 ? mag : 1);
                    worst = e > worst ? e : worst;
                }
            /* float rounding of 16 units' (or 32 values') products and sums */
            CHECK(worst <= 2e-6, "%s %s: worst error %.3g of sum |w x|, allowed 2e-6", tables[k]->name, tname(type),
                  worst);
        }
    }
}

/* ---- the activation quantizer ---- */

static float half_round(float f) { return ll_fp16_to_fp32(ll_fp32_to_fp16(f)); }

static void activation_rounding(void) {
    enum { N = 1024 };
    static float x[N];
    static int8_t q[N];
    static float d[N / 32];
    static int16_t sums[N / 16];
    size_t differs = 0; /* blocks where 1 / (amax / 127) would round a value otherwise */
    for (int rep = 0; rep < 40; rep++) {
        for (size_t k = 0; k < N; k++) x[k] = rnd() * (float)(1 + rep);
        /* crafted blocks: a largest value whose two inverse scales differ,
         * and a value that lands on different sides of a half between them */
        for (size_t b = 0; b < N / 32; b++) {
            float amax = 1.0f + (float)(next_u64() >> 40) * 0x1p-24f;
            float id = 127.0f / amax, id_old = 1.0f / (amax / 127.0f);
            if (id == id_old) continue;
            float v = (float)(b % 50 + 0.5) / id;
            for (int step = 0; step < 64 && lrintf(v * id) == lrintf(v * id_old); step++)
                v = nextafterf(v, step % 2 ? 0.0f : 2.0f);
            x[32 * b] = amax;
            x[32 * b + 1 + b % 7] = v <= amax ? v : 0.5f;
        }
        /* 32 blocks of 32, and 29 (the SIMD tables take 16 at a time) */
        for (size_t bi = 0; bi < 4; bi++) {
            size_t B = bi % 2 ? LL_QX_256 : LL_QX_32, nn = bi < 2 ? N : N - 96;
            for (size_t tk = 0; tk < n_tables; tk++) {
                ll_qvec v = {q, d, sums, B, NULL, NULL};
                tables[tk]->quantize_x(x, nn, &v);
                for (size_t b = 0; b < nn / B; b++) {
                    float amax = 0;
                    for (size_t k = 0; k < B; k++) amax = fmaxf(amax, fabsf(x[b * B + k]));
                    float id = 127.0f / amax, want_d = B == LL_QX_32 ? half_round(amax / 127.0f) : 1.0f / id;
                    CHECK(d[b] == want_d, "%s block %zu of %zu: scale %.9g, want %.9g", tables[tk]->name, b, B,
                          (double)d[b], (double)want_d);
                    int bad = 0, other = 0;
                    for (size_t k = 0; k < B; k++) {
                        bad += q[b * B + k] != (int8_t)lrintf(x[b * B + k] * id);
                        other += lrintf(x[b * B + k] * id) != lrintf(x[b * B + k] * (1.0f / (amax / 127.0f)));
                    }
                    CHECK(bad == 0, "%s block %zu of %zu: %d values not x * (127 / amax) rounded to nearest even",
                          tables[tk]->name, b, B, bad);
                    if (tk == 0 && other) differs++;
                    for (size_t g = b * B / 16; g < (b + 1) * B / 16; g++) {
                        int want = 0;
                        for (size_t k = 0; k < 16; k++) want += q[16 * g + k];
                        CHECK(sums[g] == want, "%s block %zu of %zu: group sum %d, want %d", tables[tk]->name, b, B,
                              sums[g], want);
                    }
                }
            }
        }
    }
    /* the two formulas do differ on inputs like these: the test sees it */
    CHECK(differs > 0, "no block where 127 / amax and 1 / (amax / 127) round differently: the test proves nothing");
    printf("activation rounding: %zu blocks where 1 / (amax / 127) would have rounded a value differently\n", differs);
    /* an all-zero block: scale 0, values 0 */
    memset(x, 0, sizeof x);
    ll_qvec v = {q, d, sums, LL_QX_32, NULL, NULL};
    for (size_t tk = 0; tk < n_tables; tk++) {
        tables[tk]->quantize_x(x, N, &v);
        CHECK(d[0] == 0.0f && q[0] == 0 && q[31] == 0, "%s: a zero block quantizes to zeros", tables[tk]->name);
    }
}

/* ---- the pool ---- */

typedef struct {
    atomic_int runs[1000];
    atomic_int bad_slot;
    int size;
} pool_check;

static void count_chunk(void *ctx, size_t chunk, int slot) {
    pool_check *c = ctx;
    atomic_fetch_add(&c->runs[chunk], 1);
    if (slot < 0 || slot >= c->size) atomic_fetch_add(&c->bad_slot, 1);
}

static void pool_chunks(void) {
    static pool_check c;
    const size_t counts[] = {0, 1, 2, 7, 1000};
    const int limits[] = {0, 1, 2, 3, 9};
    for (int rep = 0; rep < 200; rep++)
        for (size_t ci = 0; ci < LL_ARRAY_LEN(counts); ci++) {
            size_t n = counts[ci];
            int lim = limits[(size_t)rep % LL_ARRAY_LEN(limits)];
            for (size_t i = 0; i < n; i++) atomic_store(&c.runs[i], 0);
            atomic_store(&c.bad_slot, 0);
            c.size = lim == 1 ? 1 : 3; /* one thread: the caller's slot 0 */
            ll_pool_for(pool3, n, lim, count_chunk, &c);
            int wrong = 0;
            for (size_t i = 0; i < n; i++) wrong += atomic_load(&c.runs[i]) != 1;
            CHECK(wrong == 0, "ll_pool_for(%zu chunks, %d threads): %d chunks not run exactly once", n, lim, wrong);
            CHECK(atomic_load(&c.bad_slot) == 0, "ll_pool_for(%zu chunks, %d threads): a slot out of range", n, lim);
        }
}

/* matvec_qn (1 to 8 tokens at once, Q8_0) gives each token the
 * bits matvec_q gives it alone, in every table that has it, also for rows
 * whose block count is odd (a block left over after the pairs: the
 * 96-wide rows of a small model) and for raw Q8_0 bytes with -128; and
 * matvec_q of a token whose lanes are laid out (ll_qvec_lanes) gives what
 * it gives without them. */
static void several_tokens_odd_blocks(void) {
    static const size_t widths[] = {32, 96, 160, 64, 544};
    enum { R = 5, T = 8, NMAX = 544 };
    static uint8_t w[R * (NMAX / 32) * 34];
    static float x[T * NMAX], y1[T * R], yn[T * R];
    static int8_t q[T][NMAX];
    static float d[T][NMAX / 32];
    static int16_t sums[T][NMAX / 16];
    static int32_t lane_c[T][NMAX / 4];
    static float lane_d[T][NMAX / 4];
    for (size_t wi = 0; wi < LL_ARRAY_LEN(widths); wi++) {
        size_t n = widths[wi];
        {
            uint32_t type = LL_T_Q8_0;
            size_t rb = ll_row_bytes(type, n);
            static float row[NMAX];
            for (size_t i = 0; i < R; i++) {
                for (size_t k = 0; k < n; k++) row[k] = 0.05f * rnd();
                ll_quantize_row(type, row, w + i * rb, n);
                if (type == LL_T_Q8_0 && i % 2 == 1)
                    for (size_t b = 0; b < n / 32; b++)
                        for (size_t k = 0; k < 32; k++) w[i * rb + 34 * b + 2 + k] = (uint8_t)next_u64();
            }
            for (size_t k = 0; k < T * n; k++) x[k] = rnd();
            for (size_t tk = 0; tk < n_tables; tk++) {
                const ll_matmul_kernels *k = tables[tk];
                if (!k->matvec_qn || !k->matvec_q) continue;
                ll_qvec v[T];
                for (size_t t = 0; t < T; t++) {
                    v[t] = (ll_qvec){q[t], d[t], sums[t], 32, lane_c[t], lane_d[t]};
                    k->quantize_x(x + t * n, n, &v[t]);
                    ll_qvec plain = v[t]; /* without lanes: the table's one-token dot products */
                    plain.lane_c = NULL;
                    plain.lane_d = NULL;
                    k->matvec_q(type, w, rb, n, &plain, y1 + t * R, 0, R);
                    if (k->prepare_qn) k->prepare_qn(type, n, &v[t]);
                }
                for (size_t nt = 1; nt <= T; nt++) {
                    memset(yn, 0, sizeof yn);
                    k->matvec_qn(type, w, rb, n, v, nt, yn, R, 0, R);
                    CHECK(memcmp(yn, y1, nt * R * sizeof(float)) == 0,
                          "%s %s, %zu columns, %zu tokens: matvec_qn equals matvec_q per token", k->name, tname(type),
                          n, nt);
                    if (nt > 1) continue;
                    /* one token with its lanes laid out (the VNNI table's path) */
                    memset(yn, 0, sizeof yn);
                    k->matvec_q(type, w, rb, n, v, yn, 0, R);
                    CHECK(memcmp(yn, y1, R * sizeof(float)) == 0,
                          "%s %s, %zu columns: matvec_q with lanes equals it without", k->name, tname(type), n);
                }
            }
        }
    }
}

/* One token of Q8_0 in ggml's order (matmul.h): every table gives the bits
 * of the formula written out here - 8 lanes, per block lane j =
 * fma(d_w * d_x, sum of products 4j..4j+3, lane j), then hsum_float_8's
 * pairing - for even and odd block counts, raw bytes with -128 included,
 * and a plain sum in another order would differ (checked, so the test
 * would notice a table that drifted). */
static void q8_ggml_order(void) {
    static const size_t widths[] = {32, 96, 160, 768};
    enum { R = 7, NMAX = 768 };
    static uint8_t w[R * (NMAX / 32) * 34];
    static float x[NMAX], row[NMAX], y[R];
    static int8_t q[NMAX];
    static float d[NMAX / 32];
    static int16_t sums[NMAX / 16];
    size_t other_order_differs = 0;
    for (size_t wi = 0; wi < LL_ARRAY_LEN(widths); wi++) {
        size_t n = widths[wi], rb = ll_row_bytes(LL_T_Q8_0, n);
        for (size_t i = 0; i < R; i++) {
            for (size_t k = 0; k < n; k++) row[k] = 0.07f * rnd();
            ll_quantize_row(LL_T_Q8_0, row, w + i * rb, n);
            if (i % 3 == 2)
                for (size_t b = 0; b < n / 32; b++)
                    for (size_t k = 0; k < 32; k++) w[i * rb + 34 * b + 2 + k] = (uint8_t)next_u64();
        }
        for (size_t k = 0; k < n; k++) x[k] = rnd();
        ll_qvec v = {q, d, sums, LL_QX_32, NULL, NULL};
        ll_matmul_scalar.quantize_x(x, n, &v);
        float want[R];
        for (size_t i = 0; i < R; i++) {
            const uint8_t *r = w + i * rb;
            float acc[8] = {0}, plain = 0.0f;
            for (size_t b = 0; b < n / 32; b++) {
                float dd = ll_fp16_to_fp32((uint16_t)(r[34 * b] | r[34 * b + 1] << 8)) * d[b];
                for (int j = 0; j < 8; j++) {
                    int p = 0;
                    for (int k = 4 * j; k < 4 * j + 4; k++) p += (int8_t)r[34 * b + 2 + k] * q[32 * b + k];
                    acc[j] = fmaf(dd, (float)p, acc[j]);
                    plain += dd * (float)p;
                }
            }
            want[i] = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
            other_order_differs += memcmp(&plain, &want[i], sizeof plain) != 0;
        }
        for (size_t tk = 0; tk < n_tables; tk++) {
            if (!tables[tk]->matvec_q) continue;
            memset(y, 0, sizeof y);
            tables[tk]->matvec_q(LL_T_Q8_0, w, rb, n, &v, y, 0, R);
            CHECK(memcmp(y, want, sizeof y) == 0, "%s, %zu columns: one Q8_0 token is not ggml's order",
                  tables[tk]->name, n);
        }
    }
    CHECK(other_order_differs > 0, "no row where another order of the float steps differs: the test proves nothing");
}

/* One token of every quantized type with a row-by-row kernel (Q4_0 is
 * repacked: q4_0_repacked) in every table: the scalar table's
 * bits (the orders matmul.h writes down), even and odd block counts (one,
 * two and three 256-blocks for the K-quants). */
static void one_token_tables_agree(void) {
    static const uint32_t q32[] = {LL_T_Q8_0, LL_T_Q4_1, LL_T_Q5_0, LL_T_Q5_1, LL_T_Q4_K, LL_T_Q5_K, LL_T_Q6_K};
    static const size_t widths[] = {32, 96, 160, 256, 512, 768};
    enum { R = 9, NMAX = 768 };
    static uint8_t w[R * (NMAX / 32) * 34];
    static float x[NMAX], row[NMAX], ref[R], y[R];
    static int8_t q[NMAX];
    static float d[NMAX / 32];
    static int16_t sums[NMAX / 16];
    for (size_t ti = 0; ti < LL_ARRAY_LEN(q32); ti++)
        for (size_t wi = 0; wi < LL_ARRAY_LEN(widths); wi++) {
            uint32_t type = q32[ti];
            size_t n = widths[wi], rb = ll_row_bytes(type, n), block = ll_qvec_block(type);
            if (n % block) continue;
            for (size_t i = 0; i < R; i++) {
                for (size_t k = 0; k < n; k++) row[k] = 0.05f * rnd();
                ll_quantize_row(type, row, w + i * rb, n);
            }
            for (size_t k = 0; k < n; k++) x[k] = rnd();
            ll_qvec v = {q, d, sums, block, NULL, NULL};
            ll_matmul_scalar.quantize_x(x, n, &v);
            ll_matmul_scalar.matvec_q(type, w, rb, n, &v, ref, 0, R);
            for (size_t tk = 1; tk < n_tables; tk++) {
                if (!tables[tk]->matvec_q) continue;
                memset(y, 0, sizeof y);
                tables[tk]->matvec_q(type, w, rb, n, &v, y, 0, R);
                CHECK(memcmp(y, ref, sizeof y) == 0,
                      "%s %s, %zu columns: one token differs from the scalar table's bits", tables[tk]->name,
                      tname(type), n);
            }
        }
}

/* One token of F32, F16 and BF16 on float activations in every table: the
 * scalar table's bits (matmul.h), for widths with and without whole groups
 * of 64 and 16 values. */
static void float_matvec_tables_agree(void) {
    static const uint32_t ft[] = {LL_T_F32, LL_T_F16, LL_T_BF16};
    static const size_t widths[] = {16, 40, 64, 100, 200, 768};
    enum { R = 7, NMAX = 768 };
    static uint8_t w[R * NMAX * 4];
    static float x[NMAX], row[NMAX], ref[R], y[R];
    for (size_t ti = 0; ti < LL_ARRAY_LEN(ft); ti++)
        for (size_t wi = 0; wi < LL_ARRAY_LEN(widths); wi++) {
            uint32_t type = ft[ti];
            size_t n = widths[wi], rb = ll_row_bytes(type, n);
            for (size_t i = 0; i < R; i++) {
                for (size_t k = 0; k < n; k++) row[k] = rnd();
                ll_quantize_row(type, row, w + i * rb, n);
            }
            for (size_t k = 0; k < n; k++) x[k] = rnd();
            ll_matmul_scalar.matvec(type, w, rb, n, x, ref, 0, R);
            for (size_t tk = 1; tk < n_tables; tk++) {
                memset(y, 0, sizeof y);
                tables[tk]->matvec(type, w, rb, n, x, y, 0, R);
                CHECK(memcmp(y, ref, sizeof y) == 0,
                      "%s %s, %zu columns: one token differs from the scalar table's bits", tables[tk]->name,
                      tname(type), n);
            }
        }
}

/* Q4_0 repacked 16 rows at a time (matmul.h), for widths with one, an
 * odd and an even number of blocks and row counts short of, equal to and
 * past a group: each row comes back out as it went in; in every table,
 * 1 to 8 tokens at once give each token the bits it gets alone, which are
 * the bits of the formula written out here (the integer GEMM's), and so
 * do 20 tokens (a prompt: matvec_r16 over 8, 8 and 4) and the integer
 * GEMM itself (the plain Q4_0 matrix, which never takes the one-token
 * kernels). The 8192-wide rows make chunks of 16 rows, so 53 rows are
 * split between threads, chunks starting past row 0. */
static void q4_0_repacked(void) {
    static const size_t widths[] = {32, 96, 544, 8192}, row_counts[] = {5, 16, 37, 53};
    enum { RMAX = 53, NMAX = 8192, T = 20 };
    static uint8_t w[RMAX * NMAX], packed[(RMAX + 15) / 16 * 9 * NMAX] __attribute__((aligned(64)));
    static float x[T * NMAX], row[NMAX], back[NMAX], want[T * RMAX], y[T * RMAX], y1[RMAX], y2[T * RMAX], y3[T * RMAX];
    static int8_t q[NMAX];
    static float d[NMAX / 32];
    static int16_t sums[NMAX / 16];
    for (size_t wi = 0; wi < LL_ARRAY_LEN(widths); wi++)
        for (size_t ri = 0; ri < LL_ARRAY_LEN(row_counts); ri++) {
            size_t n = widths[wi], R = row_counts[ri], rb = ll_row_bytes(LL_T_Q4_0, n);
            if ((n == NMAX) != (R == RMAX)) continue; /* the widest rows with the most rows only */
            for (size_t i = 0; i < R; i++) {
                for (size_t k = 0; k < n; k++) row[k] = 0.05f * rnd() + (i % 5 == 2 ? 0.03f : 0.0f);
                ll_quantize_row(LL_T_Q4_0, row, w + i * rb, n);
            }
            for (size_t k = 0; k < T * n; k++) x[k] = rnd();
            ll_matrix plain = {LL_T_Q4_0, w, R, n, rb}, m = plain;
            CHECK(ll_repack_bytes(&m) <= sizeof packed && ll_repack_bytes(&m) % 64 == 0, "%zu x %zu: room", R, n);
            ll_repack(&m, packed);
            CHECK(m.type == LL_T_Q4_0_R16 && m.rows == R && m.cols == n, "%zu x %zu: repacked shape", R, n);
            size_t moved = 0;
            for (size_t i = 0; i < R; i++) {
                ll_dequantize_row_ref(LL_T_Q4_0, w + i * rb, row, n);
                ll_matrix_row(&m, i, back);
                moved += memcmp(row, back, n * sizeof(float)) != 0;
            }
            CHECK(moved == 0, "%zu x %zu: %zu rows come back out changed", R, n, moved);
            /* the formula, per row and token, block by block */
            for (size_t t = 0; t < T; t++) {
                ll_qvec v = {q, d, sums, LL_QX_32, NULL, NULL};
                ll_matmul_scalar.quantize_x(x + t * n, n, &v);
                for (size_t i = 0; i < R; i++) {
                    const uint8_t *r = w + i * rb;
                    float acc = 0.0f;
                    for (size_t b = 0; b < n / 32; b++) {
                        int32_t isum = 0;
                        for (size_t k = 0; k < 16; k++)
                            isum += ((r[18 * b + 2 + k] & 0xF) - 8) * q[32 * b + k] +
                                    ((r[18 * b + 2 + k] >> 4) - 8) * q[32 * b + 16 + k];
                        float dw = ll_fp16_to_fp32((uint16_t)(r[18 * b] | r[18 * b + 1] << 8));
                        acc = fmaf((float)isum * dw, d[b], acc);
                    }
                    want[t * R + i] = acc;
                }
            }
            for (size_t tk = 0; tk < n_tables; tk++) {
                const ll_matmul_kernels *k = tables[tk];
                for (size_t nt = 1; nt <= 8; nt++) {
                    ll_matmul(pool3, k, &m, x, nt, y, scratch);
                    CHECK(memcmp(y, want, nt * R * sizeof(float)) == 0,
                          "%s, %zu x %zu, %zu tokens: not the formula's bits", k->name, R, n, nt);
                }
                /* three products of one input in one job (a layer's Q, K and V),
                 * and a mixed pair, which goes one product at a time */
                for (size_t nt = 1; nt <= 8; nt += 3) {
                    const ll_matrix *ms[] = {&m, &m, &m}, *mixed[] = {&m, &plain};
                    float *const ys[] = {y, y2, y3};
                    ll_matmul_shared(pool3, k, ms, 3, x, nt, ys, scratch);
                    for (size_t i = 0; i < 3; i++)
                        CHECK(memcmp(ys[i], want, nt * R * sizeof(float)) == 0,
                              "%s, %zu x %zu, %zu tokens: shared product %zu differs", k->name, R, n, nt, i);
                    ll_matmul_shared(pool3, k, mixed, 2, x, 3, ys, scratch);
                    CHECK(memcmp(y, want, 3 * R * sizeof(float)) == 0 && memcmp(y2, want, 3 * R * sizeof(float)) == 0,
                          "%s, %zu x %zu: a mixed pair differs", k->name, R, n);
                }
                ll_matmul(pool1, k, &m, x + 7 * n, 1, y1, scratch);
                CHECK(memcmp(y1, want + 7 * R, R * sizeof(float)) == 0, "%s, %zu x %zu: token 7 alone differs", k->name,
                      R, n);
                ll_matmul(pool3, k, &m, x, T, y, scratch);
                CHECK(memcmp(y, want, T * R * sizeof(float)) == 0, "%s, %zu x %zu: %d tokens (a prompt) differ",
                      k->name, R, n, T);
                ll_matmul(pool3, k, &plain, x, 3, y, scratch);
                CHECK(memcmp(y, want, 3 * R * sizeof(float)) == 0,
                      "%s, %zu x %zu: the plain Q4_0 matrix (the integer GEMM) differs", k->name, R, n);
            }
        }
}

/* transpose16 moves each of 256 distinct values to its mirror place, with
 * row strides other than 16 on both sides. */
static void transposes(void) {
    static float src[16 * 21], dst[16 * 19];
    for (size_t i = 0; i < LL_ARRAY_LEN(src); i++) src[i] = (float)i;
    for (size_t k = 0; k < n_tables; k++) {
        if (!tables[k]->transpose16) continue;
        memset(dst, 0, sizeof dst);
        tables[k]->transpose16(src, 21, dst, 19);
        int wrong = 0;
        for (size_t i = 0; i < 16; i++)
            for (size_t j = 0; j < 16; j++) wrong += dst[j * 19 + i] != src[i * 21 + j];
        for (size_t j = 0; j < 16; j++)
            for (size_t i = 16; i < 19; i++) wrong += dst[j * 19 + i] != 0.0f; /* nothing past the tile */
        CHECK(wrong == 0, "%s: transpose16 misplaced %d values", tables[k]->name, wrong);
    }
}

int main(void) {
    find_tables();
    ll_error err;
    pool1 = ll_pool_new(1, &err);
    pool3 = ll_pool_new(3, &err);
    scratch = malloc(3 * ll_matmul_scratch_floats() * sizeof(float));
    CHECK(pool1 && pool3 && scratch, "pools and scratch");
    if (!pool1 || !pool3 || !scratch) return tu_finish("gemm");
    activation_rounding();
    pool_chunks();
    rows_independent();
    row_group_meaning();
    tables_agree();
    transposes();
    q8_ggml_order();
    one_token_tables_agree();
    q4_0_repacked();
    float_matvec_tables_agree();
    against_reference();
    several_tokens_odd_blocks();
    free(scratch);
    ll_pool_free(pool1);
    ll_pool_free(pool3);
    for (size_t k = 0; k < n_tables; k++) printf("%s ", tables[k]->name);
    printf("tables compared\n");
    return tu_finish("gemm");
}
