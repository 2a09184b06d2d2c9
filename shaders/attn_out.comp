// attn_out: dst[n, hd·d+ch, i] = Σ_j p[n,hd,i,j] · v[n, hd·d+ch, j]
// bindings: 0 dst, 1 p (softmaxed scores), 2 v
// uniforms: total (N·C·T), heads, d, t
// work group: 64 × 1; one invocation per output element
#version 430
layout(local_size_x = 64) in;
layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer P { float p[]; };
layout(std430, binding = 2) readonly buffer V { float v[]; };
uniform uint total;
uniform int heads;
uniform int d;
uniform int t;
void main() {
    uint idx = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
    if (idx >= total) return;
    int i = int(idx % uint(t));
    int cc = int((idx / uint(t)) % uint(heads * d));
    int n = int(idx / uint(t * heads * d));
    int hd = cc / d;
    int prow = ((n * heads + hd) * t + i) * t;
    int vbase = (n * heads * d + cc) * t;
    float acc = 0.0;
    for (int j = 0; j < t; j++) acc += p[prow + j] * v[vbase + j];
    dst[idx] = acc;
}
