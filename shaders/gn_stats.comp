// gn_stats: per (sample, group), the mean and 1/√(var + eps) of its
// cpg·hw elements, in two passes (the mean, then squared deviations) so
// that a large mean does not cancel the variance.
// bindings: 0 stats (2 floats per group), 1 x
// uniforms: total (N·groups), cpg (channels per group), hw, eps
// work group: 256 × 1; one work group per (sample, group), a shared-memory reduction
#version 430
layout(local_size_x = 256) in;
layout(std430, binding = 0) writeonly buffer Stats { float stats[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
uniform uint total;
uniform int cpg;
uniform int hw;
uniform float eps;
shared float part[256];
void main() {
    uint g = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    if (g >= total) return;
    uint lid = gl_LocalInvocationID.x;
    int len = cpg * hw;
    int base = int(g) * len;
    float s = 0.0;
    for (int i = int(lid); i < len; i += 256) s += x[base + i];
    part[lid] = s;
    barrier();
    for (uint w = 128u; w > 0u; w >>= 1) {
        if (lid < w) part[lid] += part[lid + w];
        barrier();
    }
    float mean = part[0] / float(len);
    barrier();
    float v = 0.0;
    for (int i = int(lid); i < len; i += 256) { float d = x[base + i] - mean; v += d * d; }
    part[lid] = v;
    barrier();
    for (uint w = 128u; w > 0u; w >>= 1) {
        if (lid < w) part[lid] += part[lid + w];
        barrier();
    }
    if (lid == 0u) {
        stats[2u * g] = mean;
        stats[2u * g + 1u] = inversesqrt(part[0] / float(len) + eps);
    }
}
