package unet_test

import (
	"testing"

	"github.com/ddpmstudio/ddpmstudio/unet"
	"github.com/ddpmstudio/ddpmstudio/unet/backendtest"
)

func TestCPUBackendConformance(t *testing.T) {
	backendtest.Run(t, unet.NewCPU())
}
