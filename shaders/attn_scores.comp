// attn_scores: s[n,hd,i,j] = scale · Σ_ch q[n, hd·d+ch, i] · k[n, hd·d+ch, j]
// (tokens i, j over the H·W positions, channel-major tensors)
// bindings: 0 s (scratch, N·heads·T·T), 1 q, 2 k
// uniforms: total (N·heads·T·T), heads, d, t (tokens), scale
// work group: 64 × 1; one invocation per score
#version 430
layout(local_size_x = 64) in;
layout(std430, binding = 0) writeonly buffer S { float s[]; };
layout(std430, binding = 1) readonly buffer Q { float q[]; };
layout(std430, binding = 2) readonly buffer K { float k[]; };
uniform uint total;
uniform int heads;
uniform int d;
uniform int t;
uniform float scale;
void main() {
    uint idx = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
    if (idx >= total) return;
    int j = int(idx % uint(t));
    int i = int((idx / uint(t)) % uint(t));
    int nh = int(idx / uint(t * t));
    int base = nh * d * t; // (n·C + hd·d)·T with C = heads·d
    float acc = 0.0;
    for (int ch = 0; ch < d; ch++) acc += q[base + ch * t + i] * k[base + ch * t + j];
    s[idx] = acc * scale;
}
