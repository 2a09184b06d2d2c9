// conv2d: dst[n,o,y,x] = bias[o] + Σ_{i,ky,kx} w[o,i,ky,kx]·x[n,i,y·s+ky−pt,x·s+kx−pl]
// bindings: 0 dst, 1 x, 2 w, 3 bias
// uniforms: total, xs (N, Ci, H, W), ds (N, Co, Ho, Wo), k, stride, pad (top, left)
// work group: 64 × 1; one invocation per output element
#version 430
layout(local_size_x = 64) in;
layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer Wt { float w[]; };
layout(std430, binding = 3) readonly buffer B { float bias[]; };
uniform uint total;
uniform ivec4 xs;
uniform ivec4 ds;
uniform int k;
uniform int stride;
uniform ivec2 pad;
void main() {
    uint idx = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
    if (idx >= total) return;
    int ox = int(idx % uint(ds.w));
    int oy = int((idx / uint(ds.w)) % uint(ds.z));
    int o = int((idx / uint(ds.w * ds.z)) % uint(ds.y));
    int n = int(idx / uint(ds.w * ds.z * ds.y));
    float acc = 0.0;
    for (int i = 0; i < xs.y; i++) {
        int xbase = (n * xs.y + i) * xs.z * xs.w;
        int wbase = (o * xs.y + i) * k * k;
        for (int ky = 0; ky < k; ky++) {
            int iy = oy * stride + ky - pad.x;
            if (iy < 0 || iy >= xs.z) continue;
            for (int kx = 0; kx < k; kx++) {
                int ix = ox * stride + kx - pad.y;
                if (ix < 0 || ix >= xs.w) continue;
                acc += w[wbase + ky * k + kx] * x[xbase + iy * xs.w + ix];
            }
        }
    }
    dst[idx] = acc + bias[o];
}
