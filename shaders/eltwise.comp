// eltwise: the element-wise kernels, chosen by op:
//   0 SiLU:        dst = a·σ(a)
//   1 AddChannels: dst = a + b[n,c]            (b is [N,C,1,1])
//   2 ScaleShift:  dst = a·(1 + b[n,c]) + b[n,C+c]  (b is [N,2C,1,1])
//   3 AddDiv:      dst = (a + b) / div
// Safe in place (dst = a or dst = b): each invocation reads before it writes.
// bindings: 0 dst, 1 a, 2 b
// uniforms: total, op, c (channels), hw, div
// work group: 64 × 1; one invocation per element
#version 430
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer Dst { float dst[]; };
layout(std430, binding = 1) buffer A { float a[]; };
layout(std430, binding = 2) buffer B { float b[]; };
uniform uint total;
uniform int op;
uniform int c;
uniform int hw;
uniform float div;
void main() {
    uint idx = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
    if (idx >= total) return;
    float v = a[idx];
    int nc = int(idx / uint(hw));
    float r;
    if (op == 0) {
        r = v / (1.0 + exp(-v));
    } else if (op == 1) {
        r = v + b[nc];
    } else if (op == 2) {
        int n = nc / c, ch = nc % c;
        r = v * (1.0 + b[n * 2 * c + ch]) + b[n * 2 * c + c + ch];
    } else {
        r = (v + b[idx]) / div;
    }
    dst[idx] = r;
}
