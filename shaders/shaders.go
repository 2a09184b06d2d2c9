// Package shaders holds the GLSL compute shaders of the OpenGL backend
// (package render), embedded in the binary. Each file's header comment
// lists its bindings, uniforms and work-group size. Every shader indexes
// its work as idx = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y ·
// (gl_NumWorkGroups.x · 64), so that more than 65535 work groups' worth of
// elements can be dispatched as a two-dimensional grid, and returns when
// idx reaches the uniform total.
package shaders

import "embed"

// FS holds the *.comp files.
//
//go:embed *.comp
var FS embed.FS
