package studio

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ddpmstudio/ddpmstudio/safetensors"
)

func TestWriteTrajectory(t *testing.T) {
	s := tinySession(t, 0)
	ctx := context.Background()
	// Without the model outputs it says what is missing.
	rn, _ := run(t, s, recipeFor(s, DDIM, 3, 1, 1), StartOptions{})
	if err := WriteTrajectory(ctx, &bytes.Buffer{}, rn); err == nil || !strings.Contains(err.Error(), "WithEps") {
		t.Errorf("without ε̂: %v", err)
	}
	// RePaint's re-noising events have no x̂₀ or ε̂: NaN there, numbers elsewhere.
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	mask := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range mask.Pix {
		if i%8 >= 4 {
			mask.Pix[i] = 255
		}
	}
	r := recipeFor(s, RePaint, 4, 2, 1)
	r.Inpaint = &Inpaint{Method: RePaint, JumpLength: 2, JumpNSample: 2, Image: "i.png", Mask: "m.png"}
	rn, _ = run(t, s, r, StartOptions{WithEps: true, Inputs: Inputs{Image: img, Mask: mask}})
	var b bytes.Buffer
	if err := WriteTrajectory(ctx, &b, rn); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Parse(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	x0, shape, err := f.Float32("x0_pred")
	if err != nil {
		t.Fatal(err)
	}
	ts, _, _ := f.Int64("timesteps")
	next, _, _ := f.Int64("next")
	per := shape[1] * shape[2] * shape[3] * shape[4]
	renoise := 0
	for i := range next {
		nan := math.IsNaN(float64(x0[i*per]))
		if up := next[i] > ts[i]; up != nan {
			t.Fatalf("event %d (%d → %d): x̂₀ NaN %v", i, ts[i], next[i], nan)
		} else if up {
			renoise++
		}
	}
	if renoise == 0 {
		t.Error("the RePaint plan had no re-noising event to check")
	}
}

// TestTrajectoryOpensInPython: scripts/trajectory.py, which reads the file
// with Python's standard library alone (as a notebook's safetensors does),
// sees the shapes, the plan's timesteps, the recipe and the states.
func TestTrajectoryOpensInPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("python3 is not installed; .ci/run installs it")
		}
		t.Skip("python3 is not installed")
	}
	s := tinySession(t, 0)
	rn, _ := run(t, s, recipeFor(s, DDIM, 4, 77, 2), StartOptions{WithEps: true})
	path := filepath.Join(t.TempDir(), "chain.safetensors")
	var b bytes.Buffer
	if err := WriteTrajectory(context.Background(), &b, rn); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, filepath.Join("..", "scripts", "trajectory.py"), path).Output()
	if err != nil {
		t.Fatalf("trajectory.py: %v", err)
	}
	var got struct {
		Seed      uint64           `json:"seed"`
		Sampler   string           `json:"sampler"`
		Shapes    map[string][]int `json:"shapes"`
		Timesteps []int            `json:"timesteps"`
		XFirst    float64          `json:"x_first"`
		XLastSum  float64          `json:"x_last_sum"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	sh := rn.Shape()
	if got.Seed != 77 || got.Sampler != DDIM || fmt.Sprint(got.Shapes["x"]) != fmt.Sprint([]int{5, 2, sh.C, sh.H, sh.W}) ||
		fmt.Sprint(got.Shapes["eps"]) != fmt.Sprint([]int{4, 2, sh.C, sh.H, sh.W}) {
		t.Errorf("Python sees %+v", got)
	}
	if len(got.Timesteps) != rn.PlanLen()+1 || got.Timesteps[rn.PlanLen()] != -1 {
		t.Fatalf("timesteps %v: want the plan's t and −1 for the final state", got.Timesteps)
	}
	for i, ts := range got.Timesteps[:rn.PlanLen()] {
		if ts != rn.EventAt(i).T {
			t.Errorf("timesteps[%d] = %d, the plan's t is %d", i, ts, rn.EventAt(i).T)
		}
	}
	x0 := frame(t, rn, 0).X
	var sum float64
	for _, v := range rn.Final() {
		sum += float64(v)
	}
	if got.XFirst != float64(x0[0]) || math.Abs(got.XLastSum-sum) > 1e-6*math.Max(1, math.Abs(sum)) {
		t.Errorf("Python reads x[0] = %v and Σ x_final = %v; the run has %v and %v", got.XFirst, got.XLastSum, x0[0], sum)
	}
}
