package unet

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/internal/atomicfile"
	"github.com/ddpmstudio/ddpmstudio/safetensors"
)

// Save writes the model as a diffusers model folder: config.json,
// diffusion_pytorch_model.safetensors (F16 when half is set, else F32) and,
// when sched is not nil, scheduler_config.json. Each file is written under a
// temporary name and renamed into place, so an interrupted save never leaves
// a truncated file.
func (m *Model) Save(dir string, half bool, sched *diffusion.SchedulerConfig) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cfg, err := json.MarshalIndent(m.Config, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "config.json"), func(f io.Writer) error { _, err := f.Write(append(cfg, '\n')); return err }); err != nil {
		return err
	}
	tensors := make([]safetensors.Tensor, 0, len(m.params))
	for _, p := range m.params {
		v := make([]float32, p.Tensor.Shape().Len())
		m.backend.Download(v, p.Tensor)
		if half {
			tensors = append(tensors, safetensors.FromFloat32AsHalf(p.Name, p.Dims, v))
		} else {
			tensors = append(tensors, safetensors.FromFloat32(p.Name, p.Dims, v))
		}
	}
	err = atomicfile.Write(filepath.Join(dir, "diffusion_pytorch_model.safetensors"), func(f io.Writer) error {
		return safetensors.Write(f, tensors, map[string]string{"format": "pt"})
	})
	if err != nil {
		return err
	}
	if sched != nil {
		b, err := sched.MarshalJSON()
		if err != nil {
			return err
		}
		return atomicfile.Write(filepath.Join(dir, "scheduler_config.json"), func(f io.Writer) error { _, err := f.Write(append(b, '\n')); return err })
	}
	return nil
}
