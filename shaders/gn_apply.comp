// gn_apply: dst = (x − mean)·rstd·gamma[c] + beta[c], then SiLU when silu ≠ 0.
// Safe in place (dst = x): each invocation reads its element before writing it.
// bindings: 0 dst, 1 x, 2 gamma, 3 beta, 4 stats
// uniforms: total, c (channels), groups, hw, silu
// work group: 64 × 1; one invocation per element
#version 430
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer Dst { float dst[]; };
layout(std430, binding = 1) buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer G { float gamma[]; };
layout(std430, binding = 3) readonly buffer B { float beta[]; };
layout(std430, binding = 4) readonly buffer Stats { float stats[]; };
uniform uint total;
uniform int c;
uniform int groups;
uniform int hw;
uniform int silu;
void main() {
    uint idx = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
    if (idx >= total) return;
    int ch = int((idx / uint(hw)) % uint(c));
    int n = int(idx / uint(hw * c));
    int g = n * groups + ch / (c / groups);
    float y = (x[idx] - stats[2 * g]) * stats[2 * g + 1] * gamma[ch] + beta[ch];
    if (silu != 0) y = y / (1.0 + exp(-y));
    dst[idx] = y;
}
