// upsample: nearest-neighbour ×2: dst[nc, y, x] = src[nc, y/2, x/2]
// bindings: 0 dst, 1 src
// uniforms: total, h, w (of src)
// work group: 64 × 1; one invocation per output element
#version 430
layout(local_size_x = 64) in;
layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer Src { float src[]; };
uniform uint total;
uniform int h;
uniform int w;
void main() {
    uint idx = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
    if (idx >= total) return;
    int x = int(idx % uint(2 * w));
    int y = int((idx / uint(2 * w)) % uint(2 * h));
    int nc = int(idx / uint(4 * h * w));
    dst[idx] = src[(nc * h + y / 2) * w + x / 2];
}
