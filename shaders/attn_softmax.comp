// attn_softmax: each row of s (one query token) becomes its softmax, in place.
// bindings: 0 s
// uniforms: total (rows: N·heads·T), t (row length)
// work group: 64 × 1; one invocation per row
#version 430
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer S { float s[]; };
uniform uint total;
uniform int t;
void main() {
    uint row = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
    if (row >= total) return;
    int base = int(row) * t;
    float m = s[base];
    for (int j = 1; j < t; j++) m = max(m, s[base + j]);
    float sum = 0.0;
    for (int j = 0; j < t; j++) { float e = exp(s[base + j] - m); s[base + j] = e; sum += e; }
    float inv = 1.0 / sum;
    for (int j = 0; j < t; j++) s[base + j] *= inv;
}
