// conv2d_tiled: the convolution of conv2d.comp as an implicit GEMM with
// shared-memory tiles, for hardware GPUs. With k = (i, ky, kx) and
// p = (oy, ox), dst[n,o,p] = bias[o] + Σ_k w[o,k]·B[k,p], where B[k,p] is the
// input pixel under tap k of output pixel p (0 in the padding) and is never
// materialised: each 16-deep slice of w and of B is staged in shared memory
// and reused by the whole work group. Every output sums over k in ascending
// order, as conv2d.comp does.
//
// Split K: with ksplit > 1 the dispatch has N·ksplit work groups in z, and
// group (n, s) sums only k in [s·kper, (s+1)·kper), writing its partial sum
// (no bias) to dst = the partial buffer at [s][n][o][p]; conv_reduce.comp
// then adds bias and the partials in ascending s. Small images at batch 1
// have too few 64×64 tiles to fill a GPU (a 32×32, 128-channel layer is 32
// work groups); splitting K gives every multiprocessor work.
//
// The index arithmetic of a pixel (its row and column) is done once per
// invocation, and that of a tap (channel, ky, kx → an offset in the
// input) once per slice by 16 invocations into shared memory: integer
// division costs a GPU more than the 16 multiply-adds it would feed.
// bindings: 0 dst (or partials), 1 x, 2 w, 3 bias
// uniforms: xs (N, Ci, H, W), ds (N, Co, Ho, Wo), k, stride, pad (top,
// left), ksplit, kper (a multiple of 16)
// work group: 16 × 16; each invocation computes 4 output channels × 4
// pixels of a 64-channel × 64-pixel tile; dispatch (⌈Ho·Wo/64⌉, ⌈Co/64⌉,
// N·ksplit)
#version 430
layout(local_size_x = 16, local_size_y = 16) in;
layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer Wt { float w[]; };
layout(std430, binding = 3) readonly buffer B { float bias[]; };
uniform ivec4 xs;
uniform ivec4 ds;
uniform int k;
uniform int stride;
uniform ivec2 pad;
uniform int ksplit;
uniform int kper;
shared float As[16][65]; // [k][o], padded against bank conflicts
shared float Bs[16][64]; // [k][p]
shared ivec3 taps[16];   // per k of the slice: (input channel offset, ky, kx); ky = -1: past K
void main() {
    int tx = int(gl_LocalInvocationID.x), ty = int(gl_LocalInvocationID.y);
    int tid = ty * 16 + tx;
    int p0 = int(gl_WorkGroupID.x) * 64;
    int o0 = int(gl_WorkGroupID.y) * 64;
    int n = int(gl_WorkGroupID.z) / ksplit, s = int(gl_WorkGroupID.z) - n * ksplit;
    int P = ds.z * ds.w, Co = ds.y, Ci = xs.y, kk = k * k, K = Ci * kk;
    int kbeg = s * kper, kend = min(K, kbeg + kper);
    // This invocation's pixel for staging B: column pc of the tile, rows
    // kb0, kb0+4, kb0+8, kb0+12 of each slice.
    int pc = tid % 64, kb0 = tid / 64;
    int p = p0 + pc;
    int oy = p / ds.w, ox = p - (p / ds.w) * ds.w;
    int iy0 = oy * stride - pad.x, ix0 = ox * stride - pad.y;
    bool pin = p < P;
    int xbase = n * Ci * xs.z * xs.w;
    float acc[4][4];
    for (int u = 0; u < 4; u++)
        for (int v = 0; v < 4; v++) acc[u][v] = 0.0;
    for (int k0 = kbeg; k0 < kend; k0 += 16) {
        if (tid < 16) {
            int kidx = k0 + tid;
            if (kidx < kend) {
                int i = kidx / kk;
                int rr = kidx - i * kk;
                int ky = rr / k;
                taps[tid] = ivec3(i * xs.z * xs.w, ky, rr - ky * k);
            } else {
                taps[tid] = ivec3(0, -1, 0);
            }
        }
        for (int r = 0; r < 4; r++) {
            int e = tid + r * 256; // 0 … 1023
            // Weights: 16 consecutive k of one output channel per 16 threads.
            int ka = e % 16, c = e / 16;
            int o = o0 + c, kidx = k0 + ka;
            As[ka][c] = (o < Co && kidx < kend) ? w[o * K + kidx] : 0.0;
        }
        barrier();
        for (int r = 0; r < 4; r++) {
            int kb = kb0 + 4 * r;
            ivec3 tp = taps[kb];
            int iy = iy0 + tp.y, ix = ix0 + tp.z;
            float val = 0.0;
            if (pin && tp.y >= 0 && iy >= 0 && iy < xs.z && ix >= 0 && ix < xs.w)
                val = x[xbase + tp.x + iy * xs.w + ix];
            Bs[kb][pc] = val;
        }
        barrier();
        for (int q = 0; q < 16; q++) {
            float a[4], b[4];
            for (int u = 0; u < 4; u++) {
                a[u] = As[q][ty * 4 + u];
                b[u] = Bs[q][tx * 4 + u];
            }
            for (int u = 0; u < 4; u++)
                for (int v = 0; v < 4; v++) acc[u][v] += a[u] * b[v];
        }
        barrier();
    }
    for (int u = 0; u < 4; u++) {
        int o = o0 + ty * 4 + u;
        if (o >= Co) continue;
        for (int v = 0; v < 4; v++) {
            int q = p0 + tx * 4 + v;
            if (q >= P) continue;
            if (ksplit > 1)
                dst[((s * ds.x + n) * Co + o) * P + q] = acc[u][v];
            else
                dst[(n * Co + o) * P + q] = acc[u][v] + bias[o];
        }
    }
}
