// linear: dst[n,o] = bias[o] + Σ_i w[o,i]·x[n,i]
// bindings: 0 dst, 1 x, 2 w, 3 bias
// uniforms: total (N·Out), nin (In), nout (Out)
// work group: 64 × 1; one invocation per output element
#version 430
layout(local_size_x = 64) in;
layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer Wt { float w[]; };
layout(std430, binding = 3) readonly buffer B { float bias[]; };
uniform uint total;
uniform int nin;
uniform int nout;
void main() {
    uint idx = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
    if (idx >= total) return;
    int o = int(idx % uint(nout));
    int n = int(idx / uint(nout));
    float acc = 0.0;
    for (int i = 0; i < nin; i++) acc += w[o * nin + i] * x[n * nin + i];
    dst[idx] = acc + bias[o];
}
