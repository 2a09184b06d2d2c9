// conv_reduce: the second pass of a split-K convolution (conv2d_tiled with
// ksplit > 1): dst[n,o,p] = (Σ_s part[s,n,o,p], s ascending) + bias[o].
// bindings: 0 dst, 1 part, 2 bias
// uniforms: total (N·Co·P), ksplit, co, hw (P)
// work group: 64
#version 430
layout(local_size_x = 64) in;
layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer Part { float part[]; };
layout(std430, binding = 2) readonly buffer B { float bias[]; };
uniform uint total;
uniform int ksplit;
uniform int co;
uniform int hw;
void main() {
    uint idx = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * (gl_NumWorkGroups.x * 64u);
    if (idx >= total) return;
    float v = 0.0;
    for (int s = 0; s < ksplit; s++) v += part[uint(s) * total + idx];
    dst[idx] = v + bias[(int(idx) / hw) % co];
}
