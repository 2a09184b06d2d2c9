package unet

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/internal/golden"
	"github.com/ddpmstudio/ddpmstudio/safetensors"
	"github.com/ddpmstudio/ddpmstudio/unet/cpu"
)

// TestGoldenGradients compares every parameter gradient of
// loss = mean((model(sample, t[, classes]) − target)²) with diffusers'
// float64 autograd, for every file under <root>/grads/.
func TestGoldenGradients(t *testing.T) {
	for _, fx := range golden.Files(t, "grads", "*.safetensors") {
		path, dir := fx.Path, filepath.Dir(fx.Path)
		name := strings.TrimSuffix(filepath.Base(path), ".safetensors")
		t.Run(fx.Name(), func(t *testing.T) {
			f, err := safetensors.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			modelDir := filepath.Join(filepath.Dir(dir), "unet", name)
			if w := f.Metadata["weights"]; w != "" {
				modelDir = filepath.Join(filepath.Dir(dir), filepath.Dir(w))
			}
			l, err := Load(modelDir, cpu.New())
			if err != nil {
				t.Fatal(err)
			}
			sample, shape := f32(t, f, "sample")
			steps, _ := i64(t, f, "timestep")
			target, _ := f32(t, f, "target")
			ts := make([]float32, len(steps))
			for i, s := range steps {
				ts[i] = float32(s)
			}
			var classes []int
			if f.Has("class_labels") {
				cl, _ := i64(t, f, "class_labels")
				for _, c := range cl {
					classes = append(classes, int(c))
				}
			}
			tp, err := l.Model.NewTape()
			if err != nil {
				t.Fatal(err)
			}
			tp.mem.poison = true // a kernel reading what it should overwrite gives NaN
			out, err := tp.Forward(sample, shape[0], shape[2], shape[3], ts, classes)
			if err != nil {
				t.Fatal(err)
			}
			dOut := make([]float32, len(out))
			var loss float64
			for i := range out {
				d := float64(out[i]) - float64(target[i])
				loss += d * d
				dOut[i] = float32(2 * d / float64(len(out)))
			}
			loss /= float64(len(out))
			if want, _ := f64(t, f, "loss"); math.Abs(loss-want[0]) > 1e-5*want[0] {
				t.Errorf("loss %.8g, diffusers %.8g", loss, want[0])
			}
			if err := tp.Backward(dOut); err != nil {
				t.Fatal(err)
			}
			grads := tp.Grads()
			checked, worstRel := 0, 0.0
			for i, p := range l.Model.Params() {
				want, _, err := f.Float32("grad/" + p.Name)
				if err != nil {
					t.Errorf("no reference gradient for %s", p.Name)
					continue
				}
				scale := 0.0
				for _, v := range want {
					scale = max(scale, math.Abs(float64(v)))
				}
				worst := maxDiff(grads[i], want)
				if strings.HasSuffix(p.Name, "to_k.bias") {
					// Softmax is invariant to this bias: its gradient is rounding noise.
					if worst > 1e-6 {
						t.Errorf("%s: gradient %.3g, want ~0", p.Name, worst)
					}
					continue
				}
				rel := worst / scale
				worstRel = max(worstRel, rel)
				checked++
				if rel > 1e-4 {
					t.Errorf("%s: max |Δ| %.3g = %.3g of its largest gradient %.3g", p.Name, worst, rel, scale)
				}
			}
			t.Logf("loss %.6g; %d parameter gradients, worst relative error %.3g", loss, checked, worstRel)
		})
	}
}

// TestTapeForwardMatchesForward: the training graph is the inference graph,
// run by the same kernels, so the outputs agree to the bit.
func TestTapeForwardMatchesForward(t *testing.T) {
	for _, shift := range []string{"default", "scale_shift"} {
		cfg := tinyConfig()
		cfg.ResnetTimeScaleShift = shift
		cfg.NumClassEmbeds = 4
		m, err := New(cfg, 3, cpu.New())
		if err != nil {
			t.Fatal(err)
		}
		x := randomInput(2 * 144)
		ts, cl := []float32{10, 900}, []int{1, 3}
		want := append([]float32(nil), must(m.Forward(x, 2, 12, 12, ts, cl))(t)...)
		tp := must(m.NewTape())(t)
		got, err := tp.Forward(x, 2, 12, 12, ts, cl)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(got, want); d != 0 {
			t.Errorf("%s: tape forward differs by %g", shift, d)
		}
	}
}

// TestForwardSeesTrainedClassTable: training writes the class embedding
// table in place (as it writes every parameter); Forward must use the new
// rows, not a copy taken when the model was built.
func TestForwardSeesTrainedClassTable(t *testing.T) {
	cfg := tinyConfig()
	cfg.NumClassEmbeds = 3
	m := must(New(cfg, 3, cpu.New()))(t)
	x := randomInput(144)
	tp := must(m.NewTape())(t)
	before := append([]float32(nil), must(m.Forward(x, 1, 12, 12, []float32{50}, []int{2}))(t)...)
	var table *cpu.Tensor
	for _, p := range m.Params() {
		if p.Name == "class_embedding.weight" {
			table = p.Tensor.(*cpu.Tensor)
		}
	}
	d := m.timeEmbedDim
	for i := range table.Data[2*d : 3*d] {
		table.Data[2*d+i] += 0.5
	}
	table.Touch()
	after := must(m.Forward(x, 1, 12, 12, []float32{50}, []int{2}))(t)
	if maxDiff(before, after) == 0 {
		t.Fatal("Forward ignored the changed class embedding")
	}
	// The tape reads the live table too: both must see the same rows.
	if got := must(tp.Forward(x, 1, 12, 12, []float32{50}, []int{2}))(t); maxDiff(got, after) != 0 {
		t.Errorf("Forward and the tape see different class rows (max diff %g)", maxDiff(got, after))
	}
}

// TestGradientsFiniteDifferences checks the backward pass of a small model
// with scale_shift, classes, attention and strided/padded convolutions
// against central differences of the loss (accumulated in float64 from
// float32 forwards, with steps large enough that rounding stays small and
// Richardson extrapolation removing the truncation error).
func TestGradientsFiniteDifferences(t *testing.T) {
	cfg := tinyConfig()
	cfg.ResnetTimeScaleShift = "scale_shift"
	cfg.NumClassEmbeds = 3
	cfg.DownsamplePadding = 0
	cfg.BlockOutChannels = []int{4, 8}
	cfg.NormNumGroups = 2
	cfg.AttentionHeadDim = 4
	m, err := New(cfg, 11, cpu.New())
	if err != nil {
		t.Fatal(err)
	}
	n, h, w := 2, 8, 8
	x := randomInput(n * h * w)
	ts, cl := []float32{5, 600}, []int{0, 2}
	target := make([]float32, n*h*w)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range target {
		target[i] = float32(r.NormFloat64())
	}
	loss := func() float64 {
		out, err := m.Forward(x, n, h, w, ts, cl)
		if err != nil {
			t.Fatal(err)
		}
		var s float64
		for i := range out {
			d := float64(out[i]) - float64(target[i])
			s += d * d
		}
		return s / float64(len(out))
	}
	tp := must(m.NewTape())(t)
	tp.mem.poison = true
	out := must(tp.Forward(x, n, h, w, ts, cl))(t)
	dOut := make([]float32, len(out))
	for i := range out {
		dOut[i] = 2 * (out[i] - target[i]) / float32(len(out))
	}
	if err := tp.Backward(dOut); err != nil {
		t.Fatal(err)
	}
	grads := tp.Grads()
	const eps = 2e-2
	checked := 0
	for pi, p := range m.Params() {
		if strings.HasSuffix(p.Name, "to_k.bias") {
			continue
		}
		ct := p.Tensor.(*cpu.Tensor)
		// Probe the entry with the largest gradient and two others.
		big := 0
		for i, g := range grads[pi] {
			if math.Abs(float64(g)) > math.Abs(float64(grads[pi][big])) {
				big = i
			}
		}
		for _, i := range []int{big, len(ct.Data) / 2, len(ct.Data) - 1} {
			orig := ct.Data[i]
			central := func(e float32) float64 {
				ct.Data[i] = orig + e
				ct.Touch()
				up := loss()
				ct.Data[i] = orig - e
				ct.Touch()
				down := loss()
				ct.Data[i] = orig
				ct.Touch()
				return (up - down) / (2 * float64(e))
			}
			// Richardson extrapolation cancels the O(ε²) truncation error.
			num := (4*central(eps/2) - central(eps)) / 3
			ana := float64(grads[pi][i])
			if d := math.Abs(num - ana); d > 2e-3*math.Max(math.Abs(num), 1e-2) && d > 2e-5 {
				t.Errorf("%s[%d]: backward %.6g, finite difference %.6g", p.Name, i, ana, num)
			}
			checked++
		}
	}
	t.Logf("checked %d parameter entries", checked)
}
