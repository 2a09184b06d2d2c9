package unet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/ddpmstudio/ddpmstudio/internal/safeio"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/safetensors"
	"github.com/ddpmstudio/ddpmstudio/torchbin"
)

// Weights are named parameter values, as read from a checkpoint.
type Weights struct {
	Source  string // the file they came from, for error messages
	Hash    string // SHA-256 (hex) of the file's bytes
	Tensors map[string]WeightTensor
	// AllowNonFinite lets NaN and ±Inf weights through (they are refused
	// by default, naming the tensor: such a model draws black pictures).
	AllowNonFinite bool
}

// WeightTensor is one parameter's shape and float32 values.
type WeightTensor struct {
	Dims []int
	Data []float32
}

// legacyAttention maps the attention parameter names of early diffusers
// checkpoints to the current ones, as ModelMixin._convert_deprecated_attention_blocks does.
var legacyAttention = map[string]string{"query": "to_q", "key": "to_k", "value": "to_v", "proj_attn": "to_out.0"}

// renameLegacy rewrites "….attentions.N.query.weight" to "….attentions.N.to_q.weight".
func renameLegacy(name string) string {
	parts := strings.Split(name, ".")
	for i := 2; i < len(parts)-1; i++ {
		if parts[i-2] == "attentions" {
			if nw, ok := legacyAttention[parts[i]]; ok {
				parts[i] = nw
				return strings.Join(parts, ".")
			}
		}
	}
	return name
}

// ReadWeights reads a safetensors checkpoint (or a torch.save .bin, through
// package torchbin), converting F16 and BF16 to
// float32 and renaming legacy attention parameters.
func ReadWeights(path string) (*Weights, error) {
	b, err := safeio.ReadFile(context.Background(), path, MaxWeightsBytes)
	if err != nil {
		return nil, err
	}
	return weightsFromBytes(b, path, "")
}

// weightsFromBytes parses a checkpoint's bytes; hash is their SHA-256 in
// hex when the reader computed it on the way, or "".
func weightsFromBytes(b []byte, path, hash string) (*Weights, error) {
	var ts []safetensors.Tensor
	if strings.HasSuffix(path, ".bin") {
		// A torch.save archive, read without running it. The hash stays
		// the file's own.
		var err error
		if ts, err = torchbin.Read(b); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	} else {
		f, err := safetensors.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for _, name := range f.Names {
			in, raw, err := f.Raw(name)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			ts = append(ts, safetensors.Tensor{Name: name, DType: in.DType, Shape: in.Shape, Data: raw})
		}
	}
	// The hash (half a second for a 455 MB file) runs beside the
	// conversion and the checks.
	var sum [sha256.Size]byte
	var hashing sync.WaitGroup
	if hash == "" {
		hashing.Go(func() { sum = sha256.Sum256(b) })
		defer hashing.Wait() // an error return waits too: no goroutine outlives the load
	}
	w := &Weights{Source: path, Tensors: make(map[string]WeightTensor, len(ts))}
	for _, t := range ts {
		// F32 tensors are views of b, not copies: b is this load's
		// own buffer, so its bytes become the values' one home.
		v, ok := t.Float32View()
		if !ok {
			var err error
			if v, err = t.Float32(); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
		}
		nn := renameLegacy(t.Name)
		if _, dup := w.Tensors[nn]; dup {
			return nil, fmt.Errorf("%s: tensor %q appears under both its legacy and its current name", path, nn)
		}
		w.Tensors[nn] = WeightTensor{Dims: t.Shape, Data: v}
	}
	hashing.Wait()
	w.Hash = hash
	if hash == "" {
		w.Hash = hex.EncodeToString(sum[:])
	}
	return w, nil
}

// FromWeights builds the model of cfg from checkpoint weights. Missing,
// unexpected and mis-shaped tensors are errors naming the tensor (and both
// shapes).
func FromWeights(cfg Config, w *Weights, b Backend) (*Model, error) {
	return fromWeights(cfg, w, b, false)
}

// fromWeights is FromWeights; owned says w is the caller's no longer (a
// load's private copy), so a backend may adopt its slices.
func fromWeights(cfg Config, w *Weights, b Backend, owned bool) (*Model, error) {
	// Match names and shapes against the config's plan before the backend
	// allocates anything: a checkpoint that lacks tensors costs nothing.
	specs, err := Plan(cfg)
	if err != nil {
		return nil, err
	}
	used := make(map[string]bool, len(w.Tensors))
	var missing []string
	for _, s := range specs {
		t, ok := w.Tensors[s.Name]
		if !ok {
			missing = append(missing, s.Name)
			continue
		}
		used[s.Name] = true
		if !slices.Equal(t.Dims, s.Dims) {
			return nil, fmt.Errorf("%s: tensor %q has shape %v, the config needs %v", w.Source, s.Name, t.Dims, s.Dims)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: %d tensors the config needs are missing, first %q", w.Source, len(missing), missing[0])
	}
	var extra []string
	for name := range w.Tensors {
		if !used[name] {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return nil, fmt.Errorf("%s: %d unexpected tensors the config does not use, first %q %v", w.Source, len(extra), extra[0], w.Tensors[extra[0]].Dims)
	}
	if !w.AllowNonFinite {
		for _, s := range specs {
			if i := firstNonFinite(w.Tensors[s.Name].Data); i >= 0 {
				return nil, fmt.Errorf("%s: tensor %q holds a non-finite value (%v at index %d); the checkpoint is damaged",
					w.Source, s.Name, w.Tensors[s.Name].Data[i], i)
			}
		}
	}
	return build(cfg, b, func(name string, _ []int) ([]float32, error) { return w.Tensors[name].Data, nil }, owned)
}

// firstNonFinite is the index of the first NaN or ±Inf in v, or −1.
func firstNonFinite(v []float32) int {
	for i, x := range v {
		if x-x != 0 { // NaN and ±Inf give NaN
			return i
		}
	}
	return -1
}

func product(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

// New builds a model of cfg with PyTorch's default initialisation, as
// diffusers' UNet2DModel(**cfg) gets it: convolution and linear weights and
// biases uniform in ±1/√fan_in, GroupNorm weights 1 and biases 0, embeddings
// standard normal. The same seed gives the same weights.
func New(cfg Config, seed uint64, b Backend) (*Model, error) {
	if _, err := Plan(cfg); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	fanIn := map[string]int{}
	src := func(name string, dims []int) ([]float32, error) {
		v := make([]float32, product(dims))
		switch {
		case strings.HasSuffix(name, "class_embedding.weight"):
			for i := range v {
				v[i] = float32(rng.NormFloat64())
			}
		case isNorm(name):
			if strings.HasSuffix(name, ".weight") {
				for i := range v {
					v[i] = 1
				}
			}
		default:
			base := strings.TrimSuffix(strings.TrimSuffix(name, ".weight"), ".bias")
			if strings.HasSuffix(name, ".weight") {
				fanIn[base] = product(dims[1:])
			}
			bound := 1 / math.Sqrt(float64(fanIn[base]))
			for i := range v {
				u := float64(rng.Float64())
				v[i] = float32((u + u - 1) * bound) // no multiply for arm64 to fuse
			}
		}
		return v, nil
	}
	return build(cfg, b, src, true)
}

func isNorm(name string) bool {
	for _, s := range []string{"norm1.", "norm2.", "group_norm.", "conv_norm_out."} {
		if strings.Contains(name, s) {
			return true
		}
	}
	return false
}

// Folder is the location of a diffusers model on disk.
type Folder struct {
	Config    string // config.json
	Weights   string // diffusion_pytorch_model.safetensors (or its fp16 variant)
	Scheduler string // scheduler_config.json, "" if absent
}

// FindFolder locates a model in either layout diffusers uses: a model
// folder (config.json, weights and, on the Hub's google/ddpm-* repositories,
// scheduler_config.json side by side) or a pipeline folder (unet/ and
// scheduler/ sub-folders).
func FindFolder(dir string) (Folder, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return Folder{}, fmt.Errorf("model folder: %w", err)
	}
	if !st.IsDir() {
		return Folder{}, fmt.Errorf("model folder: %s is not a directory", dir)
	}
	modelDir := dir
	if !exists(filepath.Join(dir, "config.json")) && exists(filepath.Join(dir, "unet", "config.json")) {
		modelDir = filepath.Join(dir, "unet")
	}
	f := Folder{Config: filepath.Join(modelDir, "config.json")}
	if !exists(f.Config) {
		return Folder{}, fmt.Errorf("model folder %s: no config.json (looked in the folder and in unet/)", dir)
	}
	for _, name := range []string{"diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"} {
		if p := filepath.Join(modelDir, name); exists(p) {
			f.Weights = p
			break
		}
	}
	if f.Weights == "" {
		// A pickled PyTorch checkpoint, read through torchbin's allow-list
		// (it runs nothing the file names): safetensors is preferred, as in
		// diffusers.
		for _, name := range []string{"diffusion_pytorch_model.bin", "diffusion_pytorch_model.fp16.bin"} {
			if p := filepath.Join(modelDir, name); exists(p) {
				f.Weights = p
				break
			}
		}
	}
	if f.Weights == "" {
		return Folder{}, fmt.Errorf("model folder %s: no diffusion_pytorch_model.safetensors (or .bin)", dir)
	}
	for _, p := range []string{filepath.Join(modelDir, "scheduler_config.json"), filepath.Join(dir, "scheduler", "scheduler_config.json"), filepath.Join(dir, "scheduler_config.json")} {
		if exists(p) {
			f.Scheduler = p
			break
		}
	}
	return f, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Loaded is a model read from disk with its scheduler settings.
type Loaded struct {
	Model  *Model
	Folder Folder
	// WeightsHash is the SHA-256 (hex) of the weights file's bytes, taken
	// from the very bytes the model was built from.
	WeightsHash string
	// Scheduler is the folder's scheduler_config.json, or diffusers' DDPM
	// defaults when the folder has none (HasScheduler is then false).
	Scheduler    diffusion.SchedulerConfig
	HasScheduler bool
}

// Size limits of the files of a model folder, checked before reading.
const (
	MaxConfigBytes    = 1 << 20
	MaxSchedulerBytes = 64 << 20 // trained_betas may list a million values
	// MaxWeightsBytes admits MaxParams float32 parameters plus the header.
	MaxWeightsBytes = 4*MaxParams + 64<<20
)

// LoadOptions adjust how a model folder is read.
type LoadOptions struct {
	// AllowNonFinite accepts NaN and ±Inf weights (refused by default).
	AllowNonFinite bool
}

// Load reads a diffusers UNet2DModel folder onto the backend.
func Load(dir string, b Backend) (*Loaded, error) {
	return LoadContext(context.Background(), dir, b, LoadOptions{})
}

// LoadContext is Load with cancellation and options. Every file is read
// through internal/safeio: only regular files, within the size limits
// above, stopping when ctx is cancelled; the config is validated and its
// parameter count bounded before the weights are read; weights are matched
// against the config and checked for non-finite values before the backend
// allocates anything.
func LoadContext(ctx context.Context, dir string, b Backend, opt LoadOptions) (*Loaded, error) {
	f, err := FindFolder(dir)
	if err != nil {
		return nil, err
	}
	cb, err := safeio.ReadFile(ctx, f.Config, MaxConfigBytes)
	if err != nil {
		return nil, err
	}
	cfg, err := ParseConfig(cb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Config, err)
	}
	if _, err := Plan(cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Config, err)
	}
	sched, hasSched := diffusion.DefaultSchedulerConfig(), false
	if f.Scheduler != "" {
		sb, err := safeio.ReadFile(ctx, f.Scheduler, MaxSchedulerBytes)
		if err != nil {
			return nil, err
		}
		if sched, err = diffusion.ParseSchedulerConfig(sb); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Scheduler, err)
		}
		hasSched = true
	}
	hasher := sha256.New()
	wb, err := safeio.ReadFileHashed(ctx, f.Weights, MaxWeightsBytes, hasher)
	if err != nil {
		return nil, err
	}
	w, err := weightsFromBytes(wb, f.Weights, hex.EncodeToString(hasher.Sum(nil)))
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w.AllowNonFinite = opt.AllowNonFinite
	m, err := fromWeights(cfg, w, b, true)
	if err != nil {
		return nil, err
	}
	return &Loaded{Model: m, Folder: f, WeightsHash: w.Hash, Scheduler: sched, HasScheduler: hasSched}, nil
}

// LoadFS reads a flat model folder (config.json, the weights and an optional
// scheduler_config.json) from a file system, such as the embedded default
// model. name labels the source in errors.
func LoadFS(fsys fs.FS, name string, b Backend) (*Loaded, error) {
	cb, err := fs.ReadFile(fsys, "config.json")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cfg, err := ParseConfig(cb)
	if err != nil {
		return nil, fmt.Errorf("%s/config.json: %w", name, err)
	}
	wb, err := fs.ReadFile(fsys, "diffusion_pytorch_model.safetensors")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	w, err := weightsFromBytes(wb, name+"/diffusion_pytorch_model.safetensors", "")
	if err != nil {
		return nil, err
	}
	m, err := fromWeights(cfg, w, b, true)
	if err != nil {
		return nil, err
	}
	l := &Loaded{Model: m, Folder: Folder{Config: name + "/config.json", Weights: name + "/diffusion_pytorch_model.safetensors"}, WeightsHash: w.Hash, Scheduler: diffusion.DefaultSchedulerConfig()}
	if sb, err := fs.ReadFile(fsys, "scheduler_config.json"); err == nil {
		sc, err := diffusion.ParseSchedulerConfig(sb)
		if err != nil {
			return nil, fmt.Errorf("%s/scheduler_config.json: %w", name, err)
		}
		l.Scheduler, l.HasScheduler = sc, true
		l.Folder.Scheduler = name + "/scheduler_config.json"
	}
	return l, nil
}
