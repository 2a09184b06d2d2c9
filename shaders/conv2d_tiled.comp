// conv2d_tiled: the convolution of conv2d.comp as an implicit GEMM with
// shared-memory tiles, for hardware GPUs. With k = (i, ky, kx) and
// p = (oy, ox), dst[n,o,p] = bias[o] + Σ_k w[o,k]·B[k,p], where B[k,p] is the
// input pixel under tap k of output pixel p (0 in the padding) and is never
// materialised: each 16-deep slice of w and of B is staged in shared memory
// and reused by the whole work group. Every output sums over k in ascending
// order, as conv2d.comp does.
// bindings: 0 dst, 1 x, 2 w, 3 bias
// uniforms: xs (N, Ci, H, W), ds (N, Co, Ho, Wo), k, stride, pad (top, left)
// work group: 16 × 16; each invocation computes 4 output channels × 4
// pixels of a 64-channel × 64-pixel tile; dispatch (⌈Ho·Wo/64⌉, ⌈Co/64⌉, N)
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
shared float As[16][65]; // [k][o], padded against bank conflicts
shared float Bs[16][64]; // [k][p]
void main() {
    int tx = int(gl_LocalInvocationID.x), ty = int(gl_LocalInvocationID.y);
    int tid = ty * 16 + tx;
    int p0 = int(gl_WorkGroupID.x) * 64;
    int o0 = int(gl_WorkGroupID.y) * 64;
    int n = int(gl_WorkGroupID.z);
    int P = ds.z * ds.w, Co = ds.y, Ci = xs.y, kk = k * k, K = Ci * kk;
    float acc[4][4];
    for (int u = 0; u < 4; u++)
        for (int v = 0; v < 4; v++) acc[u][v] = 0.0;
    for (int k0 = 0; k0 < K; k0 += 16) {
        for (int r = 0; r < 4; r++) {
            int e = tid + r * 256; // 0 … 1023
            // Weights: 16 consecutive k of one output channel per 16 threads.
            int ka = e % 16, c = e / 16;
            int o = o0 + c, kidx = k0 + ka;
            As[ka][c] = (o < Co && kidx < K) ? w[o * K + kidx] : 0.0;
            // Pixels: 64 consecutive output pixels of one tap per 64 threads.
            int kb = e / 64, pc = e % 64;
            int p = p0 + pc;
            kidx = k0 + kb;
            float val = 0.0;
            if (p < P && kidx < K) {
                int i = kidx / kk;
                int rr = kidx - i * kk;
                int ky = rr / k, kx = rr - (rr / k) * k;
                int oy = p / ds.w, ox = p - (p / ds.w) * ds.w;
                int iy = oy * stride + ky - pad.x, ix = ox * stride + kx - pad.y;
                if (iy >= 0 && iy < xs.z && ix >= 0 && ix < xs.w)
                    val = x[((n * Ci + i) * xs.z + iy) * xs.w + ix];
            }
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
            int p = p0 + tx * 4 + v;
            if (p < P) dst[(n * Co + o) * P + p] = acc[u][v] + bias[o];
        }
    }
}
