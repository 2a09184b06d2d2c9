package studio

import (
	"fmt"
	"image"
	"math"

	"github.com/ddpmstudio/ddpmstudio/diffusion"
	"github.com/ddpmstudio/ddpmstudio/imageio"
)

// Init starts a run from a real picture instead of pure noise (SDEdit):
// the picture is noised through q(x_t | x_0) to the first timestep of the
// plan at or below Strength·(T−1), and the reverse chain runs from there.
// Strength 1 forgets the picture: the run starts from the seed's x_T, as
// an unconditional run does.
type Init struct {
	Image     string  `json:"image"`
	ImageHash string  `json:"image_sha256"`
	Strength  float64 `json:"strength"`
}

func (in *Init) validate() error {
	if math.IsNaN(in.Strength) || in.Strength <= 0 || in.Strength > 1 {
		return fieldErr("init.strength", in.Strength, "must lie in (0, 1]")
	}
	if isAbs(in.Image) {
		return fieldErr("init.image", in.Image, "recipes store relative paths or base names, not absolute paths")
	}
	if in.ImageHash != "" && !isHexHash(in.ImageHash) {
		return fieldErr("init.image_sha256", in.ImageHash, "not a SHA-256 in hex")
	}
	return nil
}

// StartIndex is the plan event an image-to-image run starts from: the
// first whose timestep is at or below strength·(T−1).
func StartIndex(plan []diffusion.Event, T int, strength float64) int {
	tStart := int(math.Round(strength * float64(T-1)))
	for i, e := range plan {
		if e.T <= tStart {
			return i
		}
	}
	return len(plan) - 1
}

// pictureTensor fits a picture to the model and converts it to a sample.
func (s *Session) pictureTensor(img image.Image) ([]float32, bool, error) {
	info := s.info
	fitted, resized := imageio.Fit(img, info.Width, info.Height)
	x, err := imageio.FromImage(fitted, info.Channels, info.Height, info.Width)
	return x, resized, err
}

// Noised is the forward process for the Noise view: picture img fitted to
// the model, noised to timestep t of schedule sch with the seed's x_T noise
// (the draw an image-to-image run from t uses), as one C·H·W sample. t < 0
// is the picture itself; the read-out gives ᾱ_t, σ_t and the SNR.
func (s *Session) Noised(img image.Image, seed uint64, t int, sch Schedule) ([]float32, Readout, error) {
	x0, _, err := s.pictureTensor(img)
	if err != nil {
		return nil, Readout{}, err
	}
	curves, err := s.Curves(sch)
	if err != nil {
		return nil, Readout{}, err
	}
	if t >= curves.T {
		return nil, Readout{}, fmt.Errorf("t = %d outside the schedule's %d timesteps", t, curves.T)
	}
	if t < 0 {
		return x0, curves.At(-1), nil
	}
	sc, _, err := ApplySchedule(s.loaded.Scheduler, sch)
	if err != nil {
		return nil, Readout{}, err
	}
	sched, err := sc.Schedule()
	if err != nil {
		return nil, Readout{}, err
	}
	shape := s.Shape()
	eps := make([]float32, shape.Len())
	diffusion.StreamNoise{Seed: seed, K: 0, Shape: shape}.Draw(0, eps)
	xt := make([]float32, len(eps))
	if err := diffusion.QSample(sched, t, x0, eps, xt); err != nil {
		return nil, Readout{}, err
	}
	return xt, curves.At(t), nil
}

// prepareInit computes an image-to-image run's plan and starting state.
func (r *Run) prepareInit(in Inputs) error {
	rc := &r.recipe
	if in.Image == nil {
		return fmt.Errorf("an image-to-image recipe needs its picture")
	}
	hash := ImageHash(in.Image)
	if rc.Init.ImageHash != "" && rc.Init.ImageHash != hash && rc.Init.ImageHash != in.ImageFileHash {
		return fmt.Errorf("the image (sha256 %.12s…) is not the one the recipe used (%.12s…)", hash, rc.Init.ImageHash)
	}
	if rc.Init.ImageHash == "" {
		rc.Init.ImageHash = hash
	}
	x0, resized, err := r.s.pictureTensor(in.Image)
	if err != nil {
		return err
	}
	if resized {
		b := in.Image.Bounds()
		r.notice = fmt.Sprintf("image resized from %dx%d to the model's %dx%d", b.Dx(), b.Dy(), r.s.info.Width, r.s.info.Height)
	}
	full := r.plan
	start := StartIndex(full, r.sched.NumTrainTimesteps, rc.Init.Strength)
	if rc.Init.Strength == 1 {
		start = 0
	}
	// Every sample of the batch starts from the same picture, each with its
	// own noise: sample n draws as it would in any other run.
	one := r.s.Shape()
	x := make([]float32, r.shape.Len())
	diffusion.StreamNoise{Seed: rc.Seed, K: 0, FirstSample: rc.First, Shape: r.shape}.Draw(0, x)
	if rc.Init.Strength < 1 {
		sched, err := r.sched.Schedule()
		if err != nil {
			return err
		}
		per := one.Len()
		for n := 0; n < r.shape.N; n++ {
			if err := diffusion.QSample(sched, full[start].T, x0, x[n*per:(n+1)*per], x[n*per:(n+1)*per]); err != nil {
				return err
			}
		}
	}
	r.start, r.initX = start, x
	r.ownPlan = append([]diffusion.Event(nil), full[start:]...)
	return nil
}
