// conv2d_big: conv2d_tiled's implicit GEMM with 128-channel × 128-pixel
// tiles, 8 × 8 outputs per invocation, for convolutions with work enough to
// fill a GPU with such tiles (large batches, large images): each value
// staged in shared memory feeds 8 multiply-adds instead of 4, which is what
// bounds the 64 × 64 tile there. Invocation (tx, ty) computes channels
// o0 + ty + 16u and pixels p0 + tx + 16v (u, v < 8), so that a warp's
// shared-memory reads and its stores are consecutive. Every output sums
// over k in ascending order, then adds the bias, as conv2d_tiled does.
// bindings: 0 dst, 1 x, 2 w, 3 bias
// uniforms: xs (N, Ci, H, W), ds (N, Co, Ho, Wo), k, stride, pad (top, left)
// work group: 16 × 16; dispatch (⌈Ho·Wo/128⌉, ⌈Co/128⌉, N)
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
shared float As[16][129]; // [k][o], padded against bank conflicts
shared float Bs[16][128]; // [k][p]
shared ivec3 taps[16];    // per k of the slice: (input channel offset, ky, kx); ky = -1: past K
void main() {
    int tx = int(gl_LocalInvocationID.x), ty = int(gl_LocalInvocationID.y);
    int tid = ty * 16 + tx;
    int p0 = int(gl_WorkGroupID.x) * 128;
    int o0 = int(gl_WorkGroupID.y) * 128;
    int n = int(gl_WorkGroupID.z);
    int P = ds.z * ds.w, Co = ds.y, Ci = xs.y, kk = k * k, K = Ci * kk;
    // This invocation stages B for pixel column pc, rows kb0 + 2r.
    int pc = tid % 128, kb0 = tid / 128;
    int p = p0 + pc;
    int oy = p / ds.w, ox = p - (p / ds.w) * ds.w;
    int iy0 = oy * stride - pad.x, ix0 = ox * stride - pad.y;
    bool pin = p < P;
    int xbase = n * Ci * xs.z * xs.w;
    float acc[8][8];
    for (int u = 0; u < 8; u++)
        for (int v = 0; v < 8; v++) acc[u][v] = 0.0;
    for (int k0 = 0; k0 < K; k0 += 16) {
        if (tid < 16) {
            int kidx = k0 + tid;
            if (kidx < K) {
                int i = kidx / kk;
                int rr = kidx - i * kk;
                int ky = rr / k;
                taps[tid] = ivec3(i * xs.z * xs.w, ky, rr - ky * k);
            } else {
                taps[tid] = ivec3(0, -1, 0);
            }
        }
        for (int r = 0; r < 8; r++) {
            int e = tid + r * 256; // 0 … 2047
            int ka = e % 16, c = e / 16;
            int o = o0 + c, kidx = k0 + ka;
            As[ka][c] = (o < Co && kidx < K) ? w[o * K + kidx] : 0.0;
        }
        barrier();
        for (int r = 0; r < 8; r++) {
            int kb = kb0 + 2 * r;
            ivec3 tp = taps[kb];
            int iy = iy0 + tp.y, ix = ix0 + tp.z;
            float val = 0.0;
            if (pin && tp.y >= 0 && iy >= 0 && iy < xs.z && ix >= 0 && ix < xs.w)
                val = x[xbase + tp.x + iy * xs.w + ix];
            Bs[kb][pc] = val;
        }
        barrier();
        for (int q = 0; q < 16; q++) {
            float a[8], b[8];
            for (int u = 0; u < 8; u++) {
                a[u] = As[q][ty + 16 * u];
                b[u] = Bs[q][tx + 16 * u];
            }
            for (int u = 0; u < 8; u++)
                for (int v = 0; v < 8; v++) acc[u][v] += a[u] * b[v];
        }
        barrier();
    }
    for (int u = 0; u < 8; u++) {
        int o = o0 + ty + 16 * u;
        if (o >= Co) continue;
        for (int v = 0; v < 8; v++) {
            int q = p0 + tx + 16 * v;
            if (q < P) dst[(n * Co + o) * P + q] = acc[u][v] + bias[o];
        }
    }
}
