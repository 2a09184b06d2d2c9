// concat: dst[n] = a[n] followed by b[n] along the channels.
// bindings: 0 dst, 1 a, 2 b
// uniforms: total, ca, cb (channels of a and b), hw
// work group: 64 × 1; one invocation per output element
#version 430
layout(local_size_x = 64) in;
layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer A { float a[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };
uniform uint total;
uniform int ca;
uniform int cb;
uniform int hw;
void main() {
    uint idx = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
    if (idx >= total) return;
    int p = int(idx % uint(hw));
    int ch = int((idx / uint(hw)) % uint(ca + cb));
    int n = int(idx / uint(hw * (ca + cb)));
    dst[idx] = ch < ca ? a[(n * ca + ch) * hw + p] : b[(n * cb + ch - ca) * hw + p];
}
