// bmm_tiled: a batch of strided matrix products C = α·A·B in 64×64 tiles
// staged in shared memory, 4×4 outputs per invocation (strided by 16 so
// that a warp's shared reads and stores are consecutive), for attention's
// two products: scores = scale·Qᵀ·K and out = V·Pᵀ per (sample, head).
// A(m, k) = a[bz·ba + m·sa.x + k·sa.y], B(k, n) = b[bz·bb + k·sb.x + n·sb.y],
// C(m, n) = c[bz·bc + m·sc.x + n·sc.y]; every output sums over k in
// ascending order, then is multiplied by α, as attn_scores and attn_out do.
// Each operand is staged along whichever of its indices is contiguous.
// bindings: 0 c, 1 a, 2 b
// uniforms: mnk (M, N, K), sa, sb, sc, bstr (ba, bb, bc), alpha
// work group: 16 × 16; dispatch (⌈N/64⌉, ⌈M/64⌉, batch)
#version 430
layout(local_size_x = 16, local_size_y = 16) in;
layout(std430, binding = 0) writeonly buffer C { float c[]; };
layout(std430, binding = 1) readonly buffer A { float a[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };
uniform ivec3 mnk;
uniform ivec2 sa;
uniform ivec2 sb;
uniform ivec2 sc;
uniform ivec3 bstr;
uniform float alpha;
shared float As[16][65]; // [k][m]
shared float Bs[16][65]; // [k][n]
void main() {
    int tx = int(gl_LocalInvocationID.x), ty = int(gl_LocalInvocationID.y);
    int tid = ty * 16 + tx;
    int n0 = int(gl_WorkGroupID.x) * 64, m0 = int(gl_WorkGroupID.y) * 64;
    int bz = int(gl_WorkGroupID.z);
    int M = mnk.x, N = mnk.y, K = mnk.z;
    int abase = bz * bstr.x, bbase = bz * bstr.y, cbase = bz * bstr.z;
    float acc[4][4];
    for (int u = 0; u < 4; u++)
        for (int v = 0; v < 4; v++) acc[u][v] = 0.0;
    for (int k0 = 0; k0 < K; k0 += 16) {
        for (int r = 0; r < 4; r++) {
            int e = tid + r * 256; // 0 … 1023
            int ka, m;
            if (sa.y == 1) { ka = e % 16; m = e / 16; } else { m = e % 64; ka = e / 64; }
            int gm = m0 + m, gk = k0 + ka;
            As[ka][m] = (gm < M && gk < K) ? a[abase + gm * sa.x + gk * sa.y] : 0.0;
            int kb, nn;
            if (sb.y == 1) { nn = e % 64; kb = e / 64; } else { kb = e % 16; nn = e / 16; }
            int gn = n0 + nn;
            gk = k0 + kb;
            Bs[kb][nn] = (gn < N && gk < K) ? b[bbase + gk * sb.x + gn * sb.y] : 0.0;
        }
        barrier();
        for (int q = 0; q < 16; q++) {
            float av[4], bv[4];
            for (int u = 0; u < 4; u++) {
                av[u] = As[q][ty + 16 * u];
                bv[u] = Bs[q][tx + 16 * u];
            }
            for (int u = 0; u < 4; u++)
                for (int v = 0; v < 4; v++) acc[u][v] += av[u] * bv[v];
        }
        barrier();
    }
    for (int u = 0; u < 4; u++) {
        int m = m0 + ty + 16 * u;
        if (m >= M) continue;
        for (int v = 0; v < 4; v++) {
            int n = n0 + tx + 16 * v;
            if (n < N) c[cbase + m * sc.x + n * sc.y] = acc[u][v] * alpha;
        }
    }
}
