package render

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/ebitengine/purego"
)

// EGL constants (from the Khronos headers; only what we use).
const (
	eglPlatformSurfacelessMesa = 0x31DD
	eglNone                    = 0x3038
	eglOpenGLAPI               = 0x30A2
	eglContextMajorVersion     = 0x3098
	eglContextMinorVersion     = 0x30FB
	eglContextOpenGLProfile    = 0x30FD
	eglContextOpenGLCoreBit    = 0x00000001
	eglRenderableType          = 0x3040
	eglOpenGLBit               = 0x0008
	eglSurfaceType             = 0x3033
	eglPbufferBit              = 0x0001
	eglExtensions              = 0x3055
	eglPlatformDeviceEXT       = 0x313F
	eglDeviceExtensions        = 0x3055
)

// egl holds the few EGL entry points we call, loaded from libEGL at run
// time: a machine without libEGL still starts (and runs on the CPU).
type egl struct {
	getProcAddress  func(name string) uintptr
	getPlatformDisp func(platform uint32, native uintptr, attribs *int32) uintptr
	initialize      func(dpy uintptr, major, minor *int32) uint32
	bindAPI         func(api uint32) uint32
	chooseConfig    func(dpy uintptr, attribs *int32, configs *uintptr, size int32, num *int32) uint32
	createContext   func(dpy, config, share uintptr, attribs *int32) uintptr
	makeCurrent     func(dpy, draw, read, ctx uintptr) uint32
	destroyContext  func(dpy, ctx uintptr) uint32
	terminate       func(dpy uintptr) uint32
	getError        func() int32
	queryDevices    func(max int32, devices *uintptr, num *int32) uint32
	queryDeviceStr  func(device uintptr, name int32) uintptr

	dpy, ctx uintptr
}

func loadEGL() (*egl, error) {
	lib, err := purego.Dlopen("libEGL.so.1", purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("libEGL.so.1 not found (install libegl1 and Mesa's libegl-mesa0): %w", err)
	}
	e := &egl{}
	purego.RegisterLibFunc(&e.getProcAddress, lib, "eglGetProcAddress")
	purego.RegisterLibFunc(&e.initialize, lib, "eglInitialize")
	purego.RegisterLibFunc(&e.bindAPI, lib, "eglBindAPI")
	purego.RegisterLibFunc(&e.chooseConfig, lib, "eglChooseConfig")
	purego.RegisterLibFunc(&e.createContext, lib, "eglCreateContext")
	purego.RegisterLibFunc(&e.makeCurrent, lib, "eglMakeCurrent")
	purego.RegisterLibFunc(&e.destroyContext, lib, "eglDestroyContext")
	purego.RegisterLibFunc(&e.terminate, lib, "eglTerminate")
	purego.RegisterLibFunc(&e.getError, lib, "eglGetError")
	fn := e.getProcAddress("eglGetPlatformDisplayEXT")
	if fn == 0 {
		return nil, errors.New("EGL lacks eglGetPlatformDisplayEXT (EGL_EXT_platform_base)")
	}
	purego.RegisterFunc(&e.getPlatformDisp, fn)
	if q := e.getProcAddress("eglQueryDevicesEXT"); q != 0 {
		purego.RegisterFunc(&e.queryDevices, q)
	}
	if q := e.getProcAddress("eglQueryDeviceStringEXT"); q != 0 {
		purego.RegisterFunc(&e.queryDeviceStr, q)
	}
	return e, nil
}

// devices lists the EGL devices (EGL_EXT_device_enumeration), hardware
// ones first: a device whose extensions name Mesa's software rasteriser
// goes last. Empty when the extension is missing.
func (e *egl) devices() []uintptr {
	if e.queryDevices == nil {
		return nil
	}
	var n int32
	if e.queryDevices(0, nil, &n) == 0 || n <= 0 {
		return nil
	}
	devs := make([]uintptr, n)
	if e.queryDevices(n, &devs[0], &n) == 0 {
		return nil
	}
	var hw, soft []uintptr
	for _, d := range devs[:n] {
		ext := ""
		if e.queryDeviceStr != nil {
			ext = goString(e.queryDeviceStr(d, eglDeviceExtensions))
		}
		if strings.Contains(ext, "EGL_MESA_device_software") {
			soft = append(soft, d)
		} else {
			hw = append(hw, d)
		}
	}
	return append(hw, soft...)
}

// goString copies a NUL-terminated C string.
func goString(p uintptr) string {
	if p == 0 {
		return ""
	}
	var b []byte
	for i := uintptr(0); ; i++ {
		c := *(*byte)(unsafe.Add(*(*unsafe.Pointer)(unsafe.Pointer(&p)), i))
		if c == 0 {
			return string(b)
		}
		b = append(b, c)
	}
}

// open makes a headless OpenGL 4.3 core context current on this thread:
// on the first hardware EGL device when the driver enumerates devices
// (EGL_EXT_platform_device), else on Mesa's surfaceless platform (no X
// server, no window).
func (e *egl) open() error {
	for _, d := range e.devices() {
		if e.dpy = e.getPlatformDisp(eglPlatformDeviceEXT, d, nil); e.dpy != 0 {
			if err := e.context(); err == nil {
				return nil
			}
			e.terminate(e.dpy)
		}
	}
	e.dpy = e.getPlatformDisp(eglPlatformSurfacelessMesa, 0, nil)
	if e.dpy == 0 {
		return fmt.Errorf("no surfaceless EGL display (EGL error %#x)", e.getError())
	}
	return e.context()
}

// context initialises the display and makes a 4.3 core context current.
func (e *egl) context() error {
	var major, minor int32
	if e.initialize(e.dpy, &major, &minor) == 0 {
		return fmt.Errorf("eglInitialize failed (EGL error %#x)", e.getError())
	}
	if e.bindAPI(eglOpenGLAPI) == 0 {
		return fmt.Errorf("EGL cannot bind the OpenGL API (EGL error %#x)", e.getError())
	}
	attribs := []int32{eglRenderableType, eglOpenGLBit, eglNone}
	var config uintptr
	var n int32
	if e.chooseConfig(e.dpy, &attribs[0], &config, 1, &n) == 0 || n == 0 {
		config = 0 // EGL_KHR_no_config_context: a context without a surface config
	}
	ctxAttribs := []int32{eglContextMajorVersion, 4, eglContextMinorVersion, 3,
		eglContextOpenGLProfile, eglContextOpenGLCoreBit, eglNone}
	e.ctx = e.createContext(e.dpy, config, 0, &ctxAttribs[0])
	if e.ctx == 0 {
		return fmt.Errorf("no OpenGL 4.3 core context (EGL error %#x)", e.getError())
	}
	if e.makeCurrent(e.dpy, 0, 0, e.ctx) == 0 {
		return fmt.Errorf("eglMakeCurrent failed (EGL error %#x)", e.getError())
	}
	return nil
}

func (e *egl) close() {
	if e.dpy != 0 {
		e.makeCurrent(e.dpy, 0, 0, 0)
		if e.ctx != 0 {
			e.destroyContext(e.dpy, e.ctx)
		}
		e.terminate(e.dpy)
	}
}

// procAddress feeds go-gl's loader. The address is a C function pointer,
// outside Go's heap: reinterpreting the integer's bits is what we mean.
func (e *egl) procAddress(name string) unsafe.Pointer {
	p := e.getProcAddress(name)
	return *(*unsafe.Pointer)(unsafe.Pointer(&p))
}
