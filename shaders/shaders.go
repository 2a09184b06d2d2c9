// Package shaders holds the GLSL compute shaders of the OpenGL backend
// (package render), embedded in the binary. Each file's header comment
// lists its bindings, uniforms and work-group size. The per-element
// shaders index their work as idx = gl_GlobalInvocationID.x +
// gl_GlobalInvocationID.y · (gl_NumWorkGroups.x · 64), so that more than
// 65535 work groups' worth of elements can be dispatched as a
// two-dimensional grid, and return when idx reaches the uniform total; the
// tiled ones (conv2d_tiled) index their tile by gl_WorkGroupID and say
// their dispatch grid in the header.
package shaders

import "embed"

// FS holds the *.comp files.
//
//go:embed *.comp
var FS embed.FS
